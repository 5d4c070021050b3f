"""SMTP through the egress guard: the one SMTP client of nodes and credential tests.

The TCP connection is always opened by ``Egress.connect`` (resolve, check, connect to the
checked address); ``smtplib`` then speaks SMTP on that socket. Port 465 or ``secure: true``
means TLS from the first byte; otherwise STARTTLS is used whenever the server offers it.
Certificates are always verified against the system store, plus the operator's extra CA file
(``SMTP_CA_FILE``, handed to runs as ``ctx.services["smtp_ca_file"]``). Errors become
``SmtpError`` with a sentence a user can act on; the password never appears in one.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from fluxolab.egress import Egress, EgressDenied, EgressError

IMPLICIT_TLS_PORT = 465
LOCAL_HOSTNAME = "fluxolab.localdomain"  # EHLO name: no reverse DNS lookup per connection


class SmtpError(Exception):
    """An SMTP exchange failed; ``message`` is complete and user-facing, ``kind`` classifies it."""

    def __init__(self, message: str, kind: str = "SmtpError") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to log in: the ``smtp`` credential's secret ``{host, port, secure, ...}``."""

    host: str
    port: int
    secure: bool = False
    user: str = ""
    password: str = field(default="", repr=False)

    @property
    def implicit_tls(self) -> bool:
        """Return whether TLS starts with the connection (``secure`` or port 465)."""
        return self.secure or self.port == IMPLICIT_TLS_PORT

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> SmtpServer:
        """Read an ``smtp`` credential secret; raises SmtpError naming the bad field."""
        host = secret.get("host")
        if not isinstance(host, str) or not host.strip():
            raise SmtpError("SMTP credential has no host", "CredentialError")
        port = secret.get("port", 587)
        if isinstance(port, str) and port.strip().isdigit():
            port = int(port)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise SmtpError(
                f"SMTP credential port {port!r} is not a port number", "CredentialError"
            )
        user, password = secret.get("user") or "", secret.get("password") or ""
        if not isinstance(user, str) or not isinstance(password, str):
            raise SmtpError("SMTP credential user and password must be text", "CredentialError")
        secure = secret.get("secure") in (True, "true", "1", 1)
        return cls(host.strip(), port, secure, user, password)


@lru_cache(maxsize=8)
def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Return a verifying TLS client context: system CAs plus ``ca_file`` when given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class _GuardedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` whose socket comes from the egress guard."""

    def __init__(self, egress: Egress, timeout: float) -> None:
        self.egress = egress
        super().__init__(local_hostname=LOCAL_HOSTNAME, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.egress.connect(host, port, timeout)


class _GuardedSMTPSSL(smtplib.SMTP_SSL):
    """``smtplib.SMTP_SSL`` on a guarded socket, wrapped with a verifying context."""

    def __init__(self, egress: Egress, timeout: float, context: ssl.SSLContext) -> None:
        self.egress = egress
        super().__init__(local_hostname=LOCAL_HOSTNAME, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = self.egress.connect(host, port, timeout)
        try:
            return self.context.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise


def _reply(code: int, text: bytes | str) -> str:
    """Return an SMTP reply as ``"535 5.7.8 Bad credentials"``."""
    shown = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {shown}".strip()


def readable(error: BaseException, server: SmtpServer) -> SmtpError:
    """Turn an smtplib, TLS, socket or egress error into an SmtpError with a plain sentence."""
    where = f"{server.host}:{server.port}"
    if isinstance(error, SmtpError):
        return error
    if isinstance(error, EgressDenied):
        return SmtpError(error.message, "EgressDenied")
    if isinstance(error, EgressError):
        return SmtpError(error.message, "ConnectionError")
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return SmtpError(
            f"SMTP server refused the login: {_reply(error.smtp_code, error.smtp_error)}",
            "AuthenticationError",
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        reply = _reply(error.smtp_code, error.smtp_error)
        return SmtpError(f"SMTP server refused the sender {error.sender}: {reply}")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{address} ({_reply(*reply)})" for address, reply in error.recipients.items()
        )
        return SmtpError(f"SMTP server refused every recipient: {refused}")
    if isinstance(error, smtplib.SMTPDataError):
        reply = _reply(error.smtp_code, error.smtp_error)
        return SmtpError(f"SMTP server refused the message: {reply}")
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return SmtpError(f"SMTP server {where} does not support this: {error}")
    if isinstance(error, smtplib.SMTPResponseException):
        return SmtpError(f"SMTP server answered {_reply(error.smtp_code, error.smtp_error)}")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return SmtpError(f"SMTP server {where} closed the connection", "ConnectionError")
    if isinstance(error, ssl.SSLCertVerificationError):
        return SmtpError(
            f"TLS certificate of SMTP server {where} was not accepted: "
            f"{error.verify_message or error.reason}",
            "TlsError",
        )
    if isinstance(error, ssl.SSLError):
        return SmtpError(f"TLS with SMTP server {where} failed: {error.reason}", "TlsError")
    if isinstance(error, TimeoutError):
        return SmtpError(f"SMTP server {where} did not answer in time", "Timeout")
    if isinstance(error, OSError | smtplib.SMTPException):
        return SmtpError(f"SMTP exchange with {where} failed: {error}", "ConnectionError")
    raise error


class SmtpSession:
    """One logged-in SMTP connection; send several messages, then ``close``."""

    def __init__(self, client: smtplib.SMTP, server: SmtpServer, tls: bool) -> None:
        self.client = client
        self.server = server
        self.tls = tls

    def send(
        self, message: EmailMessage, sender: str, recipients: Sequence[str], timeout: float
    ) -> dict[str, str]:
        """Send ``message`` to ``recipients``; return the refused ones with the server's reply.

        Raises SmtpError when the sender, the message or every recipient is refused.
        """
        sock = self.client.sock
        if sock is not None:
            sock.settimeout(timeout)
        try:
            refused = self.client.send_message(message, sender, list(recipients))
        except (OSError, smtplib.SMTPException) as exc:
            raise readable(exc, self.server) from None
        return {address: _reply(*reply) for address, reply in refused.items()}

    def close(self) -> None:
        """Say QUIT, then close the connection; never raises."""
        try:
            self.client.quit()
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            self.client.close()

    def abort(self) -> None:
        """Close the connection at once (after a failure: no QUIT that could wait again)."""
        self.client.close()


def _client(egress: Egress, server: SmtpServer, timeout: float, context: ssl.SSLContext) -> Any:
    """Return an unconnected client of the right kind for ``server``."""
    if server.implicit_tls:
        return _GuardedSMTPSSL(egress, timeout, context)
    return _GuardedSMTP(egress, timeout)


def open_session(
    egress: Egress,
    server: SmtpServer,
    *,
    timeout: float,
    ca_file: str | None = None,
    require_tls: bool = False,
) -> SmtpSession:
    """Connect through ``egress``, secure the connection and log in; raises SmtpError.

    Without implicit TLS the connection is upgraded with STARTTLS when the server offers it;
    ``require_tls`` refuses to go on (and to send a password) when it does not.
    """
    context = tls_context(ca_file)
    client = _client(egress, server, timeout, context)
    try:
        client._host = server.host  # the name STARTTLS checks the certificate against
        code, reply = client.connect(server.host, server.port)
        if code != 220:
            raise SmtpError(f"SMTP server did not greet: {_reply(code, reply)}", "ConnectionError")
        client.ehlo_or_helo_if_needed()
        tls = server.implicit_tls
        if not tls and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
            tls = True
        if not tls and require_tls:
            raise SmtpError(
                f"SMTP server {server.host}:{server.port} does not offer STARTTLS; "
                "refusing to send without TLS",
                "TlsError",
            )
        if server.user and not client.has_extn("auth"):
            raise SmtpError(
                f"SMTP server {server.host}:{server.port} offers no login (AUTH) on this "
                "connection",
                "AuthenticationError",
            )
        if server.user:
            client.login(server.user, server.password)
    except (OSError, smtplib.SMTPException, SmtpError, EgressError) as exc:
        client.close()
        raise readable(exc, server) from None
    return SmtpSession(client, server, tls)


def check_login(
    egress: Egress, server: SmtpServer, *, timeout: float, ca_file: str | None = None
) -> str:
    """Connect and log in once (a credential test); return a sentence saying what worked."""
    session = open_session(egress, server, timeout=timeout, ca_file=ca_file)
    session.close()
    security = "TLS" if session.tls else "no TLS"
    login = f"logged in as {server.user}" if server.user else "no login"
    return f"Connected to {server.host}:{server.port} ({security}, {login})"
