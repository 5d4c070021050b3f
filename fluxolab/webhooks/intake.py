"""The public webhook intake: check a call, persist it with its run, answer by response mode.

Order of the checks (cheapest first; nothing before the token lookup touches the database):

1. the source IP's rate limit (429, only counted), the token's shape, then one indexed
   lookup of the live webhook (unknown, disabled, rotated away: the same 404, only counted);
2. the webhook's own rate limit (429, only counted);
3. method (405 with ``Allow``), body size (413), content type (415), auth (401), body (400)
   -- each of these is logged in ``webhook_logs``;
4. one transaction: the log row and the ``queued`` execution (``triggers.starts``), the run
   published after the commit; a repeated ``Idempotency-Key`` / ``webhook-id`` gets the
   first execution, with another body a 409;
5. the answer (``webhooks.answers``): 202 at once, 204, or a bounded wait for the result.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from fluxolab.common.ratelimit import throttle, too_many
from fluxolab.credentials.cipher import InvalidToken, cipher
from fluxolab.errors import (
    BadRequest,
    FluxoError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from fluxolab.extensions import db
from fluxolab.models import Credential, utcnow
from fluxolab.triggers import gate, starts, tokens
from fluxolab.triggers.lookup import ActiveTrigger, find_active
from fluxolab.webhooks import answers, auth, bodies

# calls that were refused before anything was written (for the metrics endpoint)
refused = Counter[str]()
IDEMPOTENCY_HEADERS = ("idempotency-key",)


@dataclass
class Call:
    """One HTTP call to a webhook, as the route read it (header names lower-case)."""

    token: str
    method: str
    headers: dict[str, str]
    query: dict[str, Any]
    raw: bytes
    content_type: str
    source_ip: str
    content_length: int | None = None
    mode: str = "webhook"
    received_at: datetime = field(default_factory=utcnow)
    started: float = field(default_factory=time.monotonic)

    def elapsed_ms(self) -> int:
        """Milliseconds since the call arrived."""
        return int((time.monotonic() - self.started) * 1000)


def not_found() -> NotFound:
    """The one answer for every token that does not lead to a live webhook."""
    return NotFound("Webhook nao encontrado.", code="webhook_not_found")


def resolve(token: str, source_ip: str) -> ActiveTrigger:
    """Throttle the source IP, then find the live webhook of ``token`` or raise 404/429.

    With the gate (rate limits in Redis) both throttles and the lookup cache's generation
    are one Redis round trip before the lookup; else flask-limiter's storage counts them.
    """
    config = current_app.config
    ip_limit = int(config["WEBHOOK_IP_RATE_LIMIT_PER_MINUTE"])
    hashed = tokens.token_hash(token) if tokens.well_formed(token) else "malformed"
    passage = gate.passage("webhook", source_ip, hashed, ip_limit)
    counted = passage is not None or not gate.enabled()  # Redis down: fail open
    try:
        if passage is None and counted:
            throttle(f"{ip_limit}/minute", "webhook-ip", source_ip)
        elif passage is not None and passage.ip_hits > ip_limit:
            raise too_many(passage.ip_retry_after)
    except FluxoError:
        refused["ip_rate_limited"] += 1
        raise
    generation = passage.generation if passage is not None else None
    trigger = find_active(token, "webhook", token_hash=hashed, generation=generation)
    if trigger is None:
        refused["unknown_token"] += 1
        raise not_found()
    limit = trigger.rate_limit_per_minute or config["WEBHOOK_RATE_LIMIT_PER_MINUTE"]
    try:
        if passage is None and counted:
            throttle(f"{limit}/minute", "webhook", str(trigger.id))
        elif passage is not None and passage.hook_hits > limit:
            raise too_many(passage.hook_retry_after)
    except FluxoError:
        refused["rate_limited"] += 1
        raise
    return trigger


def credential_secret(trigger: ActiveTrigger) -> dict[str, Any] | None:
    """Return the decrypted secret of the webhook's credential (None: missing, wrong type)."""
    wanted = auth.CREDENTIAL_TYPE_OF.get(trigger.auth_mode)
    if wanted is None or trigger.credential_id is None:
        return None
    row = db.session.execute(
        select(Credential.type, Credential.data_encrypted).where(
            Credential.id == trigger.credential_id,
            Credential.workspace_id == trigger.workspace_id,
            Credential.is_active.is_(True),
        )
    ).first()
    if row is None or row.type != wanted:
        return None
    try:
        return dict(cipher().decrypt(row.data_encrypted))
    except InvalidToken:
        return None


def max_body(trigger: ActiveTrigger) -> int:
    """The largest body this webhook accepts (never more than the server's limit)."""
    server = int(current_app.config["MAX_CONTENT_LENGTH"])
    return min(trigger.max_body_bytes or server, server)


def _check(
    trigger: ActiveTrigger, call: Call, secret: Mapping[str, Any] | None
) -> bodies.ParsedBody:
    """Method, size, content type, auth and body; raises the error to answer."""
    if call.method not in trigger.methods:
        raise MethodNotAllowed(
            f"Metodo {call.method} nao aceito por este webhook.", allow=trigger.methods
        )
    limit = max_body(trigger)
    if len(call.raw) > limit or (call.content_length or 0) > limit:
        raise PayloadTooLarge(f"Corpo grande demais para este webhook (limite {limit} bytes).")
    if call.raw and not bodies.content_type_allowed(call.content_type, trigger.content_types):
        allowed = ", ".join(trigger.content_types)
        raise UnsupportedMediaType(f"Tipo de conteudo nao aceito; use: {allowed}.")
    check_auth(trigger, call, secret)
    return bodies.parse(call.raw, call.content_type, limit)


def check_auth(trigger: ActiveTrigger, call: Call, secret: Mapping[str, Any] | None) -> None:
    """Check the call's credentials under the webhook's auth mode; raises ``Unauthorized``.

    An api-key credential naming a header the intake or a proxy owns refuses every call.
    """
    if trigger.auth_mode == "none":
        return
    name = str((secret or {}).get("name") or "").lower()
    if trigger.auth_mode == "api-key" and name in RESERVED_HEADERS:
        secret = None
    tolerance = int(current_app.config["WEBHOOK_SIGNATURE_TOLERANCE_SECONDS"])
    auth.check(trigger.auth_mode, call.headers, call.raw, secret, tolerance_s=tolerance)


# headers the intake reads itself: an api-key credential may not name one of them
RESERVED_HEADERS = frozenset(
    {
        "idempotency-key", "webhook-id", "webhook-timestamp", "webhook-signature",
        "content-type", "content-length", "transfer-encoding", "host", "cookie",
        "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip",
    }
)  # fmt: skip


def idempotency_key(trigger: ActiveTrigger, headers: Mapping[str, str]) -> str | None:
    """The caller's idempotency key: ``webhook-id`` for signed calls, else ``Idempotency-Key``.

    A signed call is keyed on its signed id only: an unsigned header must not turn a
    captured delivery into a new one.
    """
    name = "webhook-id" if trigger.auth_mode == "hmac" else "idempotency-key"
    key = headers.get(name)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > starts.IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise BadRequest(
            f"Chave de idempotencia invalida (1 a {starts.IDEMPOTENCY_KEY_MAX} caracteres).",
            code="invalid_idempotency_key",
        )
    return key


def request_hash(call: Call) -> str:
    """What tells two requests with the same idempotency key apart: method, type and body."""
    digest = hashlib.sha256(f"{call.method}\n{bodies.media_type(call.content_type)}\n".encode())
    digest.update(call.raw)
    return digest.hexdigest()


def trigger_item(call: Call, parsed: bodies.ParsedBody, headers: dict[str, str]) -> dict[str, Any]:
    """The item the workflow sees: the request as data (never evaluated)."""
    item: dict[str, Any] = {
        "json": {
            "headers": headers,
            "query": call.query,
            "body": parsed.body,
            "method": call.method,
            "receivedAt": call.received_at.isoformat().replace("+00:00", "Z"),
        }
    }
    if parsed.binary:
        item["binary"] = parsed.binary
    return item


def _log(call: Call, headers: dict[str, str], text: str | None) -> starts.CallLog:
    limit = int(current_app.config["WEBHOOK_LOG_BODY_CHARS"])
    if text is None and call.raw:
        text = f"[{len(call.raw)} bytes, {bodies.media_type(call.content_type) or 'binary'}]"
    body, cut = bodies.truncate(text, limit)
    return starts.CallLog(
        method=call.method,
        headers=headers,
        query=call.query,
        body=body,
        body_truncated=cut,
        source_ip=call.source_ip,
        mode=call.mode,
    )


def receive(trigger: ActiveTrigger, call: Call) -> answers.Reply:
    """Check, persist and answer one call of a resolved webhook (see the module doc)."""
    secret = credential_secret(trigger) if trigger.auth_mode != "none" else None
    header = str(secret.get("name") or "") if trigger.auth_mode == "api-key" and secret else ""
    hidden = (header,) if header else ()
    values = tuple(
        v
        for name, v in (secret or {}).items()
        if isinstance(v, str) and len(v) >= 6 and not (header and name == "name")
    )
    headers = bodies.redact_headers(call.headers, hidden, values)
    try:
        parsed = _check(trigger, call, secret)
        key = idempotency_key(trigger, call.headers)
    except FluxoError as error:
        log = _log(call, headers, None)
        starts.record(trigger, log.answered(error.status, error.to_body(), call.elapsed_ms()))
        raise
    return answers.start_and_answer(
        trigger,
        call.token,
        trigger_item(call, parsed, headers),
        _log(call, headers, parsed.text),
        idempotency_key=key,
        request_hash=request_hash(call),
        elapsed_ms=call.elapsed_ms,
    )


def handle(call: Call) -> answers.Reply:
    """Answer one public call to ``/api/webhooks/execute/<token>``."""
    return receive(resolve(call.token, call.source_ip), call)


def execution_status(call: Call, execution_id: uuid.UUID) -> answers.Reply:
    """Answer a status poll: the same webhook and credentials, only runs it started."""
    trigger = resolve(call.token, call.source_ip)
    check_auth(trigger, call, credential_secret(trigger))
    return answers.status_of(trigger, execution_id)
