"""A workflow with a form trigger, activated through the API, and its form token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Webhook
from fluxolab.triggers import tokens
from tests.factories import Account, make_account

FIELDS: list[dict[str, Any]] = [
    {"name": "name", "label": "Nome", "type": "text", "required": True},
    {"name": "message", "label": "Mensagem", "type": "textarea"},
    {"name": "age", "label": "Idade", "type": "number"},
    {"name": "email", "label": "E-mail", "type": "email", "required": True},
    {"name": "day", "label": "Dia", "type": "date"},
    {"name": "plan", "label": "Plano", "type": "select", "options": ["free", "pro"]},
    {"name": "terms", "label": "Aceito os termos", "type": "checkbox", "required": True},
]


def form_flow(fields: list[dict[str, Any]] | None = None, name: str = "Contato") -> dict[str, Any]:
    """A workflow definition: a form trigger followed by a no-op."""
    return {
        "nodes": [
            {
                "id": "form",
                "type": "form",
                "name": "Form",
                "params": {"formName": name, "fields": FIELDS if fields is None else fields},
            },
            {"id": "done", "type": "no-op", "params": {}},
        ],
        "connections": [{"from": "form", "to": "done"}],
    }


@dataclass
class LiveForm:
    """An active workflow with a form trigger and the token of its form."""

    owner: Account
    workflow_id: str
    token: str

    @property
    def page(self) -> str:
        return f"/forms/{self.token}"

    @property
    def api(self) -> str:
        return f"/api/forms/{self.token}"


def form_row(workflow_id: str) -> Webhook:
    """The form's ``webhooks`` row (fresh from the database)."""
    db.session.expire_all()
    return db.session.scalars(
        select(Webhook).where(Webhook.workflow_id == uuid.UUID(workflow_id), Webhook.kind == "form")
    ).one()


def make_live_form(
    client: FlaskClient, definition: dict[str, Any] | None = None, owner: Account | None = None
) -> LiveForm:
    """Create and activate a workflow with a form trigger; return it with its token."""
    owner = owner or make_account()
    created = client.post(
        "/api/workflows",
        json={"name": "Formulario", "definition": definition or form_flow()},
        headers=owner.headers,
    )
    assert created.status_code == 201, created.get_json()
    workflow_id = created.get_json()["workflow"]["id"]
    activated = client.patch(
        f"/api/workflows/{workflow_id}/status", json={"active": True}, headers=owner.headers
    )
    assert activated.status_code == 200, activated.get_json()
    token = tokens.decrypt(form_row(workflow_id).token_encrypted)
    return LiveForm(owner, workflow_id, token)


@pytest.fixture()
def live_form(client: FlaskClient, app: Flask) -> LiveForm:
    with app.app_context():
        return make_live_form(client)
