"""``POST /api/credentials/<id>/test`` against local servers on loopback (real sockets).

An HTTP server checks the auth each http-* type applies, a fake OpenAI-compatible server
answers the models list, a token endpoint plays OAuth2, and a small SMTP server checks the
login. Loopback is opened through the egress allow-list, as an operator would.
"""

from __future__ import annotations

import base64
import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.test_credentials import SMTP_SECRET, create_credential
from tests.conftest import make_test_config
from tests.factories import Account, make_account
from tests.helpers import assert_envelope, fresh_app

TOKEN = "bearer-token-123456"
API_KEY = "sk-fake-key-123456"
CLIENT = ("client-1", "client-secret-123456")
SMTP_LOGIN = ("ana@example.com", "smtp-password-123456")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class _Handler(BaseHTTPRequestHandler):
    """Checks the auth per path; /v1 is OpenAI-like, /token an OAuth2 token endpoint."""

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        auth = self.headers.get("Authorization")
        allowed = {
            "/header": self.headers.get("X-Api-Key") == TOKEN,
            "/bearer": auth == f"Bearer {TOKEN}",
            "/basic": auth == _basic("ana", TOKEN),
            "/query": query.get("api_key") == [TOKEN],
            "/v1/models": auth == f"Bearer {API_KEY}",
        }
        if allowed.get(url.path):
            body = {"data": [{"id": "m1"}, {"id": "m2"}]} if url.path == "/v1/models" else {}
            self._answer(200, body)
        elif url.path == "/v1/models":
            self._answer(401, {"error": {"message": "Incorrect API key provided"}})
        else:
            self._answer(401, {"message": "unauthorized"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        header_ok = self.headers.get("Authorization") == _basic(*CLIENT)
        body_ok = form.get("client_id") == [CLIENT[0]] and form.get("client_secret") == [CLIENT[1]]
        if form.get("grant_type") == ["client_credentials"] and (header_ok or body_ok):
            self._answer(200, {"access_token": "at-1", "expires_in": 3600})
        else:
            self._answer(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for a login: EHLO (AUTH PLAIN), AUTH PLAIN, QUIT."""

    def _send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._send("220 fake.local ESMTP")
        expected = base64.b64encode(f"\0{SMTP_LOGIN[0]}\0{SMTP_LOGIN[1]}".encode()).decode()
        for raw in self.rfile:
            line = raw.decode().strip()
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._send("250-fake.local")
                self._send("250 AUTH PLAIN")
            elif verb == "AUTH":
                ok = line.split(" ")[-1] == expected
                self._send("235 2.7.0 Accepted" if ok else "535 5.7.8 Authentication failed")
            elif verb == "QUIT":
                self._send("221 bye")
                return
            else:
                self._send("502 not implemented")


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _loopback_allowed(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "EGRESS_ALLOW", "127.0.0.1")


@pytest.fixture()
def owner() -> Account:
    return make_account()


def check(client: FlaskClient, account: Account, kind: str, secret: dict[str, Any]) -> Any:
    credential = create_credential(client, account, name=f"c-{kind}", type=kind, secret=secret)
    response = client.post(f"/api/credentials/{credential['id']}/test", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"status", "result"} and set(body["result"]) == {"success", "message"}
    assert all(s not in json.dumps(body) for s in (TOKEN, API_KEY, CLIENT[1], SMTP_LOGIN[1]))
    return body["result"]


HTTP_CASES = {
    "http-header": ("/header", {"name": "X-Api-Key", "value": TOKEN}),
    "http-bearer": ("/bearer", {"token": TOKEN}),
    "http-basic": ("/basic", {"user": "ana", "password": TOKEN}),
    "api-key-query": ("/query", {"name": "api_key", "value": TOKEN}),
}


@pytest.mark.parametrize("kind", list(HTTP_CASES))
def test_http_types_request_test_url_with_their_auth(
    client: FlaskClient, owner: Account, http_base: str, kind: str
) -> None:
    path, secret = HTTP_CASES[kind]
    result = check(client, owner, kind, {**secret, "testUrl": http_base + path})
    assert result == {"success": True, "message": f"{http_base}{path} answered 200"}


@pytest.mark.parametrize("kind", list(HTTP_CASES))
def test_http_types_with_a_wrong_secret_fail_with_the_status(
    client: FlaskClient, owner: Account, http_base: str, kind: str
) -> None:
    path, secret = HTTP_CASES[kind]
    wrong = {k: ("wrong-" + v if v == TOKEN else v) for k, v in secret.items()}
    result = check(client, owner, kind, {**wrong, "testUrl": http_base + path})
    assert result["success"] is False
    assert "answered 401" in result["message"]


def test_http_type_without_test_url_says_so(client: FlaskClient, owner: Account) -> None:
    result = check(client, owner, "http-bearer", {"token": TOKEN})
    assert result == {"success": False, "message": "Set testUrl on the credential to test it."}


def test_openai_compatible_lists_the_models(
    client: FlaskClient, owner: Account, http_base: str
) -> None:
    secret = {"baseUrl": f"{http_base}/v1/", "apiKey": API_KEY}
    result = check(client, owner, "openai-compatible", secret)
    assert result == {"success": True, "message": "Connected: 2 model(s) available"}


def test_openai_compatible_with_a_bad_key_gives_the_upstream_message(
    client: FlaskClient, owner: Account, http_base: str
) -> None:
    secret = {"baseUrl": f"{http_base}/v1", "apiKey": "sk-wrong-123456"}
    result = check(client, owner, "openai-compatible", secret)
    assert result == {
        "success": False,
        "message": "AI provider answered 401: Incorrect API key provided",
    }


@pytest.mark.parametrize("style", ["header", "body"])
def test_oauth2_fetches_a_token(
    client: FlaskClient, owner: Account, http_base: str, style: str
) -> None:
    secret = {
        "tokenUrl": f"{http_base}/token",
        "clientId": CLIENT[0],
        "clientSecret": CLIENT[1],
        "authStyle": style,
        "scope": "read",
    }
    result = check(client, owner, "oauth2-client-credentials", secret)
    assert result == {"success": True, "message": "Access token obtained"}


def test_oauth2_refused_gives_the_error_description(
    client: FlaskClient, owner: Account, http_base: str
) -> None:
    secret = {"tokenUrl": f"{http_base}/token", "clientId": "x", "clientSecret": "wrong-secret"}
    result = check(client, owner, "oauth2-client-credentials", secret)
    assert result == {
        "success": False,
        "message": "OAuth2 token request failed with status 401: Client authentication failed",
    }


def test_smtp_logs_in(client: FlaskClient, owner: Account, smtp_port: int) -> None:
    secret = {**SMTP_SECRET, "host": "127.0.0.1", "port": smtp_port}
    secret.update(user=SMTP_LOGIN[0], password=SMTP_LOGIN[1])
    result = check(client, owner, "smtp", secret)
    assert result == {
        "success": True,
        "message": f"Connected to 127.0.0.1:{smtp_port} (no TLS, logged in as {SMTP_LOGIN[0]})",
    }


def test_smtp_refused_login_gives_the_server_reply(
    client: FlaskClient, owner: Account, smtp_port: int
) -> None:
    secret = {**SMTP_SECRET, "host": "127.0.0.1", "port": smtp_port}
    secret.update(user=SMTP_LOGIN[0], password="wrong-password-1")
    result = check(client, owner, "smtp", secret)
    assert result == {
        "success": False,
        "message": "SMTP server refused the login: 535 5.7.8 Authentication failed",
    }


def test_smtp_tls_against_a_plain_server_fails_readably(
    client: FlaskClient, owner: Account, smtp_port: int
) -> None:
    secret = {**SMTP_SECRET, "host": "127.0.0.1", "port": smtp_port, "secure": True}
    result = check(client, owner, "smtp", secret)
    assert result["success"] is False
    assert result["message"].startswith(f"TLS with SMTP server 127.0.0.1:{smtp_port} failed")


@pytest.mark.parametrize(
    ("kind", "secret"),
    [
        ("smtp", {**SMTP_SECRET, "host": "127.0.0.1", "port": 9}),
        ("http-bearer", {"token": TOKEN, "testUrl": "http://127.0.0.1:9/"}),
        ("api-key-query", {"name": "k", "value": TOKEN, "testUrl": "http://127.0.0.1:9/x"}),
        ("openai-compatible", {"baseUrl": "http://127.0.0.1:9", "apiKey": API_KEY}),
    ],
    ids=["smtp", "http", "query", "ai"],
)
def test_unreachable_target_is_success_false_never_a_500(
    client: FlaskClient, owner: Account, kind: str, secret: dict[str, Any]
) -> None:
    result = check(client, owner, kind, secret)
    assert result["success"] is False
    assert result["message"]


def test_the_test_route_is_rate_limited_per_user(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    config = {
        **make_test_config(database_url, redis_url, tmp_path),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "CREDENTIAL_TEST_RATE_LIMIT": "2 per minute",
    }
    with fresh_app(config, share_db_with=app) as limited_app, limited_app.app_context():
        client = limited_app.test_client()
        first, second = make_account(), make_account()
        secret = {**SMTP_SECRET, "host": "127.0.0.1", "port": 9}
        mine = create_credential(client, first, secret=secret)["id"]
        theirs = create_credential(client, second, secret=secret)["id"]
        statuses = [
            client.post(f"/api/credentials/{mine}/test", headers=first.headers).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        limited = client.post(f"/api/credentials/{mine}/test", headers=first.headers)
        assert_envelope(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) > 0
        other = client.post(f"/api/credentials/{theirs}/test", headers=second.headers)
        assert other.status_code == 200
