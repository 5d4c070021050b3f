"""Workflows and executions for dashboard tests, made through the services.

A run is created by ``executions.service.create_execution`` (as the webhook, schedule, form,
error and sub-workflow paths do) and then given the outcome a worker would have written:
status, timestamps and duration, at a chosen moment.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from fluxolab.executions import service as executions
from fluxolab.extensions import db
from fluxolab.models import Execution, Workspace
from fluxolab.workflows import service as workflows
from tests.factories import Account

RUNNABLE: dict[str, Any] = {
    "nodes": [{"id": "t", "type": "manual"}, {"id": "end", "type": "no-op"}],
    "connections": [{"from": "t", "to": "end"}],
}
FINISHED = ("succeeded", "failed", "canceled", "timed_out")


def make_workflow(
    account: Account,
    name: str = "Fluxo",
    *,
    tags: list[str] | None = None,
    minutes_saved: float | None = None,
) -> uuid.UUID:
    """Create a runnable workflow owned by ``account`` (with a minutes-saved setting)."""
    fields: dict[str, Any] = {"name": name, "definition": RUNNABLE, "tags": tags or []}
    if minutes_saved is not None:
        fields["settings"] = {"minutes_saved_per_run": minutes_saved}
    created = workflows.create_workflow(account.workspace_id, account.user_id, fields)
    return created.workflow.id


def make_run(
    account: Account,
    workflow_id: uuid.UUID,
    *,
    at: datetime,
    mode: str = "webhook",
    status: str = "succeeded",
    duration_ms: int | None = 1000,
    parent: uuid.UUID | None = None,
    error: str | None = None,
) -> uuid.UUID:
    """Create an execution of ``mode`` at ``at`` and record the outcome ``status``."""
    created = executions.create_execution(
        account.workspace_id,
        workflow_id,
        [{"json": {}}],
        mode=mode,
        user_id=None if mode != "manual" else account.user_id,
        parent_id=parent,
        depth=1 if parent else 0,
        publish_now=False,
        charge=False,
    )
    finished = status in FINISHED
    values: dict[str, Any] = {
        "status": status,
        "created_at": at,
        "queued_at": at,
        "started_at": at if status != "queued" else None,
        "finished_at": at + timedelta(milliseconds=duration_ms or 0) if finished else None,
        "duration_ms": duration_ms if finished else None,
        "error": {"message": error} if error else None,
    }
    db.session.execute(update(Execution).where(Execution.id == created.id).values(**values))
    db.session.commit()
    return created.id


def set_timezone(account: Account, zone: str) -> None:
    """Set the workspace's time zone (``workspaces.timezone``)."""
    db.session.execute(
        update(Workspace).where(Workspace.id == account.workspace_id).values(timezone=zone)
    )
    db.session.commit()
