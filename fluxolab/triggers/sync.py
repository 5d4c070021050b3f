"""Keep a workflow's public triggers in step with its definition and its active flag.

Called in the transaction that changes a workflow (create, update, activate, deactivate,
delete), never committing itself, so the workflow and its triggers change together:

- ``webhook`` and ``form`` trigger nodes each own one ``webhooks`` row (``node_id``). An
  active workflow gets a row (with a fresh token) for each such node, kept up to date with
  the node's params and enabled; an inactive one keeps its rows (and their tokens) disabled,
  so deactivating and activating again keeps the URL. A node removed from the definition
  loses its row; deleting the workflow removes them all.
- ``schedule`` nodes are handed to ``fluxolab.schedules.service.sync_workflow``.

Rows created through ``POST /api/webhooks`` (no ``node_id``) are left as they are; the
intake only answers for them while the workflow is active.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from fluxolab.engine import registry
from fluxolab.extensions import db
from fluxolab.models import Webhook, Workflow
from fluxolab.schedules import service as schedules
from fluxolab.triggers import tokens

TOKEN_KINDS = ("webhook", "form")
# the webhook node's ``respondMode`` aliases (contract 8.4's engine names)
RESPONSE_MODE_ALIASES = {"immediate": "immediately", "on_last_node": "when_complete"}


def trigger_nodes(definition: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    """Return the enabled nodes of ``definition`` whose type (or alias) is ``kind``."""
    found = []
    for node in definition.get("nodes") or []:
        if not isinstance(node, Mapping) or node.get("disabled") is True:
            continue
        if registry.resolve(str(node.get("type", ""))) == kind and node.get("id") is not None:
            found.append(node)
    return found


def _credential_id(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def webhook_fields(node: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ``webhooks`` columns a webhook trigger node's params set."""
    params = node.get("params") or {}
    if not isinstance(params, Mapping):
        params = {}
    method = str(params.get("method") or "POST").upper()
    methods = params.get("methods")
    if isinstance(methods, list) and methods:
        allowed = sorted({str(m).upper() for m in methods})
    else:
        allowed = [method]
    mode = str(params.get("respondMode") or "immediately")
    auth = str(params.get("authentication") or "none")
    return {
        "name": str(node.get("name") or params.get("path") or "Webhook")[:255],
        "path": str(params.get("path") or "")[:500],
        "methods": allowed,
        "auth_mode": auth,
        "credential_id": _credential_id(params.get("credentialId")),
        "response_mode": RESPONSE_MODE_ALIASES.get(mode, mode),
    }


def form_fields(node: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ``webhooks`` columns a form trigger node's params set."""
    params = node.get("params") or {}
    if not isinstance(params, Mapping):
        params = {}
    name = str(params.get("formName") or node.get("name") or "Form")[:255]
    return {"name": name, "path": name[:500], "methods": ["GET", "POST"]}


_FIELDS = {"webhook": webhook_fields, "form": form_fields}


def new_row(workflow: Workflow, kind: str, user_id: uuid.UUID | None, **fields: Any) -> Webhook:
    """Return a new (unsaved) webhook or form row of ``workflow`` with a fresh token."""
    token = tokens.new_token()
    return Webhook(
        id=uuid.uuid4(),
        workspace_id=workflow.workspace_id,
        workflow_id=workflow.id,
        kind=kind,
        token_hash=tokens.token_hash(token),
        token_encrypted=tokens.encrypt(token),
        created_by=user_id,
        updated_by=user_id,
        **fields,
    )


def sync_workflow(
    workflow: Workflow, definition: Mapping[str, Any], user_id: uuid.UUID | None
) -> None:
    """Bring ``workflow``'s webhook, form and schedule rows in line (no commit)."""
    if workflow.deleted_at is not None:
        db.session.execute(delete(Webhook).where(Webhook.workflow_id == workflow.id))
        schedules.sync_workflow(workflow, [], False)
        return
    active = workflow.status == "active"
    rows = {
        str(row.node_id): row
        for row in db.session.scalars(
            select(Webhook).where(Webhook.workflow_id == workflow.id, Webhook.node_id.is_not(None))
        )
    }
    kept: set[str] = set()
    for kind in TOKEN_KINDS:
        for node in trigger_nodes(definition, kind):
            node_id = str(node["id"])
            fields = _FIELDS[kind](node)
            row = rows.get(node_id)
            if row is not None and row.kind != kind:
                db.session.delete(row)
                db.session.flush()
                row = None
            if row is None and not active:
                continue
            kept.add(node_id)
            if row is None:
                db.session.add(new_row(workflow, kind, user_id, node_id=node_id, **fields))
                continue
            for name, value in fields.items():
                setattr(row, name, value)
            row.is_active = active
    for node_id, row in rows.items():
        if node_id not in kept:
            db.session.delete(row)
    schedules.sync_workflow(workflow, trigger_nodes(definition, "schedule"), active)
