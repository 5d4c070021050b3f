"""Start a run from a public trigger call, with its call log, in one transaction.

``start`` stores the ``webhook_logs`` row and the ``queued`` execution together and
publishes ``executions.run`` after the commit (a broker outage leaves the run to the beat
sweeper: the call is still accepted). ``record`` logs a call that started nothing (a 401,
a 415, a validation error ...). Both are shared by webhooks and forms.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Table, insert, update

from fluxolab.errors import Conflict, FluxoError
from fluxolab.executions import service as executions
from fluxolab.extensions import db
from fluxolab.models import Execution, WebhookLog, utcnow
from fluxolab.triggers.lookup import ActiveTrigger

_LOGS = cast(Table, WebhookLog.__table__)
_INSERT_LOG = insert(_LOGS)
IDEMPOTENCY_KEY_MAX = 200


@dataclass(frozen=True)
class CallLog:
    """What the log keeps of one call (headers already redacted, body already truncated)."""

    method: str
    headers: Mapping[str, Any]
    query: Mapping[str, Any]
    body: str | None
    body_truncated: bool
    source_ip: str | None
    mode: str = "webhook"
    response_status: int = 202
    response_body: Mapping[str, Any] | None = None
    duration_ms: int = 0

    def answered(self, status: int, body: Mapping[str, Any] | None, duration_ms: int) -> CallLog:
        """Return this log with the answer the caller got."""
        return replace(self, response_status=status, response_body=body, duration_ms=duration_ms)


def _row(trigger: ActiveTrigger, log: CallLog, execution_id: uuid.UUID | None) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "workspace_id": trigger.workspace_id,
        "webhook_id": trigger.id,
        "execution_id": execution_id,
        "method": log.method[:10],
        "path": trigger.path[:500],
        "headers": dict(log.headers),
        "query": dict(log.query),
        "body": log.body,
        "body_truncated": log.body_truncated,
        "response_status": log.response_status,
        "response_body": dict(log.response_body) if log.response_body is not None else None,
        "duration_ms": log.duration_ms,
        "source_ip": (log.source_ip or "")[:64] or None,
        "mode": log.mode,
        "created_at": utcnow(),
    }


def record(
    trigger: ActiveTrigger, log: CallLog, execution_id: uuid.UUID | None = None
) -> uuid.UUID:
    """Log a call on its own (one INSERT and a commit); return the log row's id."""
    row = _row(trigger, log, execution_id)
    db.session.connection().execute(_INSERT_LOG, row)
    db.session.commit()
    return cast(uuid.UUID, row["id"])


def answer_logged(log_id: uuid.UUID, status: int, body: Mapping[str, Any] | None, ms: int) -> None:
    """Store the final answer of a call whose log row was written when it was accepted."""
    db.session.execute(
        update(WebhookLog)
        .where(WebhookLog.id == log_id)
        .values(response_status=status, response_body=dict(body) if body else None, duration_ms=ms)
    )
    db.session.commit()


@dataclass(frozen=True)
class Started:
    """The run a call started (or found, for a repeated idempotency key) and its log row."""

    execution: Execution
    log_id: uuid.UUID
    duplicate: bool


def start(
    trigger: ActiveTrigger,
    item: dict[str, Any],
    log: CallLog,
    *,
    answer: Callable[[uuid.UUID], Mapping[str, Any] | None],
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    charge: bool = True,
    execution_id: uuid.UUID | None = None,
) -> Started:
    """Store the call's log row and a ``queued`` run of ``trigger``'s workflow, then publish.

    ``answer(execution_id)`` builds the response body the log records. A repeated
    ``idempotency_key`` (scoped to the trigger; test calls apart) returns the first run,
    logged as a call of its own, also when the plan quota is used up meanwhile; the same key
    with another ``request_hash`` raises ``Conflict``. ``execution_id`` picks the new run's
    id (a caller that waits for it registers before the publish). Raises, after logging the
    call, what ``create_execution`` raises (plan quota, a workflow that cannot run).
    """
    execution_id = execution_id or uuid.uuid4()
    logged = log.answered(log.response_status, answer(execution_id), log.duration_ms)
    log_row = _row(trigger, logged, execution_id)
    # test calls have keys of their own: a sample can never stand in for a real delivery
    scope = f"{trigger.id}:test" if log.mode == "test" else str(trigger.id)
    key = f"{scope}:{idempotency_key}" if idempotency_key is not None else None
    try:
        execution = executions.create_execution(
            trigger.workspace_id,
            trigger.workflow_id,
            [item],
            mode=log.mode,
            user_id=None,
            idempotency_key=key,
            request_hash=request_hash if key is not None else None,
            trigger_node_id=trigger.node_id,
            charge=charge,
            execution_id=execution_id,
            with_row=(_LOGS, log_row),
            target=trigger.run_target,
        )
    except FluxoError as error:
        db.session.rollback()
        found = executions.find_by_idempotency_key(trigger.workspace_id, key) if key else None
        if found is None:
            record(trigger, log.answered(error.status, error.to_body(), log.duration_ms))
            raise
        execution = found
    if execution.id == execution_id:
        return Started(execution, cast(uuid.UUID, log_row["id"]), duplicate=False)
    if execution.request_hash != request_hash:
        message = "Chave de idempotencia ja usada com outra requisicao."
        record(trigger, log.answered(409, {"message": message}, log.duration_ms), execution.id)
        raise Conflict(message, code="idempotency_conflict")
    again = log.answered(log.response_status, answer(execution.id), log.duration_ms)
    log_id = record(trigger, again, execution.id)
    return Started(execution, log_id, duplicate=True)
