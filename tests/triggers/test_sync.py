"""Activating, editing, deactivating and deleting a workflow keeps its trigger rows in step."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Webhook
from fluxolab.triggers import tokens
from tests.factories import make_account

WEBHOOK_FLOW: dict[str, Any] = {
    "nodes": [
        {
            "id": "hook",
            "type": "webhook",
            "name": "Orders",
            "params": {"path": "orders", "method": "POST", "respondMode": "on_last_node"},
        },
        {"id": "form", "type": "form", "params": {"formName": "Contact", "fields": []}},
        {"id": "2", "type": "no-op", "params": {}},
    ],
    "connections": [{"from": "hook", "to": "2"}, {"from": "form", "to": "2"}],
}


def _rows(workflow_id: str) -> dict[str, Webhook]:
    db.session.expire_all()
    found = db.session.scalars(select(Webhook).where(Webhook.workflow_id == uuid.UUID(workflow_id)))
    return {str(row.node_id): row for row in found}


def test_trigger_rows_follow_the_workflow(client: FlaskClient, app: Flask) -> None:
    owner = make_account()
    created = client.post(
        "/api/workflows", json={"name": "Hooks", "definition": WEBHOOK_FLOW}, headers=owner.headers
    )
    workflow_id = created.get_json()["workflow"]["id"]
    assert _rows(workflow_id) == {}  # a draft has no public URL yet

    path = f"/api/workflows/{workflow_id}/status"
    assert client.patch(path, json={"active": True}, headers=owner.headers).status_code == 200
    rows = _rows(workflow_id)
    assert set(rows) == {"hook", "form"}
    hook = rows["hook"]
    assert (hook.kind, hook.path, hook.methods, hook.response_mode) == (
        "webhook",
        "orders",
        ["POST"],
        "when_complete",
    )
    token = tokens.decrypt(hook.token_encrypted)
    assert tokens.well_formed(token) and hook.token_hash == tokens.token_hash(token)
    assert rows["form"].kind == "form" and rows["form"].is_active

    assert client.patch(path, json={"active": False}, headers=owner.headers).status_code == 200
    rows = _rows(workflow_id)
    assert not rows["hook"].is_active and not rows["form"].is_active
    assert client.patch(path, json={"active": True}, headers=owner.headers).status_code == 200
    again = _rows(workflow_id)["hook"]
    assert again.is_active and tokens.decrypt(again.token_encrypted) == token  # same URL

    edited = {**WEBHOOK_FLOW, "nodes": [WEBHOOK_FLOW["nodes"][0], WEBHOOK_FLOW["nodes"][2]]}
    edited["connections"] = [{"from": "hook", "to": "2"}]
    response = client.put(
        f"/api/workflows/{workflow_id}", json={"definition": edited}, headers=owner.headers
    )
    assert response.status_code == 200, response.get_json()
    assert set(_rows(workflow_id)) == {"hook"}  # the removed form node lost its row

    assert client.delete(f"/api/workflows/{workflow_id}", headers=owner.headers).status_code in (
        200,
        204,
    )
    assert _rows(workflow_id) == {}
