"""Start a workflow's error workflow when one of its production runs fails or times out.

Rules (like n8n's Error Trigger):
- only runs that end ``failed`` or ``timed_out`` and whose mode is a production one
  (``webhook``, ``schedule``, ``form``) start it; a sub-execution counts when the run at the
  root of its chain is a production one. Manual runs, tests, retries, node tests and runs of
  mode ``error`` never do, so an error workflow failing (even one naming itself, or two naming
  each other) starts nothing;
- the error workflow does not need to be active: it only needs an ``error-trigger`` node and
  a runnable definition; the run starts from that node with one item
  ``{execution: {id, url, error, lastNodeExecuted, mode}, workflow: {id, name}}``;
- at most one error run per failed execution: it carries the idempotency key
  ``error:<failed execution id>``, so a second call (a redelivered task, a sweeper after a
  worker) returns the first run;
- it counts against the plan quota like any run; over quota, or when the error workflow
  cannot run, a warning is logged and nothing else fails.

``start_after_end`` is called after the final status is committed, never inside that
transaction, and never raises.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select

from fluxolab.errors import FluxoError
from fluxolab.executions import service as executions
from fluxolab.extensions import db
from fluxolab.models import Execution, ExecutionStep, Workflow, WorkflowVersion
from fluxolab.triggers import urls

log = logging.getLogger(__name__)

ERROR_MODE = "error"
ERROR_TRIGGER = "error-trigger"
PRODUCTION_MODES = ("webhook", "schedule", "form")
ERROR_STATUSES = ("failed", "timed_out")
# a sub-execution's chain is bounded by the sub-workflow depth limit; this only stops a cycle
MAX_CHAIN = 64


def idempotency_key(failed_id: uuid.UUID) -> str:
    """The key that makes the error run of ``failed_id`` unique in its workspace."""
    return f"error:{failed_id}"


def execution_url(execution_id: uuid.UUID) -> str:
    """The frontend's page of an execution: ``PUBLIC_BASE_URL`` + ``/executions/<id>``.

    Relative (``/executions/<id>``) when ``PUBLIC_BASE_URL`` is empty, since a worker has no
    request to take a host from.
    """
    return urls.absolute(f"/executions/{execution_id}")


def start_after_end(execution_id: uuid.UUID) -> Execution | None:
    """Start the error run for a finished execution if it is due; never raises.

    Returns the error execution (the existing one on a repeated call), or ``None``.
    """
    try:
        started = start_error_workflow(execution_id)
    except Exception:
        db.session.rollback()
        log.exception("error workflow for execution %s could not be started", execution_id)
        return None
    # End the read transaction: a commit (nothing is pending) keeps the caller's loaded
    # objects usable, where a rollback would expire them.
    db.session.commit()
    return started


def start_error_workflow(execution_id: uuid.UUID) -> Execution | None:
    """Create (and publish) the error run of ``execution_id`` when due; see the module rules."""
    failed = db.session.get(Execution, execution_id)
    if failed is None or failed.status not in ERROR_STATUSES:
        return None
    if _root_mode(failed) not in PRODUCTION_MODES:
        return None
    source = db.session.execute(
        select(Workflow.name, Workflow.error_workflow_id).where(Workflow.id == failed.workflow_id)
    ).first()
    if source is None or source.error_workflow_id is None:
        return None
    target_id = source.error_workflow_id
    node_id = _error_trigger_node(failed.workspace_id, target_id)
    if node_id is None:
        log.warning(
            "error workflow %s of workflow %s has no live %s node; execution %s starts nothing",
            target_id,
            failed.workflow_id,
            ERROR_TRIGGER,
            failed.id,
        )
        return None
    item = error_item(failed, source.name)
    workspace_id, failed_id = failed.workspace_id, failed.id
    db.session.commit()  # end the read transaction (nothing pending): a fresh one follows
    try:
        error_run = executions.create_execution(
            workspace_id,
            target_id,
            [{"json": item}],
            mode=ERROR_MODE,
            user_id=None,
            idempotency_key=idempotency_key(failed_id),
            trigger_node_id=node_id,
        )
    except FluxoError as exc:  # over quota, not runnable, deleted in between
        db.session.rollback()
        log.warning("error workflow %s not started for execution %s: %s", target_id, failed_id, exc)
        return None
    log.info("execution %s failed; error execution %s started", failed_id, error_run.id)
    return error_run


def error_item(failed: Execution, workflow_name: str) -> dict[str, Any]:
    """The JSON the ``error-trigger`` node emits for ``failed``."""
    error = failed.error or {}
    return {
        "execution": {
            "id": str(failed.id),
            "url": execution_url(failed.id),
            "error": str(error.get("message") or ""),
            "lastNodeExecuted": _last_node_name(failed.id),
            "mode": failed.mode,
        },
        "workflow": {"id": str(failed.workflow_id), "name": workflow_name},
    }


def _root_mode(execution: Execution) -> str:
    """The mode of the run at the root of a sub-execution chain (the run's own otherwise)."""
    mode, parent_id = execution.mode, execution.parent_execution_id
    for _ in range(MAX_CHAIN):
        if parent_id is None:
            return mode
        parent = db.session.execute(
            select(Execution.mode, Execution.parent_execution_id).where(Execution.id == parent_id)
        ).first()
        if parent is None:  # the parent was pruned: judge by the last one known
            return mode
        mode, parent_id = parent.mode, parent.parent_execution_id
    return ERROR_MODE  # a cycle cannot happen; if it did, start nothing


def _error_trigger_node(workspace_id: uuid.UUID, workflow_id: uuid.UUID) -> str | None:
    """The id of the first ``error-trigger`` node of a live workflow's current version."""
    definition = db.session.execute(
        select(WorkflowVersion.definition)
        .join(
            Workflow,
            (Workflow.id == WorkflowVersion.workflow_id)
            & (Workflow.version == WorkflowVersion.version),
        )
        .where(
            Workflow.id == workflow_id,
            Workflow.workspace_id == workspace_id,
            Workflow.deleted_at.is_(None),
        )
    ).scalar_one_or_none()
    for node in (definition or {}).get("nodes") or []:
        if isinstance(node, dict) and node.get("type") == ERROR_TRIGGER:
            return str(node.get("id"))
    return None


def _last_node_name(execution_id: uuid.UUID) -> str | None:
    """The name of the node that ran last (by step order), ``None`` before any step."""
    return db.session.execute(
        select(ExecutionStep.node_name)
        .where(ExecutionStep.execution_id == execution_id)
        .order_by(ExecutionStep.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
