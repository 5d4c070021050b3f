"""The JSON form API: definition, validation (422), start of a ``form`` run, logs, limits."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Execution, Plan, WebhookLog, Workspace
from fluxolab.triggers import tokens
from tests.conftest import make_test_config
from tests.forms.conftest import FIELDS, LiveForm, form_flow, form_row, make_live_form
from tests.helpers import assert_envelope, fresh_app

VALID = {
    "name": "Ana",
    "message": "Ola\nmundo",
    "age": "31",
    "email": "ana@example.com",
    "day": "2026-12-03",
    "plan": "pro",
    "terms": True,
}


def executions_of(workflow_id: str) -> list[Execution]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Execution).where(Execution.workflow_id == uuid.UUID(workflow_id)))
    )


def logs_of(live: LiveForm) -> list[WebhookLog]:
    db.session.expire_all()
    row = form_row(live.workflow_id)
    return list(
        db.session.scalars(
            select(WebhookLog)
            .where(WebhookLog.webhook_id == row.id)
            .order_by(WebhookLog.created_at)
        )
    )


def test_definition_comes_from_the_current_version(
    client: FlaskClient, live_form: LiveForm
) -> None:
    response = client.get(live_form.api)
    assert response.status_code == 200
    form = response.get_json()["form"]
    assert form["name"] == "Contato"
    assert form["language"] == "pt-BR"
    assert form["submitUrl"] == f"http://localhost{live_form.api}"
    assert form["pageUrl"] == f"http://localhost{live_form.page}"
    assert [f["name"] for f in form["fields"]] == [f["name"] for f in FIELDS]
    assert form["fields"][5] == {
        "name": "plan",
        "label": "Plano",
        "type": "select",
        "required": False,
        "options": ["free", "pro"],
        "maxLength": None,
    }
    assert form["fields"][0]["required"] is True and form["fields"][0]["maxLength"] == 1000

    edited = form_flow([{"name": "only", "label": "Unico", "type": "number"}], name="Novo")
    put = client.put(
        f"/api/workflows/{live_form.workflow_id}",
        json={"definition": edited},
        headers=live_form.owner.headers,
    )
    assert put.status_code == 200, put.get_json()
    again = client.get(live_form.api).get_json()["form"]
    assert again["name"] == "Novo"
    assert [f["name"] for f in again["fields"]] == ["only"]


def test_valid_submission_starts_a_form_execution_with_the_exact_item(
    client: FlaskClient, live_form: LiveForm
) -> None:
    response = client.post(live_form.api, json={**VALID, "message": "{{ $env.SECRET }}"})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert set(body) == {"status", "executionId"} and body["status"] == "accepted"

    [execution] = executions_of(live_form.workflow_id)
    assert str(execution.id) == body["executionId"]
    assert (execution.mode, execution.status, execution.trigger_node_id) == (
        "form",
        "queued",
        "form",
    )
    [item] = execution.input_items
    payload = item.get("json", item)
    submitted_at = payload.pop("submittedAt")
    assert isinstance(submitted_at, str) and submitted_at.startswith("20")
    assert payload == {
        "formName": "Contato",
        "mode": "form",
        "fields": {
            "name": "Ana",
            "message": "{{ $env.SECRET }}",  # stored as text, never evaluated
            "age": 31,
            "email": "ana@example.com",
            "day": "2026-12-03",
            "plan": "pro",
            "terms": True,
        },
    }

    [log] = logs_of(live_form)
    assert (log.mode, log.method, log.response_status) == ("form", "POST", 202)
    assert log.execution_id == execution.id
    assert log.response_body == {"status": "accepted", "executionId": body["executionId"]}
    assert '"name": "Ana"' in (log.body or "")


def test_invalid_submission_is_a_422_per_field_and_is_logged(
    client: FlaskClient, live_form: LiveForm
) -> None:
    submitted = {"name": " ", "age": "doze", "email": "x@", "day": "2026-13-01", "plan": "gold"}
    response = client.post(live_form.api, json={**submitted, "terms": "sim", "extra": 1})
    body = assert_envelope(response, 422, "validation_error")
    assert body["errors"] == {
        "name": ["Campo obrigatorio."],
        "age": ["Informe um numero."],
        "email": ["Informe um e-mail valido."],
        "day": ["Informe uma data no formato aaaa-mm-dd."],
        "plan": ["Escolha uma das opcoes."],
        "terms": ["Informe true ou false."],
        "extra": ["Campo desconhecido."],
    }
    assert executions_of(live_form.workflow_id) == []
    [log] = logs_of(live_form)
    assert (log.response_status, log.execution_id, log.mode) == (422, None, "form")
    assert log.response_body is not None and log.response_body["errors"] == body["errors"]


def test_a_body_that_is_not_an_object_is_refused(client: FlaskClient, live_form: LiveForm) -> None:
    assert_envelope(client.post(live_form.api, json=["Ana"]), 400)
    assert_envelope(client.post(live_form.api, data="name=Ana"), 415)
    assert executions_of(live_form.workflow_id) == []


def test_idempotency_key_returns_the_first_execution(
    client: FlaskClient, live_form: LiveForm
) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = client.post(live_form.api, json=VALID, headers=headers)
    second = client.post(live_form.api, json=VALID, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.get_json()["executionId"] == second.get_json()["executionId"]
    other = client.post(live_form.api, json={**VALID, "name": "Bia"}, headers=headers)
    assert_envelope(other, 409)
    assert len(executions_of(live_form.workflow_id)) == 1


def _unknown(client: FlaskClient, live: LiveForm) -> None:
    for response in (client.get(live.api), client.post(live.api, json=VALID)):
        body = assert_envelope(response, 404, "not_found")
        assert body["message"] == "Formulario nao encontrado."
    page = client.get(live.page)
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_unknown_disabled_rotated_and_inactive_tokens_are_the_same_404(
    client: FlaskClient, live_form: LiveForm
) -> None:
    _unknown(client, LiveForm(live_form.owner, live_form.workflow_id, tokens.new_token()))
    _unknown(client, LiveForm(live_form.owner, live_form.workflow_id, "not-a-token"))

    row = form_row(live_form.workflow_id)
    row.is_active = False  # disabled on its own
    db.session.commit()
    _unknown(client, live_form)
    row.is_active = True
    db.session.commit()
    assert client.get(live_form.api).status_code == 200

    fresh = tokens.new_token()  # rotated: the old token no longer answers
    row.token_hash, row.token_encrypted = tokens.token_hash(fresh), tokens.encrypt(fresh)
    db.session.commit()
    _unknown(client, live_form)
    assert client.get(f"/api/forms/{fresh}").status_code == 200

    live = LiveForm(live_form.owner, live_form.workflow_id, fresh)
    path = f"/api/workflows/{live.workflow_id}/status"
    off = client.patch(path, json={"active": False}, headers=live.owner.headers)
    assert off.status_code == 200
    _unknown(client, live)
    assert logs_of(live) == []  # nothing is written for unknown tokens


def test_plan_quota_passes_through_as_the_envelope(
    client: FlaskClient, live_form: LiveForm
) -> None:
    workspace = db.session.get(Workspace, live_form.owner.workspace_id)
    assert workspace is not None
    plan = db.session.get(Plan, workspace.plan_id)
    assert plan is not None
    workspace.executions_used = plan.limits["executions"]
    db.session.commit()
    assert_envelope(client.post(live_form.api, json=VALID), 402, "plan_limit_exceeded")
    assert executions_of(live_form.workflow_id) == []
    [log] = logs_of(live_form)
    assert (log.response_status, log.execution_id) == (402, None)


def test_a_body_over_the_limit_is_a_413(
    client: FlaskClient, app: Flask, live_form: LiveForm
) -> None:
    limit = app.config["FORM_MAX_BODY_BYTES"]
    response = client.post(live_form.api, json={**VALID, "message": "x" * limit})
    assert_envelope(response, 413, "payload_too_large")
    assert executions_of(live_form.workflow_id) == []


def test_submissions_are_rate_limited_per_ip_and_per_form(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    config: dict[str, Any] = {
        **make_test_config(database_url, redis_url, tmp_path),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "FORM_IP_RATE_LIMIT": "3 per minute",
        "FORM_RATE_LIMIT": "4 per minute",
    }
    with fresh_app(config, share_db_with=app) as limited, limited.app_context():
        client = limited.test_client()
        live = make_live_form(client)
        for _ in range(3):
            assert client.post(live.api, json=VALID).status_code == 202
        refused = client.post(live.api, json=VALID)
        assert_envelope(refused, 429, "rate_limited")
        assert int(refused.headers["Retry-After"]) >= 1
        other_ip = {"REMOTE_ADDR": "10.9.9.9"}
        assert client.post(live.api, json=VALID, environ_base=other_ip).status_code == 202
        # the form's own limit (4) is reached now, whatever the address
        third_ip = {"REMOTE_ADDR": "10.9.9.10"}
        assert_envelope(client.post(live.api, json=VALID, environ_base=third_ip), 429)
        assert len(executions_of(live.workflow_id)) == 4
        assert len(logs_of(live)) == 4  # the refused calls wrote nothing


def test_the_html_page_is_throttled_with_an_html_429(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    config: dict[str, Any] = {
        **make_test_config(database_url, redis_url, tmp_path),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "FORM_IP_RATE_LIMIT": "1 per minute",
    }
    with fresh_app(config, share_db_with=app) as limited, limited.app_context():
        client = limited.test_client()
        live = make_live_form(client)
        assert client.post(live.page, data={"name": "Ana"}).status_code == 403  # no CSRF token
        refused = client.post(live.page, data={"name": "Ana"})
        assert refused.status_code == 429 and refused.mimetype == "text/html"
        assert int(refused.headers["Retry-After"]) >= 1
        assert "Muitos envios" in refused.get_data(as_text=True)
        assert len(logs_of(live)) == 1
