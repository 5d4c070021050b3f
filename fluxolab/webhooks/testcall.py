"""``POST /api/webhooks/<id>/test``: a sample call through the real intake path.

The sample carries the webhook's own credentials (basic, bearer, the api-key header, or a
fresh Standard Webhooks signature), so the auth check runs for real; the run it starts has
mode ``test`` and does not count against the plan quota. A webhook of an inactive workflow
can be tested (its current version runs).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from fluxolab.credentials.cipher import InvalidToken
from fluxolab.errors import Conflict, NotFound
from fluxolab.extensions import db
from fluxolab.models import Webhook
from fluxolab.triggers import tokens
from fluxolab.triggers.lookup import ActiveTrigger, find_by_id
from fluxolab.webhooks import auth, intake
from fluxolab.webhooks.answers import Reply

SAMPLE_BODY: dict[str, Any] = {"test": True, "message": "Chamada de teste do FluxoLab"}


def _auth_headers(
    trigger: ActiveTrigger, secret: Mapping[str, Any] | None, raw: bytes
) -> dict[str, str]:
    """The headers a legitimate caller would send under the webhook's auth mode."""
    if secret is None or trigger.auth_mode == "none":
        return {}
    if trigger.auth_mode == "basic":
        pair = f"{secret.get('user', '')}:{secret.get('password', '')}".encode()
        return {"authorization": "Basic " + base64.b64encode(pair).decode()}
    if trigger.auth_mode == "bearer":
        return {"authorization": f"Bearer {secret.get('token', '')}"}
    if trigger.auth_mode == "api-key":
        return {str(secret.get("name", "")).lower(): str(secret.get("value", ""))}
    message_id, stamp = f"test_{uuid.uuid4().hex}", int(time.time())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": auth.sign(str(secret.get("secret", "")), message_id, stamp, raw),
    }


def run_test(
    workspace_id: uuid.UUID, webhook_id: uuid.UUID, sample: Mapping[str, Any], source_ip: str
) -> Reply:
    """Send ``sample`` (method, headers, query, body) through the intake; return the reply.

    Raises ``NotFound`` for a webhook of another workspace or of a deleted workflow.
    """
    trigger = find_by_id(workspace_id, webhook_id, "webhook")
    if trigger is None:
        raise NotFound("Webhook nao encontrado.")
    encrypted = db.session.scalar(
        db.select(Webhook.token_encrypted).where(Webhook.id == webhook_id)
    )
    try:
        token = tokens.decrypt(str(encrypted))
    except InvalidToken:
        raise Conflict(
            "O token deste webhook nao pode ser lido com as chaves atuais; gere um novo token.",
            code="webhook_token_unreadable",
        ) from None
    body = sample.get("body", SAMPLE_BODY)
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    content_type = "text/plain" if isinstance(body, str) else "application/json"
    headers = {str(k).lower(): str(v) for k, v in (sample.get("headers") or {}).items()}
    headers.setdefault("content-type", content_type)
    headers.update(_auth_headers(trigger, intake.credential_secret(trigger), raw))
    call = intake.Call(
        token=token,
        method=str(sample.get("method") or trigger.methods[0]).upper(),
        headers=headers,
        query=dict(sample.get("query") or {}),
        raw=raw,
        content_type=headers["content-type"],
        source_ip=source_ip,
        mode="test",
    )
    return intake.receive(trigger, call)
