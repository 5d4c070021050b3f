"""Building webhook workflows in tests: create, activate, read the token."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Webhook
from fluxolab.triggers import tokens
from tests.factories import Account


def hook_flow(
    params: dict[str, Any] | None = None, tail: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A webhook trigger (``hook``) followed by ``tail`` nodes (default: one no-op)."""
    nodes = [
        {
            "id": "hook",
            "type": "webhook",
            "name": "Hook",
            "params": {"path": "orders", "method": "POST", **(params or {})},
        },
        *(tail or [{"id": "end", "type": "no-op", "name": "End", "params": {}}]),
    ]
    connections = [
        {"from": nodes[i]["id"], "to": nodes[i + 1]["id"]} for i in range(len(nodes) - 1)
    ]
    return {"nodes": nodes, "connections": connections}


def credential(client: FlaskClient, owner: Account, kind: str, secret: dict[str, Any]) -> str:
    """Create a credential of ``kind`` and return its id."""
    response = client.post(
        "/api/workflows/credentials",
        json={"name": f"{kind}-{uuid.uuid4().hex[:6]}", "type": kind, "secret": secret},
        headers=owner.headers,
    )
    assert response.status_code in (200, 201), response.get_json()
    body = response.get_json()
    return str((body.get("credential") or body)["id"])


def active_hook(client: FlaskClient, owner: Account, definition: dict[str, Any]) -> tuple[str, str]:
    """Create and activate a workflow; return ``(workflow_id, token)`` of its ``hook`` node."""
    created = client.post(
        "/api/workflows",
        json={"name": "Hook flow", "definition": definition},
        headers=owner.headers,
    )
    assert created.status_code in (200, 201), created.get_json()
    workflow_id = created.get_json()["workflow"]["id"]
    activated = client.patch(
        f"/api/workflows/{workflow_id}/status", json={"active": True}, headers=owner.headers
    )
    assert activated.status_code == 200, activated.get_json()
    return workflow_id, token_of(workflow_id)


def token_of(workflow_id: str, node_id: str = "hook") -> str:
    """The token of a workflow's trigger row (decrypted, as an editor reads it)."""
    db.session.expire_all()
    row = db.session.scalars(
        select(Webhook).where(
            Webhook.workflow_id == uuid.UUID(workflow_id), Webhook.node_id == node_id
        )
    ).one()
    return tokens.decrypt(row.token_encrypted)


def url(token: str) -> str:
    return f"/api/webhooks/execute/{token}"
