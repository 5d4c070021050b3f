"""Find the live trigger (webhook or form) behind a public token: one indexed query.

A token answers only while its row is enabled and its workflow is active and not deleted;
anything else (unknown, disabled, rotated away, malformed) is the same ``None``, so a
caller cannot tell which one it was. The same query reads what starting a run needs (the
workflow's current version, the workspace's usage period and plan limit: ``RunTarget``),
so ``create_execution`` does not query them again.

With a ``generation`` (``triggers.gate``: bumped after every commit that changed a
trigger, a workflow, a workspace or a plan) a found trigger is kept in a per-process cache
for that generation only, at most ``CACHE_SECONDS``: a rotated, disabled or deactivated
token stops answering with the next call in every process. Unknown tokens are never
cached. The quota itself is charged in SQL whatever the cache holds.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select

from fluxolab.executions.service import RunTarget
from fluxolab.extensions import db
from fluxolab.models import Plan, Webhook, Workflow, WorkflowVersion, Workspace
from fluxolab.triggers import tokens


@dataclass(frozen=True)
class ActiveTrigger:
    """What the intake needs of a webhook or form row (read once per call)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    workflow_id: uuid.UUID
    workflow_name: str
    kind: str
    node_id: str | None
    name: str
    path: str
    methods: tuple[str, ...]
    auth_mode: str
    credential_id: uuid.UUID | None
    response_mode: str
    rate_limit_per_minute: int | None
    max_body_bytes: int | None
    content_types: tuple[str, ...]
    run_target: RunTarget | None = None


_COLUMNS = (
    Webhook.id,
    Webhook.workspace_id,
    Webhook.workflow_id,
    Workflow.name,
    Webhook.kind,
    Webhook.node_id,
    Webhook.name,
    Webhook.path,
    Webhook.methods,
    Webhook.auth_mode,
    Webhook.credential_id,
    Webhook.response_mode,
    Webhook.rate_limit_per_minute,
    Webhook.max_body_bytes,
    Webhook.content_types,
)
_FIND = (
    select(
        *_COLUMNS,
        WorkflowVersion.id,
        WorkflowVersion.version,
        WorkflowVersion.checksum,
        Workspace.usage_period_start,
        Plan.limits["executions"].as_integer(),
    )
    .join(Workflow, Workflow.id == Webhook.workflow_id)
    .join(
        WorkflowVersion,
        (WorkflowVersion.workflow_id == Workflow.id)
        & (WorkflowVersion.version == Workflow.version),
    )
    .join(Workspace, Workspace.id == Workflow.workspace_id)
    .join(Plan, Plan.id == Workspace.plan_id)
    .where(
        Webhook.token_hash == bindparam("token_hash"),
        Webhook.kind == bindparam("kind"),
        Webhook.is_active.is_(True),
        Workflow.status == "active",
        Workflow.deleted_at.is_(None),
    )
)


CACHE_SECONDS = 10.0
CACHE_SIZE = 4096
_Cache = dict[tuple[str, str], tuple[int, float, "ActiveTrigger"]]


def find_active(
    token: str, kind: str, *, token_hash: str | None = None, generation: int | None = None
) -> ActiveTrigger | None:
    """Return the enabled ``kind`` trigger of an active workflow behind ``token``, else None.

    ``generation``: serve and keep it in the cache under that trigger generation.
    """
    if not tokens.well_formed(token):
        return None
    hashed = token_hash or tokens.token_hash(token)
    now = time.monotonic()
    cache: _Cache = current_app.extensions.setdefault("trigger_cache", {})  # per app
    if generation is not None:
        hit = cache.get((hashed, kind))
        if hit is not None and hit[0] == generation and now - hit[1] < CACHE_SECONDS:
            return hit[2]
    params = {"token_hash": hashed, "kind": kind}
    found = _trigger(db.session.connection().execute(_FIND, params).first())
    if generation is not None and found is not None:
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        cache[(hashed, kind)] = (generation, now, found)
    return found


def find_by_id(workspace_id: uuid.UUID, webhook_id: uuid.UUID, kind: str) -> ActiveTrigger | None:
    """Return a trigger of the workspace by id, enabled or not, of a live workflow (tests).

    Its ``run_target`` is None: ``create_execution`` reads it.
    """
    row = db.session.execute(
        select(*_COLUMNS)
        .join(Workflow, Workflow.id == Webhook.workflow_id)
        .where(
            Webhook.id == webhook_id,
            Webhook.workspace_id == workspace_id,
            Webhook.kind == kind,
            Workflow.deleted_at.is_(None),
        )
    ).first()
    return _trigger(row)


def _trigger(row: Any) -> ActiveTrigger | None:
    if row is None:
        return None
    (id_, workspace_id, workflow_id, workflow_name, kind_, node_id, name, path, methods,
     auth_mode, credential_id, response_mode, rate_limit, max_body, content_types,
     *target) = row  # fmt: skip
    return ActiveTrigger(
        id_, workspace_id, workflow_id, workflow_name, kind_, node_id, name, path,
        tuple(methods or ()), auth_mode, credential_id, response_mode, rate_limit, max_body,
        tuple(content_types or ()), RunTarget(*target) if target else None,
    )  # fmt: skip
