"""Load a public form behind its token and start a ``form`` execution from a valid submission.

The definition is read from the workflow's current version: the ``webhooks`` row (kind
``form``) names the node (``node_id``) whose ``formName`` and ``fields`` make the form.
Unknown, disabled, rotated-away tokens and inactive workflows are the same ``NotFound``.
Submissions go through ``fluxolab.triggers.starts``: a valid one stores its call log and a
queued run in one transaction; a refused one (422, 403) is logged with ``record``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from fluxolab.errors import NotFound, ValidationFailed
from fluxolab.extensions import db
from fluxolab.forms import texts
from fluxolab.forms.validation import Field, Outcome, parse_fields, validate
from fluxolab.models import User, Workflow, WorkflowVersion, Workspace, WorkspaceMember, utcnow
from fluxolab.triggers import starts
from fluxolab.triggers.lookup import ActiveTrigger, find_active

NOT_FOUND_MESSAGE = "Formulario nao encontrado."
LOGGED_BODY_CHARS = 4096


@dataclass(frozen=True)
class Form:
    """A live form: its trigger row, name, fields and the language of its pages."""

    trigger: ActiveTrigger
    name: str
    fields: list[Field]
    language: str

    @property
    def limits(self) -> dict[str, int | None]:
        """Return each field's longest accepted value (for error messages)."""
        return {field.name: field.max_length for field in self.fields}


def _node_params(trigger: ActiveTrigger) -> Mapping[str, Any] | None:
    definition = db.session.execute(
        select(WorkflowVersion.definition)
        .join(Workflow, Workflow.id == WorkflowVersion.workflow_id)
        .where(Workflow.id == trigger.workflow_id, WorkflowVersion.version == Workflow.version)
    ).scalar_one_or_none()
    for node in (definition or {}).get("nodes") or []:
        if isinstance(node, Mapping) and str(node.get("id")) == str(trigger.node_id):
            params = node.get("params")
            return params if isinstance(params, Mapping) else {}
    return None


def workspace_language(workspace_id: uuid.UUID) -> str:
    """Return the workspace's ``settings.language``, else its owner's language, else pt-BR."""
    settings = db.session.execute(
        select(Workspace.settings).where(Workspace.id == workspace_id)
    ).scalar_one_or_none()
    chosen = (settings or {}).get("language")
    if isinstance(chosen, str) and chosen.strip():
        return texts.html_lang(chosen)
    owner = db.session.execute(
        select(User.language)
        .join(WorkspaceMember, WorkspaceMember.user_id == User.id)
        .where(WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.role == "owner")
        .order_by(WorkspaceMember.joined_at)
        .limit(1)
    ).scalar_one_or_none()
    return texts.html_lang(owner)


def load(token: str) -> Form:
    """Return the live form behind ``token``; raises ``NotFound`` for any other token."""
    trigger = find_active(token, "form")
    params = _node_params(trigger) if trigger is not None and trigger.node_id else None
    if trigger is None or params is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    name = str(params.get("formName") or trigger.name)
    return Form(trigger, name, parse_fields(params), workspace_language(trigger.workspace_id))


@dataclass(frozen=True)
class Call:
    """What the log keeps of one submission's request."""

    method: str
    content_type: str | None
    user_agent: str | None
    source_ip: str | None
    started: float

    def log(self, logged_values: Mapping[str, Any]) -> starts.CallLog:
        """Return the call log (the submitted values as JSON text, truncated)."""
        body = json.dumps(logged_values, ensure_ascii=False, default=str)
        headers = {
            name: value
            for name, value in (
                ("content-type", self.content_type),
                ("user-agent", self.user_agent),
            )
            if value
        }
        return starts.CallLog(
            method=self.method,
            headers=headers,
            query={},
            body=body[:LOGGED_BODY_CHARS],
            body_truncated=len(body) > LOGGED_BODY_CHARS,
            source_ip=self.source_ip,
            mode="form",
        )

    def elapsed_ms(self) -> int:
        """Return the milliseconds since the call arrived."""
        return int((time.monotonic() - self.started) * 1000)


def refuse(form: Form, call: Call, submitted: Mapping[str, Any], status: int, body: Any) -> None:
    """Log a call of ``form`` that started nothing (a 403 CSRF refusal, a 413 ...)."""
    answer = body if isinstance(body, Mapping) else {"message": str(body)}
    starts.record(form.trigger, call.log(submitted).answered(status, answer, call.elapsed_ms()))


def item(form: Form, values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the item a form run starts with."""
    return {
        "formName": form.name,
        "fields": dict(values),
        "submittedAt": utcnow().isoformat(),
        "mode": "form",
    }


def submit(
    form: Form,
    submitted: Mapping[str, Any],
    call: Call,
    *,
    html: bool = False,
    idempotency_key: str | None = None,
) -> starts.Started | Outcome:
    """Start a run from a valid submission, else log the refusal and return the outcome.

    A repeated ``idempotency_key`` with the same values returns the first run; with other
    values it raises ``Conflict``. Plan quota and workflow errors pass through (logged).
    """
    outcome = validate(form.fields, submitted, html=html)
    if not outcome.ok:
        refused = invalid(form, outcome).to_body()
        starts.record(form.trigger, call.log(submitted).answered(422, refused, call.elapsed_ms()))
        return outcome
    canonical = json.dumps(outcome.values, sort_keys=True, ensure_ascii=False, default=str)
    # over the plan quota or a workflow that cannot run: ``start`` logs the call and raises
    return starts.start(
        form.trigger,
        item(form, outcome.values),
        call.log(outcome.values).answered(202, None, call.elapsed_ms()),
        answer=lambda execution_id: accepted(execution_id),
        idempotency_key=idempotency_key,
        request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
    )


def accepted(execution_id: uuid.UUID) -> dict[str, Any]:
    """Return the 202 answer of an accepted submission."""
    return {"status": "accepted", "executionId": str(execution_id)}


def invalid(form: Form, outcome: Outcome) -> ValidationFailed:
    """Return the 422 error of a refused submission (API messages per field)."""
    errors = texts.problem_messages(outcome.errors, form.limits, "api")
    return ValidationFailed("Dados do formulario invalidos.", errors=errors)
