"""Local fake servers for the nodes that reach out: real sockets on 127.0.0.1, no patching.

``SmtpFake`` is an aiosmtpd server checking AUTH PLAIN/LOGIN (optionally over implicit TLS or
STARTTLS with a trustme CA); ``ChatFake`` is a threading HTTP server speaking the
OpenAI-compatible ``/chat/completions`` API from a script of answers. The runs reach them
through an egress guard whose allow-list opens 127.0.0.1, as operators open internal hosts.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from fluxolab.egress import Egress, EgressPolicy
from fluxolab.engine.credentials import Credential

SMTP_USER = "mailer@example.test"
SMTP_PASSWORD = "s3cret-smtp-pass"
API_KEY = "sk-test-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def loopback_egress() -> Egress:
    """Return a guard that opens only 127.0.0.1 beyond the public internet."""
    return Egress(EgressPolicy(allow=("127.0.0.1",)))


class Credentials:
    """A credential resolver over a dict, as the worker hands one to a run."""

    def __init__(self, *credentials: Credential) -> None:
        self.by_id = {credential.id: credential for credential in credentials}

    def get(self, credential_id: str) -> Credential | None:
        return self.by_id.get(credential_id)


def smtp_credential(
    port: int, *, secure: bool = False, password: str = SMTP_PASSWORD
) -> Credential:
    secret = {
        "host": "127.0.0.1",
        "port": port,
        "secure": secure,
        "user": SMTP_USER,
        "password": password,
    }
    return Credential("smtp-1", "Mailer", "smtp", secret, (SMTP_USER, password))


@dataclass
class Delivered:
    """One message the fake server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: Message
    logins: list[str]
    tls: bool


@dataclass
class SmtpFake:
    """An aiosmtpd server; ``delivered`` fills as messages arrive."""

    port: int
    delivered: list[Delivered] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)  # "PLAIN:user" per successful AUTH
    refuse: tuple[str, ...] = ("nobody@example.test",)

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        good = auth_data.login.decode() == SMTP_USER and auth_data.password.decode() == (
            SMTP_PASSWORD
        )
        if good:
            self.logins.append(f"{mechanism}:{auth_data.login.decode()}")
        return AuthResult(success=good, handled=False)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.delivered.append(
            Delivered(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                message_from_bytes(content),
                list(self.logins),
                session.ssl is not None or _on_tls(server),
            )
        )
        return "250 Message accepted"


def _on_tls(server: SMTP) -> bool:
    """Return whether the connection is TLS from the start (aiosmtpd sets ``session.ssl``
    only after STARTTLS)."""
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


@dataclass(frozen=True)
class TlsFiles:
    """A throw-away CA (its PEM file is what runs trust) and a server context for 127.0.0.1."""

    ca_file: str
    server_context: ssl.SSLContext


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    path = Path(tmp_path_factory.mktemp("ca")) / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return TlsFiles(str(path), context)


def start_smtp(
    mode: str = "plain", tls: TlsFiles | None = None, **options: Any
) -> tuple[SmtpFake, Controller]:
    """Start a fake SMTP server: ``plain``, ``starttls`` (offered and required) or ``tls``."""
    fake = SmtpFake(free_port())
    settings: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": fake.port,
        "server_hostname": "fake-smtp.test",
        "authenticator": fake.authenticate,
        "auth_require_tls": mode == "starttls",  # aiosmtpd does not see implicit TLS
        **options,
    }
    if mode == "starttls" and tls is not None:
        settings.update(tls_context=tls.server_context, require_starttls=True)
    if mode == "tls" and tls is not None:
        settings.update(ssl_context=tls.server_context)
    controller = Controller(fake, **settings)
    controller.start()
    return fake, controller


@pytest.fixture
def smtp_server() -> Iterator[SmtpFake]:
    fake, controller = start_smtp()
    yield fake
    controller.stop()


@dataclass
class ChatFake:
    """Scripted OpenAI-compatible server: each request pops the next ``(status, body, headers)``."""

    port: int
    answers: list[tuple[int, Any, Mapping[str, str]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # {path, headers, json}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def answer(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.answers.append((status, body, headers or {}))

    def reply(self, text: str, model: str = "gpt-test", finish: str = "stop") -> None:
        self.answer(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": finish,
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
            },
        )


def _chat_handler(fake: ChatFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            fake.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(raw or b"null"),
                }
            )
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                status, body, headers = (
                    401,
                    {"error": {"message": "Incorrect API key provided"}},
                    {},
                )
            elif fake.answers:
                status, body, headers = fake.answers.pop(0)
            else:
                status, body, headers = 500, {"error": {"message": "no answer scripted"}}, {}
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def chat_server() -> Iterator[ChatFake]:
    fake = ChatFake(0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _chat_handler(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def chat_credential(
    base_url: str, *, api_key: str = API_KEY, model: str | None = None
) -> Credential:
    secret: dict[str, Any] = {"baseUrl": base_url, "apiKey": api_key}
    if model:
        secret["model"] = model
    return Credential("ai-1", "Assistant", "openai-compatible", secret, (api_key,))
