"""Send Email (``email-send``, alias ``smtp.send``): one message per input item, over SMTP.

The config is the contract's ``{to, subject, body, from}`` plus an ``smtp`` credential, cc,
bcc, reply-to, an HTML part and a per-message timeout. The original engine's ``smtp.send``
params ``{credentialId, to, subject, from?, text?, html?}`` run unchanged (``text`` is the
body). ``body`` is plain text unless ``bodyFormat`` is ``html``; a separate ``html`` makes the
message ``multipart/alternative`` with both. Addresses are checked and line breaks in header
fields refused (no header injection). The sender defaults to the credential's user when that
is an address. Each item's output is ``{messageId, accepted[], rejected[]}``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any

from fluxolab.engine import deadline
from fluxolab.engine.call import NodeCall
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodes.rendered import checked_params, text_param
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.schemas import choice, obj, prop
from fluxolab.engine.smtp import SmtpError, SmtpServer, SmtpSession, open_session

CREDENTIAL_TYPES = ("smtp",)
DEFAULT_TIMEOUT_MS = 30_000
MAX_TIMEOUT_MS = 300_000
MAX_RECIPIENTS = 100
HEADER_FIELDS = ("to", "cc", "bcc", "from", "replyTo", "subject")
_ADDRESS = re.compile(r"[^@\s\"(),:;<>\[\]\\]+@[^@\s\"(),:;<>\[\]\\]+")

Address = tuple[str, str]  # (display name, address)


def _prepare(params: dict[str, Any]) -> dict[str, Any]:
    """Rewrite the original engine's ``text`` to ``body`` (``html`` stays the HTML part)."""
    if "body" not in params and ("text" in params or "html" in params):
        params["body"] = params.pop("text", None) or ""
    return params


def _no_line_breaks(params: Mapping[str, Any]) -> None:
    """Refuse CR or LF in any header field; raises NodeError naming the field."""
    for name in HEADER_FIELDS:
        value = params.get(name)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and ("\r" in text or "\n" in text) for text in values):
            raise NodeError(f"Field '{name}': line breaks are not allowed in e-mail headers")


def _split(text: str) -> list[str]:
    """Split an address list at commas and semicolons outside quotes and angle brackets."""
    parts: list[str] = []
    current: list[str] = []
    quoted = angled = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char in "<>" and not quoted:
            angled = char == "<"
        elif char in ",;" and not quoted and not angled:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _address(name: str, text: str) -> Address:
    """Parse ``a@b.c`` or ``Name <a@b.c>``; raises NodeError for anything else."""
    display, address = parseaddr(text)
    written = text == address or text.endswith(f"<{address}>")
    if not written or not _ADDRESS.fullmatch(address):
        raise NodeError(f"Field '{name}': '{text}' is not an e-mail address")
    return display, address


def _addresses(name: str, value: Any) -> list[Address]:
    """Parse a comma/semicolon separated text or a list of texts; raises on a bad address."""
    if value in (None, ""):
        return []
    texts = value if isinstance(value, list) else [value]
    if not all(isinstance(text, str) for text in texts):
        raise NodeError(f"Field '{name}': addresses must be text")
    return [_address(name, part) for text in texts for part in _split(text)]


def _sender(params: Mapping[str, Any], server: SmtpServer) -> Address:
    """Return the one sender address: ``from``, else the credential's user when an address."""
    found = _addresses("from", params.get("from"))
    if not found and _ADDRESS.fullmatch(server.user):
        found = [("", server.user)]
    if len(found) != 1:
        raise NodeError(
            "Field 'from': give one sender address (the credential's user is not one)"
            if not found
            else "Field 'from': give only one sender address"
        )
    return found[0]


def _header(addresses: list[Address]) -> str:
    """Return addresses as one header value (display names encoded when needed)."""
    return ", ".join(formataddr(pair) for pair in addresses)


def _set_body(message: EmailMessage, params: Mapping[str, Any]) -> None:
    """Set the text, HTML or text-and-HTML (multipart/alternative) body."""
    body, html = text_param(params, "body"), text_param(params, "html")
    if params.get("bodyFormat") == "html":
        message.set_content(body, subtype="html")
    elif html and not body:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
        if html:
            message.add_alternative(html, subtype="html")


def build_message(
    call: NodeCall, params: Mapping[str, Any], server: SmtpServer
) -> tuple[EmailMessage, str, list[str]]:
    """Return the message, the envelope sender and the envelope recipients of one item."""
    _no_line_breaks(params)
    sender = _sender(params, server)
    to, cc = _addresses("to", params.get("to")), _addresses("cc", params.get("cc"))
    bcc = _addresses("bcc", params.get("bcc"))
    recipients = list(dict.fromkeys(address for _, address in (*to, *cc, *bcc)))
    if not to:
        raise NodeError("Field 'to': give at least one recipient")
    if len(recipients) > MAX_RECIPIENTS:
        raise NodeError(f"Message has {len(recipients)} recipients; the limit is {MAX_RECIPIENTS}")
    message = EmailMessage()
    message["From"] = _header([sender])
    message["To"] = _header(to)
    if cc:
        message["Cc"] = _header(cc)
    reply_to = _addresses("replyTo", params.get("replyTo"))
    if reply_to:
        message["Reply-To"] = _header(reply_to)
    message["Subject"] = text_param(params, "subject")
    message["Date"] = format_datetime(call.now)
    message["Message-ID"] = make_msgid(domain=sender[1].rpartition("@")[2])
    _set_body(message, params)
    return message, sender[1], recipients


class _Sessions:
    """The open SMTP session of a call, reused while items use the same credential."""

    def __init__(self, call: NodeCall) -> None:
        self.call = call
        self.key: tuple[str, bool] | None = None
        self.session: SmtpSession | None = None

    def get(
        self, credential_id: str, server: SmtpServer, params: Mapping[str, Any], timeout: float
    ) -> SmtpSession:
        """Return a session for this credential, opening (and logging in) when needed."""
        key = (credential_id, params.get("requireTls") is True)
        if self.session is not None and self.key == key:
            return self.session
        self.close()
        ca_file = self.call.ctx.services.get("smtp_ca_file")
        self.session = open_session(
            self.call.egress,
            server,
            timeout=timeout,
            ca_file=str(ca_file) if ca_file else None,
            require_tls=key[1],
        )
        self.key = key
        return self.session

    def close(self, failed: bool = False) -> None:
        """Close the open session, if any (at once, without QUIT, after a failure)."""
        if self.session is not None:
            if failed:
                self.session.abort()
            else:
                self.session.close()
        self.session, self.key = None, None


def _timeout_s(call: NodeCall, params: Mapping[str, Any], started: float) -> float:
    """Return the seconds one message may take: ``timeoutMs``, cut to the node's time left."""
    timeout_ms = params.get("timeoutMs") or DEFAULT_TIMEOUT_MS
    seconds = timeout_ms / 1000.0
    if call.deadline_s is not None:
        seconds = min(seconds, max(call.deadline_s - (time.monotonic() - started), 0.001))
    return seconds


def _send_one(call: NodeCall, sessions: _Sessions, index: int, started: float) -> dict[str, Any]:
    """Send item ``index``'s message and return its output JSON."""
    params = checked_params(call, index)
    credential_id = str(params.get("credentialId") or "")
    credential = call.credential(credential_id, CREDENTIAL_TYPES)
    try:
        server = SmtpServer.from_secret(credential.secret)
    except SmtpError as exc:
        raise NodeError(f"Credential '{credential.name}': {exc.message}", exc.kind) from None
    message, sender, recipients = build_message(call, params, server)
    timeout = _timeout_s(call, params, started)
    try:
        with deadline.bounded(timeout):
            session = sessions.get(credential_id, server, params, timeout)
            refused = session.send(message, sender, recipients, timeout)
    except (deadline.Expired, SmtpError) as exc:
        sessions.close(failed=True)
        if isinstance(exc, SmtpError) and exc.kind != "Timeout":
            raise NodeError(exc.message, exc.kind) from None
        raise NodeError(
            f"SMTP server {server.host}:{server.port} did not answer within {timeout:g} s",
            "Timeout",
        ) from None
    message_id = str(message["Message-ID"])
    accepted = [address for address in recipients if address not in refused]
    call.logs.append(
        f"Message {message_id} sent to {len(accepted)} recipient(s) via {server.host}:{server.port}"
    )
    call.logs.extend(f"Recipient {address} refused: {reply}" for address, reply in refused.items())
    return {"messageId": message_id, "accepted": accepted, "rejected": list(refused)}


def run_email_send(call: NodeCall) -> Outputs:
    """Send one message per input item through the item's SMTP credential."""
    started = time.monotonic()
    sessions = _Sessions(call)
    try:
        out = [
            {"json": _send_one(call, sessions, index, started)} for index in range(len(call.items))
        ]
    except BaseException:
        sessions.close(failed=True)
        raise
    sessions.close()
    return {"main": out}


ADDRESSES = ["string", "array"]

EMAIL_SEND = NodeType(
    type="email-send",
    name="Send Email",
    description="Send an e-mail per item through an SMTP credential",
    category="action",
    icon="mail",
    run=run_email_send,
    config_schema=obj(
        {
            "credentialId": prop("string", "SMTP credential"),
            "to": prop(ADDRESSES, "To", items={"type": "string"}),
            "cc": prop(ADDRESSES, "Cc", items={"type": "string"}),
            "bcc": prop(ADDRESSES, "Bcc", items={"type": "string"}),
            "from": prop("string", "From (default: the credential's user)"),
            "replyTo": prop("string", "Reply to"),
            "subject": prop("string", "Subject"),
            "body": prop("string", "Body"),
            "bodyFormat": choice("Body format", ["text", "html"]),
            "html": prop("string", "HTML body (sent with the text body as an alternative)"),
            "timeoutMs": prop(
                "integer", "Timeout per message (ms)", minimum=1, maximum=MAX_TIMEOUT_MS
            ),
            "requireTls": prop("boolean", "Refuse to send without TLS"),
        },
        required=["to", "subject", "body"],
    ),
    aliases=("smtp.send",),
    side_effects=True,
    prepare=_prepare,
)

NODE_TYPES = (EMAIL_SEND,)
