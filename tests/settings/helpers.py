"""Shared helpers of the Settings tests: members by role, rows added directly, reads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient

from fluxolab.extensions import db
from fluxolab.models import WebhookLog, Workspace, utcnow
from tests.factories import Account, make_member
from tests.webhooks.test_admin import create_webhook

ROLES = ["viewer", "editor", "admin", "owner"]
MANAGERS = ["admin", "owner"]
NON_MANAGERS = ["viewer", "editor"]


def member(owner: Account, role: str) -> Account:
    """The owner itself, or a new member of the owner's workspace with ``role``."""
    return owner if role == "owner" else make_member(owner, role)


def summary(client: FlaskClient, account: Account) -> dict[str, Any]:
    response = client.get("/api/settings/summary", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok"
    result: dict[str, Any] = body["summary"]
    return result


def workspace(account: Account) -> Workspace:
    db.session.expire_all()
    row = db.session.get(Workspace, account.workspace_id)
    assert row is not None
    return row


def add_webhook_calls(
    client: FlaskClient,
    account: Account,
    count: int,
    at: datetime | None = None,
    mode: str = "webhook",
) -> None:
    """Log ``count`` calls of a new webhook of the account's workspace at ``at``."""
    hook = create_webhook(client, account)
    for _ in range(count):
        db.session.add(
            WebhookLog(
                id=uuid.uuid4(),
                workspace_id=account.workspace_id,
                webhook_id=uuid.UUID(hook["id"]),
                method="POST",
                path="orders",
                response_status=202,
                mode=mode,
                created_at=at or utcnow(),
            )
        )
    db.session.commit()
