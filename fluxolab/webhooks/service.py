"""Webhook management rules: workspace scoping, auth credentials, node-bound rows, tokens.

Invariants kept here:
- a webhook is only visible to its workspace (``NotFound`` otherwise, also for the id of
  another workspace's webhook); this API lists and edits ``kind='webhook'`` rows only, while
  ``rotate_token`` serves webhooks and forms alike (the one way a token changes);
- it belongs to a live workflow of the same workspace, and an auth mode other than ``none``
  names a credential of the matching type in that workspace;
- a row made from a workflow's trigger node (``node_id`` set) is kept in step with the
  node by trigger sync: here only its server-side settings (``SERVER_FIELDS``) change, and
  it cannot be deleted (409: edit, deactivate or delete the workflow instead);
- a rotated token stops answering at once: the lookup is by ``token_hash``, replaced in the
  same commit; the token is returned in full only to editors and above, masked otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy import Select, delete, func, select

from fluxolab import audit
from fluxolab.common.pagination import Page, paginate
from fluxolab.errors import Conflict, NotFound, ValidationFailed
from fluxolab.extensions import db
from fluxolab.models import Credential, Webhook, WebhookLog, Workflow, utcnow
from fluxolab.triggers import tokens, urls
from fluxolab.triggers.sync import RESPONSE_MODE_ALIASES
from fluxolab.webhooks.auth import CREDENTIAL_TYPE_OF

RESPONSE_MODE_INPUTS = ("immediately", "when_complete", "via_node", "never", *RESPONSE_MODE_ALIASES)
RATE_LIMIT_MAX = 100_000
MAX_CONTENT_TYPES = 20
# what PUT may change on a row made from a workflow node (the rest comes from the node)
SERVER_FIELDS = ("rateLimitPerMinute", "maxBodyBytes", "contentTypes")
# log modes left out of the statistics (sample calls sent from the UI)
UNCOUNTED_MODES = ("test",)
# request field -> column
_COLUMNS = {
    "name": "name",
    "path": "path",
    "methods": "methods",
    "authentication": "auth_mode",
    "credentialId": "credential_id",
    "respondMode": "response_mode",
    "workflowId": "workflow_id",
    "rateLimitPerMinute": "rate_limit_per_minute",
    "maxBodyBytes": "max_body_bytes",
    "contentTypes": "content_types",
    "isActive": "is_active",
}


@dataclass(frozen=True)
class CallStats:
    """What the log says of one webhook's calls (test calls excluded)."""

    count: int = 0
    last_call_at: datetime | None = None
    successes: int = 0

    @property
    def success_rate(self) -> float | None:
        """Share of calls answered 2xx, None when there was none."""
        return round(self.successes / self.count, 4) if self.count else None


def get_webhook(
    workspace_id: uuid.UUID,
    webhook_id: uuid.UUID,
    *,
    kind: str | None = "webhook",
    for_update: bool = False,
) -> Webhook:
    """Return a row of the workspace (of ``kind`` unless None); raises ``NotFound``."""
    stmt = select(Webhook).where(Webhook.id == webhook_id, Webhook.workspace_id == workspace_id)
    if kind is not None:
        stmt = stmt.where(Webhook.kind == kind)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = db.session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound("Webhook nao encontrado.")
    return row


def call_stats(webhook_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, CallStats]:
    """Return the call statistics of the given webhooks with one grouped query."""
    ids = list(webhook_ids)
    if not ids:
        return {}
    success = WebhookLog.response_status.between(200, 299)
    rows = db.session.execute(
        select(
            WebhookLog.webhook_id,
            func.count(),
            func.max(WebhookLog.created_at),
            func.count().filter(success),
        )
        .where(WebhookLog.webhook_id.in_(ids), WebhookLog.mode.not_in(UNCOUNTED_MODES))
        .group_by(WebhookLog.webhook_id)
    )
    return {
        webhook_id: CallStats(int(count), last, int(successes))
        for webhook_id, count, last, successes in rows
    }


def _token(row: Webhook) -> str:
    try:
        return tokens.decrypt(row.token_encrypted)
    except (InvalidToken, KeyError, TypeError, ValueError):
        return ""  # unreadable under the current keys: rotate to get a new one


def public_url(kind: str, token: str) -> str:
    """Return the absolute public URL of a webhook (its intake) or a form (its page)."""
    path = urls.form_page_path(token) if kind == "form" else urls.webhook_path(token)
    return urls.absolute(path)


def view(row: Webhook, stats: CallStats | None = None, *, reveal: bool) -> dict[str, Any]:
    """Return the API shape of a row; ``reveal`` gives the full token (editors and above)."""
    token = _token(row)
    shown = token if reveal else tokens.mask(token)
    stats = stats or CallStats()
    methods = list(row.methods or ["POST"])
    return {
        "id": row.id,
        "workspaceId": row.workspace_id,
        "workflowId": row.workflow_id,
        "kind": row.kind,
        "nodeId": row.node_id,
        "name": row.name,
        "path": row.path,
        "method": "POST" if "POST" in methods else methods[0],
        "methods": methods,
        "authentication": row.auth_mode,
        "credentialId": row.credential_id,
        "respondMode": row.response_mode,
        "rateLimitPerMinute": row.rate_limit_per_minute,
        "maxBodyBytes": row.max_body_bytes,
        "contentTypes": list(row.content_types or []),
        "isActive": row.is_active,
        "token": shown,
        "url": public_url(row.kind, shown),
        "tokenRotatedAt": row.token_rotated_at,
        "callCount": stats.count,
        "lastCallAt": stats.last_call_at,
        "successRate": stats.success_rate,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }


def detail(row: Webhook, *, reveal: bool) -> dict[str, Any]:
    """Return ``view`` of one row with its statistics."""
    return view(row, call_stats([row.id]).get(row.id), reveal=reveal)


def list_webhooks(
    workspace_id: uuid.UUID,
    *,
    workflow_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Page[Webhook], dict[uuid.UUID, CallStats]]:
    """Return one page of the workspace's webhooks (newest first) and their statistics."""
    stmt = select(Webhook).where(Webhook.workspace_id == workspace_id, Webhook.kind == "webhook")
    if workflow_id is not None:
        stmt = stmt.where(Webhook.workflow_id == workflow_id)
    page = paginate(stmt.order_by(Webhook.created_at.desc(), Webhook.id), limit, offset)
    return page, call_stats(row.id for row in page.items)


def _check_workflow(workspace_id: uuid.UUID, workflow_id: uuid.UUID) -> None:
    """422 unless ``workflow_id`` is a live workflow of the workspace (any other looks missing)."""
    found = db.session.execute(
        select(Workflow.id).where(
            Workflow.id == workflow_id,
            Workflow.workspace_id == workspace_id,
            Workflow.deleted_at.is_(None),
        )
    ).scalar_one_or_none()
    if found is None:
        raise ValidationFailed(
            "Dados invalidos: workflowId: workflow nao encontrado.",
            errors={"workflowId": ["Workflow nao encontrado."]},
        )


def _check_auth(workspace_id: uuid.UUID, mode: str, credential_id: uuid.UUID | None) -> None:
    """422 unless the credential exists in the workspace with the type ``mode`` needs."""
    needed = CREDENTIAL_TYPE_OF.get(mode)
    if credential_id is None:
        if needed is None:
            return
        raise ValidationFailed(
            f"Dados invalidos: credentialId: a autenticacao '{mode}' exige uma credencial "
            f"do tipo '{needed}'.",
            errors={"credentialId": [f"Required for authentication '{mode}' ({needed})."]},
        )
    kind = db.session.execute(
        select(Credential.type).where(
            Credential.id == credential_id, Credential.workspace_id == workspace_id
        )
    ).scalar_one_or_none()
    if kind is None:
        raise ValidationFailed(
            "Dados invalidos: credentialId: credencial nao encontrada.",
            errors={"credentialId": ["Credencial nao encontrada."]},
        )
    if needed is not None and kind != needed:
        raise ValidationFailed(
            f"Dados invalidos: credentialId: a autenticacao '{mode}' exige uma credencial "
            f"do tipo '{needed}', nao '{kind}'.",
            errors={"credentialId": [f"Must be a '{needed}' credential, not '{kind}'."]},
        )


def _check_body_limit(value: int | None) -> None:
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    if value is not None and value > limit:
        raise ValidationFailed(
            f"Dados invalidos: maxBodyBytes: no maximo {limit} (MAX_BODY_BYTES do servidor).",
            errors={"maxBodyBytes": [f"Must be less than or equal to {limit}."]},
        )


def _columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Map validated request fields to column values (response modes made canonical)."""
    values = {_COLUMNS[name]: value for name, value in fields.items() if name in _COLUMNS}
    mode = values.get("response_mode")
    if mode is not None:
        values["response_mode"] = RESPONSE_MODE_ALIASES.get(mode, mode)
    return values


def create_webhook(
    workspace_id: uuid.UUID, user_id: uuid.UUID | None, fields: Mapping[str, Any]
) -> Webhook:
    """Create a webhook of one of the workspace's workflows, with a fresh token; commit."""
    _check_workflow(workspace_id, fields["workflowId"])
    values = _columns(fields)
    _check_auth(workspace_id, values.get("auth_mode", "none"), values.get("credential_id"))
    _check_body_limit(values.get("max_body_bytes"))
    token = tokens.new_token()
    row = Webhook(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        kind="webhook",
        token_hash=tokens.token_hash(token),
        token_encrypted=tokens.encrypt(token),
        created_by=user_id,
        updated_by=user_id,
        **values,
    )
    db.session.add(row)
    db.session.commit()
    return row


def _refuse_node_fields(row: Webhook, fields: Mapping[str, Any]) -> None:
    """409 naming the fields of a node-bound row that only its workflow node may change."""
    managed = [name for name in fields if name not in SERVER_FIELDS]
    if managed:
        db.session.rollback()
        raise Conflict(
            f"Este webhook vem do no '{row.node_id}' do workflow: altere "
            f"{', '.join(managed)} no no do workflow. Aqui so mudam "
            f"{', '.join(SERVER_FIELDS)}.",
            code="webhook_managed_by_workflow",
            errors={name: ["Edit it in the workflow's trigger node."] for name in managed},
        )


def update_webhook(
    workspace_id: uuid.UUID,
    webhook_id: uuid.UUID,
    user_id: uuid.UUID | None,
    fields: Mapping[str, Any],
) -> Webhook:
    """Apply validated changes and commit; node-bound rows take ``SERVER_FIELDS`` only."""
    row = get_webhook(workspace_id, webhook_id, for_update=True)
    if row.node_id is not None:
        _refuse_node_fields(row, fields)
    values = _columns(fields)
    if "workflow_id" in values:
        _check_workflow(workspace_id, values["workflow_id"])
    if "auth_mode" in values or "credential_id" in values:
        _check_auth(
            workspace_id,
            values.get("auth_mode", row.auth_mode),
            values.get("credential_id", row.credential_id),
        )
    _check_body_limit(values.get("max_body_bytes"))
    for column, value in values.items():
        setattr(row, column, value)
    row.updated_by = user_id
    db.session.commit()
    return row


def delete_webhook(workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
    """Delete a webhook made by the API (its logs go with it); 409 for a node-bound one."""
    row = get_webhook(workspace_id, webhook_id, for_update=True)
    if row.node_id is not None:
        db.session.rollback()
        raise Conflict(
            f"Este webhook vem do no '{row.node_id}' do workflow: remova o no, desative "
            "ou exclua o workflow para remove-lo.",
            code="webhook_managed_by_workflow",
        )
    db.session.delete(row)
    db.session.commit()


def rotate_token(
    workspace_id: uuid.UUID, webhook_id: uuid.UUID, user_id: uuid.UUID | None
) -> Webhook:
    """Give a webhook or form a fresh token and commit: the old one stops answering at once."""
    row = get_webhook(workspace_id, webhook_id, kind=None, for_update=True)
    token = tokens.new_token()
    row.token_hash = tokens.token_hash(token)
    row.token_encrypted = tokens.encrypt(token)
    row.token_rotated_at = utcnow()
    row.updated_by = user_id
    audit.record("webhook.token_rotated", ("webhook", row.id), None, {"kind": row.kind})
    db.session.commit()
    return row


def _log_filters(
    stmt: Select[Any], status: str | None, start: datetime | None, end: datetime | None
) -> Select[Any]:
    if status == "success":
        stmt = stmt.where(WebhookLog.response_status.between(200, 299))
    elif status == "error":
        stmt = stmt.where(~WebhookLog.response_status.between(200, 299))
    elif status is not None:
        stmt = stmt.where(WebhookLog.response_status == int(status))
    if start is not None:
        stmt = stmt.where(WebhookLog.created_at >= start)
    if end is not None:
        stmt = stmt.where(WebhookLog.created_at < end)
    return stmt


def list_logs(
    workspace_id: uuid.UUID,
    webhook_id: uuid.UUID,
    *,
    status: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    kind: str | None = "webhook",
) -> Page[WebhookLog]:
    """Return one page of a webhook's logged calls, newest first, filtered by status and time."""
    row = get_webhook(workspace_id, webhook_id, kind=kind)
    stmt = select(WebhookLog).where(
        WebhookLog.webhook_id == row.id, WebhookLog.workspace_id == workspace_id
    )
    stmt = _log_filters(stmt, status, from_, to)
    return paginate(stmt.order_by(WebhookLog.created_at.desc(), WebhookLog.id), limit, offset)


def prune_logs(*, batch: int | None = None) -> int:
    """Delete call logs older than ``WEBHOOK_LOG_RETENTION_DAYS``, ``batch`` rows per commit.

    Walks the ``created_at`` index; short transactions keep the intake's inserts unblocked.
    Returns how many rows went.
    """
    config = current_app.config
    size = batch or int(config["EXECUTION_PRUNE_BATCH"])
    cutoff = utcnow() - timedelta(days=int(config["WEBHOOK_LOG_RETENTION_DAYS"]))
    old = select(WebhookLog.id).where(WebhookLog.created_at < cutoff).limit(size)
    removed = 0
    while ids := db.session.execute(old).scalars().all():
        db.session.execute(delete(WebhookLog).where(WebhookLog.id.in_(ids)))
        db.session.commit()
        removed += len(ids)
    db.session.commit()
    return removed
