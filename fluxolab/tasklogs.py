"""The log context of every Celery task, and its one structured line when it ends.

``install`` (called by ``workers``) connects ``task_prerun``/``task_postrun``: while a task
runs, every record of the worker carries the task's name and id, its queue, Celery's retry
count, whether the broker redelivered it, the request id of its message headers (see
``fluxolab.requestid``) and, for ``executions.run``, the execution id. The run's claim adds
the workspace, the execution's delivery count and the request id stored on the row
(``annotate_claim``: a run re-published by the sweeper has no header of its own). When the
task ends, one ``fluxolab.task`` line has its state and duration.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextvars import Token
from typing import Any

from fluxolab import logs, requestid

log = logging.getLogger("fluxolab.task")
_running: dict[str, tuple[Token[Any], float]] = {}
_EXECUTION_TASKS = ("executions.run",)


def _header_request_id(request: Any) -> str | None:
    value = getattr(request, requestid.TASK_HEADER, None)
    return value if isinstance(value, str) and requestid.is_valid(value) else None


def _started(task_id: str | None = None, task: Any = None, args: Any = None, **_: Any) -> None:
    """``task_prerun``: bind the task's log context."""
    if task_id is None or task is None:
        return
    request = task.request
    delivery = getattr(request, "delivery_info", None) or {}
    execution_id = args[0] if task.name in _EXECUTION_TASKS and args else None
    token = logs.bind(
        request_id=_header_request_id(request),
        task=task.name,
        task_id=task_id,
        execution_id=execution_id,
        queue=delivery.get("routing_key") or delivery.get("exchange"),
        retries=getattr(request, "retries", None),
        redelivered=bool(delivery.get("redelivered")),
    )
    _running[task_id] = (token, time.perf_counter())


def _ended(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    """``task_postrun``: the task's line (state, duration), then its context ends."""
    entry = _running.pop(task_id or "", None)
    if entry is None:
        return
    token, started = entry
    try:
        logs.annotate(state=state, duration_ms=logs.milliseconds_since(started))
        name = getattr(task, "name", "?")
        log.info("task %s %s", name, (state or "done").lower())
    finally:
        logs.unbind(token)


def annotate_claim(workspace_id: uuid.UUID, deliveries: int | None, request_id: str | None) -> None:
    """What the claim of a run read: its workspace, delivery count and stored request id.

    Only inside a task (a run claimed in-process outside one leaves no context behind)."""
    if logs.current("task_id") is None:
        return
    logs.annotate(
        workspace_id=str(workspace_id),
        delivery_count=deliveries,
        request_id=request_id or requestid.current(),
    )


def install() -> None:
    """Connect the task signals (once)."""
    from celery import signals

    signals.task_prerun.connect(_started, weak=False, dispatch_uid="fluxolab-task-log")
    signals.task_postrun.connect(_ended, weak=False, dispatch_uid="fluxolab-task-log")
