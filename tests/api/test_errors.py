"""Every failure answers with the one JSON envelope: routing, limits, bad JSON, crashes, outages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fluxolab.auth import service as auth_service
from fluxolab.common.uri import MAX_URI_BYTES
from tests.conftest import make_test_config
from tests.factories import PASSWORD, make_account
from tests.helpers import CLOSED_DATABASE, assert_envelope, fresh_app


@pytest.fixture()
def test_config(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, Any]:
    """The session app's configuration, for building a variant of it."""
    return make_test_config(database_url, redis_url, tmp_path)


def _login_body() -> dict[str, str]:
    return {"email": "nobody@example.com", "password": PASSWORD}


def test_unknown_api_path_is_404_envelope(client: FlaskClient) -> None:
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.get_json() == {
        "status": "error",
        "message": "Recurso nao encontrado.",
        "code": "not_found",
        "errors": {},
    }


def test_wrong_method_is_405_envelope(client: FlaskClient) -> None:
    assert_envelope(client.delete("/api/auth/login"), 405, "method_not_allowed")


def test_wrong_method_405_names_the_allowed_methods(client: FlaskClient) -> None:
    response = client.delete("/api/auth/login")
    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", ""), dict(response.headers)


def test_body_over_max_content_length_is_413_envelope(app: Flask, client: FlaskClient) -> None:
    size = int(app.config["MAX_CONTENT_LENGTH"]) + 1
    payload = b'{"email": "' + b"a" * size + b'", "password": "x"}'
    response = client.post("/api/auth/login", data=payload, content_type="application/json")
    assert_envelope(response, 413, "payload_too_large")


def test_malformed_json_is_400_envelope(client: FlaskClient) -> None:
    response = client.post(
        "/api/auth/login", data='{"email": "a@example.com", ', content_type="application/json"
    )
    assert_envelope(response, 400)


def test_malformed_json_message_says_the_body_is_not_json(client: FlaskClient) -> None:
    response = client.post("/api/auth/login", data="{", content_type="application/json")
    body = assert_envelope(response, 400)
    assert body["message"] == "O corpo da requisicao nao e um JSON valido."


def _nested(kind: str, depth: int) -> str:
    if kind == "arrays":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("kind", ["arrays", "objects"])
@pytest.mark.parametrize("depth", [100, 100_000], ids=["depth-100", "depth-100000"])
def test_deeply_nested_json_is_400_json_too_deep(
    client: FlaskClient, kind: str, depth: int
) -> None:
    payload = '{"email": ' + _nested(kind, depth) + ', "password": "x"}'
    response = client.post("/api/auth/login", data=payload, content_type="application/json")
    assert_envelope(response, 400, "json_too_deep")


def test_nesting_within_the_limit_reaches_validation(client: FlaskClient) -> None:
    payload = '{"email": ' + _nested("arrays", 60) + ', "password": "secret-pass"}'
    response = client.post("/api/auth/login", data=payload, content_type="application/json")
    body = assert_envelope(response, 422, "validation_error")
    assert "email" in body["errors"]


def test_brackets_inside_strings_do_not_count_as_nesting(client: FlaskClient) -> None:
    payload = '{"email": "' + "[{" * 500 + '", "password": "secret-pass"}'
    response = client.post("/api/auth/login", data=payload, content_type="application/json")
    body = assert_envelope(response, 422, "validation_error")
    assert "email" in body["errors"]


def test_non_json_content_type_on_json_endpoint_is_415_envelope(client: FlaskClient) -> None:
    response = client.post(
        "/api/auth/login",
        data='{"email": "a@example.com", "password": "secret-pass"}',
        content_type="text/plain",
    )
    assert_envelope(response, 415, "unsupported_media_type")


def test_unexpected_exception_is_500_envelope_without_details(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret-detail")

    monkeypatch.setattr(auth_service, "login", explode)
    response = client.post("/api/auth/login", json=_login_body())
    assert response.status_code == 500
    assert response.get_json() == {
        "status": "error",
        "message": "Erro interno do servidor.",
        "code": "internal_error",
        "errors": {},
    }
    text = response.get_data(as_text=True)
    assert "secret-detail" not in text
    assert "Traceback" not in text


ERROR_REQUESTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("unknown-path", "GET", "/api/nope", {}),
    ("wrong-method", "DELETE", "/api/auth/login", {}),
    ("no-token", "GET", "/api/auth/me", {}),
    ("garbage-token", "GET", "/api/auth/me", {"headers": {"Authorization": "Bearer x.y.z"}}),
    ("bad-credentials", "POST", "/api/auth/login", {"json": _login_body()}),
    ("unknown-field", "POST", "/api/auth/login", {"json": {**_login_body(), "role": "owner"}}),
    ("missing-fields", "POST", "/api/auth/login", {"json": {}}),
    ("body-not-object", "POST", "/api/auth/login", {"json": [1, 2]}),
    (
        "malformed-json",
        "POST",
        "/api/auth/login",
        {"data": "{", "content_type": "application/json"},
    ),
    (
        "too-deep",
        "POST",
        "/api/auth/login",
        {"data": "[" * 200 + "]" * 200, "content_type": "application/json"},
    ),
    ("bad-identifier", "POST", "/api/auth/password/forgot", {"json": {"identifier": "abc"}}),
    ("unknown-provider", "GET", "/api/auth/oauth/myspace", {}),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [case[1:] for case in ERROR_REQUESTS],
    ids=[case[0] for case in ERROR_REQUESTS],
)
def test_every_error_is_exactly_the_envelope_with_a_string_message(
    client: FlaskClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = client.open(path, method=method, **kwargs)
    assert 400 <= response.status_code < 600
    assert_envelope(response, response.status_code)


def test_error_envelope_for_a_duplicate_is_the_envelope(client: FlaskClient) -> None:
    account = make_account()
    response = client.post(
        "/api/auth/register",
        json={"email": account.user.email, "password": PASSWORD, "displayName": "Ana"},
    )
    assert_envelope(response, 409, "email_taken")


def test_database_down_is_503_with_retry_after(test_config: dict[str, Any]) -> None:
    with fresh_app({**test_config, "SQLALCHEMY_DATABASE_URI": CLOSED_DATABASE}) as down:
        response = down.test_client().post("/api/auth/login", json=_login_body())
    assert_envelope(response, 503, "service_unavailable")
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("path", ["/api/workflows", "/api/auth/login", "/api/health"])
def test_options_answers_204_with_allow_and_no_html(client: FlaskClient, path: str) -> None:
    response = client.options(path)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert "text/html" not in response.headers.get("Content-Type", "")
    assert "OPTIONS" in response.headers["Allow"]


def test_options_on_an_unknown_path_is_the_404_envelope(client: FlaskClient) -> None:
    assert_envelope(client.options("/api/nope"), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/api/workflows?search=" + "a" * (MAX_URI_BYTES + 1),
        "/api/" + "a" * (MAX_URI_BYTES + 1),
        "/api/workflows/00000000-0000-4000-8000-000000000000/versions/" + "9" * MAX_URI_BYTES,
    ],
    ids=["long-query", "long-unknown-path", "long-path-integer"],
)
def test_over_long_uri_is_414_envelope(client: FlaskClient, path: str) -> None:
    account = make_account()
    assert_envelope(client.get(path, headers=account.headers), 414, "uri_too_long")


def test_uri_within_the_limit_reaches_the_view(client: FlaskClient) -> None:
    account = make_account()
    response = client.get("/api/workflows?search=" + "a" * 90, headers=account.headers)
    assert response.status_code == 200, response.get_json()


def test_lone_surrogate_login_email_is_400_with_redis_rate_limits(
    app: Flask, test_config: dict[str, Any], redis_url: str
) -> None:
    limits = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": redis_url}
    with fresh_app({**test_config, **limits}, share_db_with=app) as limited:
        response = limited.test_client().post(
            "/api/auth/login",
            data='{"email": "\\ud800@example.com", "password": "secret-pass"}',
            content_type="application/json",
        )
    assert_envelope(response, 400, "json_lone_surrogate")


@pytest.mark.parametrize(("extra", "status"), [(0, 200), (1, 414)], ids=["at-limit", "one-over"])
def test_uri_limit_counts_the_whole_request_target(
    client: FlaskClient, extra: int, status: int
) -> None:
    prefix = "/api/health?x="
    response = client.get(prefix + "a" * (MAX_URI_BYTES - len(prefix) + extra))
    assert response.status_code == status
