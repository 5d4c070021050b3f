"""Claiming an execution for one worker: the conditional UPDATE that makes deliveries idempotent.

Every claim increments ``claim_token``; the claimed run passes it back on every later write
(heartbeat, checkpoint, finish), so a worker whose lease was taken over can no longer write.
``deliveries`` counts claims since the run last started or resumed (poison detection).

These statements run once or twice per execution, so they are built once at import (Core,
bound parameters) instead of per call: building and cache-keying an ORM statement costs more
CPU than PostgreSQL spends running it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from typing import cast as typed

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Connection,
    Exists,
    Row,
    ScalarSelect,
    Table,
    Text,
    Update,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    update,
)

from fluxolab import dispatch, tasklogs
from fluxolab.errorflows import service as errorflows
from fluxolab.extensions import db
from fluxolab.metrics import instruments
from fluxolab.models import Execution, Plan, Workflow, Workspace, utcnow

DEFAULT_CONCURRENCY = 5

_E = typed(Table, Execution.__table__)
_OTHER = _E.alias("other")
_W = typed(Table, Workspace.__table__)
_P = typed(Table, Plan.__table__)
_NOW = bindparam("now", type_=_E.c.started_at.type)
_ID = bindparam("execution_id", type_=_E.c.id.type)
_TOKEN = bindparam("token", type_=_E.c.claim_token.type)


@dataclass(frozen=True)
class ClaimedExecution:
    """What a run needs of its execution row, read once at claim time (no lazy reloads)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    workflow_id: uuid.UUID
    workflow_version_id: uuid.UUID
    mode: str
    trigger_node_id: str | None
    input_items: list[Any]
    state: dict[str, Any] | None
    started_at: datetime
    token: int
    depth: int = 0  # sub-execution nesting (0: started by a user, webhook or schedule)


@dataclass(frozen=True)
class Claim:
    """A claimed execution plus what the run needs from related rows."""

    execution: ClaimedExecution
    workflow_name: str


@dataclass(frozen=True)
class Held:
    """Another worker holds a live lease; try again after ``retry_after`` seconds."""

    retry_after: float


def _workspace_lock(workspace: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.pg_advisory_xact_lock(func.hashtextextended(cast(workspace, Text), 0))


_LOCK_WORKSPACE = select(_workspace_lock(bindparam("workspace_id", type_=_E.c.workspace_id.type)))
_LOCK_WORKSPACE_OF = select(_workspace_lock(_E.c.workspace_id)).where(_E.c.id == _ID)


def lock_workspace(workspace_id: uuid.UUID | None = None, *, of: uuid.UUID | None = None) -> None:
    """Serialise claims of one workspace until commit: by id, or ``of`` an execution's.

    A PostgreSQL advisory lock; SQLite serialises writers anyway.
    """
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    if of is not None:
        connection.execute(_LOCK_WORKSPACE_OF, {"execution_id": of})
    else:
        connection.execute(_LOCK_WORKSPACE, {"workspace_id": workspace_id})


def _concurrency_of(workspace: ColumnElement[Any]) -> ScalarSelect[Any]:
    """The workspace's concurrency limit, from its plan (0 or missing: the default)."""
    return (
        select(
            func.coalesce(
                func.nullif(_P.c.limits["concurrency"].as_integer(), 0), DEFAULT_CONCURRENCY
            )
        )
        .select_from(_W.join(_P, _P.c.id == _W.c.plan_id))
        .where(_W.c.id == workspace)
        .scalar_subquery()
    )


_WORKSPACE_ID = bindparam("workspace_id", type_=_E.c.workspace_id.type)
_CONCURRENCY = _concurrency_of(_E.c.workspace_id).correlate(_E)
_SLOTS = select(_concurrency_of(_WORKSPACE_ID))
# "queued" is written into the statement, not bound: a prepared statement's generic plan can
# then use the partial index ix_executions_deferred (status = 'queued' AND deferred_at IS NOT
# NULL) instead of walking every queued run of the workspace, which a backlog makes many.
_QUEUED: ColumnElement[str] = literal_column("'queued'")
_DEFERRED = (
    select(_E.c.id)
    .where(
        _E.c.workspace_id == _WORKSPACE_ID,
        _E.c.status == _QUEUED,
        _E.c.deferred_at.is_not(None),
    )
    .order_by(_E.c.created_at)
    .limit(bindparam("slots"))
)
_RUNNING = (
    select(func.count())
    .select_from(_OTHER)
    .where(_OTHER.c.workspace_id == _E.c.workspace_id, _OTHER.c.status == "running")
    .correlate(_E)
    .scalar_subquery()
)


def _deferred_in_workspace(*conditions: ColumnElement[bool]) -> Exists:
    return (
        select(_OTHER.c.id)
        .where(
            _OTHER.c.workspace_id == _E.c.workspace_id,
            _OTHER.c.status == _QUEUED,
            _OTHER.c.deferred_at.is_not(None),
            *conditions,
        )
        .correlate(_E)
        .exists()
    )


# A run of the execution's workspace waits for a slot (read by finish, after the lock).
DEFERRED_IN_WORKSPACE = _deferred_in_workspace()
# An older run of the workspace already waits for a slot: FIFO, this one waits behind it.
_OLDER_DEFERRED = _deferred_in_workspace(_OTHER.c.created_at < _E.c.created_at)
_WORKFLOW_NAME = (
    select(Workflow.name).where(Workflow.id == _E.c.workflow_id).correlate(_E).scalar_subquery()
)


def _take_statement(*conditions: ColumnElement[bool]) -> Update:
    return (
        update(_E)
        .where(
            _E.c.id == _ID,
            or_(
                _E.c.status == "queued",
                and_(_E.c.status == "running", _E.c.lease_expires_at < _NOW),
            ),
            *conditions,
        )
        .values(
            status="running",
            started_at=func.coalesce(_E.c.started_at, _NOW),
            deliveries=_E.c.deliveries + 1,
            claim_token=_E.c.claim_token + 1,
            lease_expires_at=bindparam("lease", type_=_E.c.lease_expires_at.type),
            deferred_at=None,
        )
        .returning(
            _E.c.workspace_id,
            _E.c.workflow_id,
            _E.c.workflow_version_id,
            _E.c.mode,
            _E.c.trigger_node_id,
            _E.c.input_items,
            _E.c.state,
            _E.c.started_at,
            _E.c.claim_token,
            _E.c.depth,
            _E.c.created_at,
            _E.c.deliveries,
            _E.c.request_id,
            _WORKFLOW_NAME,
        )
    )


# The common case in one statement: claimable, not canceled, not poison, and a free slot
# with nobody older waiting (a running run whose lease expired already holds its slot).
_TAKE_IF_ROOM = _take_statement(
    _E.c.cancel_requested == false(),
    _E.c.deliveries < bindparam("max_deliveries"),
    or_(_E.c.status == "running", and_(_RUNNING < _CONCURRENCY, ~_OLDER_DEFERRED)),
)
_TAKE = _take_statement()
_INSPECT = select(
    _E.c.status,
    _E.c.lease_expires_at,
    _E.c.cancel_requested,
    _E.c.deliveries,
    _RUNNING.label("running"),
    _CONCURRENCY.label("concurrency"),
    _OLDER_DEFERRED.label("older_deferred"),
    _E.c.mode,
).where(_E.c.id == _ID)


def lease_length() -> timedelta:
    """How long a claim or a renewal holds the run (``EXECUTION_LEASE_SECONDS``)."""
    return timedelta(seconds=int(current_app.config["EXECUTION_LEASE_SECONDS"]))


def claim(execution_id: uuid.UUID) -> Claim | Held | None:
    """Move ``queued`` (or ``running`` with an expired lease) to ``running`` for this worker.

    Returns ``Held`` while another worker's lease is live, and ``None`` when there is nothing
    to do: unknown, finished, waiting, canceled, deferred by the workspace's concurrency
    limit, or failed as poison after ``EXECUTION_MAX_DELIVERIES`` deliveries.
    """
    now = utcnow()
    params = {
        "execution_id": execution_id,
        "now": now,
        "lease": now + lease_length(),
        "max_deliveries": int(current_app.config["EXECUTION_MAX_DELIVERIES"]),
    }
    lock_workspace(of=execution_id)  # the counts below then see every committed claim
    connection = db.session.connection()
    row = connection.execute(_TAKE_IF_ROOM, params).first()
    if row is None:
        return _not_taken(params)
    db.session.commit()
    tasklogs.annotate_claim(row.workspace_id, row.deliveries, row.request_id)
    return _claimed(execution_id, row, now)


def claim_inline(execution_id: uuid.UUID) -> Claim | None:
    """Claim a queued sub-execution for the worker that runs its parent, in that worker.

    No concurrency check: the child runs inside its parent's slot (waiting for a slot of
    its own could wait for the parent itself). ``None`` when it is no longer queued.
    """
    now = utcnow()
    params = {"execution_id": execution_id, "now": now, "lease": now + lease_length()}
    row = db.session.connection().execute(_TAKE, params).first()
    db.session.commit()
    return None if row is None else _claimed(execution_id, row, now)


def _not_taken(params: Mapping[str, Any]) -> Claim | Held | None:
    """Why the one-statement claim did not take the run, and what follows (lock still held)."""
    execution_id, now = params["execution_id"], params["now"]
    connection = db.session.connection()
    state = connection.execute(_INSPECT, params).first()
    if state is None or state.status not in ("queued", "running"):
        db.session.rollback()
        return None
    if state.status == "running" and (state.lease_expires_at or now) > now:
        db.session.rollback()
        return Held((state.lease_expires_at - now).total_seconds() + 1)
    if state.cancel_requested:
        _end(execution_id, "canceled", {"message": "Execucao cancelada."}, state.mode)
        return None
    if state.deliveries >= params["max_deliveries"]:
        message = (
            f"A execucao falhou apos {state.deliveries} tentativas de entrega "
            "(o worker parou durante cada uma)."
        )
        _end(execution_id, "failed", {"message": message, "type": "poison"}, state.mode)
        return None
    if state.status == "queued" and (state.running >= state.concurrency or state.older_deferred):
        set_values(_BY_ID, {"deferred_at": now}, {"execution_id": execution_id})
        db.session.commit()
        return None
    row = connection.execute(_TAKE, params).first()  # a slot was freed in between
    db.session.commit()
    return None if row is None else _claimed(execution_id, row, now)


def _claimed(execution_id: uuid.UUID, row: Row[Any], now: datetime) -> Claim:
    snapshot = ClaimedExecution(
        id=execution_id,
        workspace_id=row.workspace_id,
        workflow_id=row.workflow_id,
        workflow_version_id=row.workflow_version_id,
        mode=row.mode,
        trigger_node_id=row.trigger_node_id,
        input_items=row.input_items,
        state=row.state,
        started_at=row.started_at,
        token=row.claim_token,
        depth=row.depth,
    )
    if row.started_at == now:  # its first start (a resume or redelivery keeps started_at)
        instruments.execution_started(row.mode, (now - row.created_at).total_seconds())
    return Claim(snapshot, row[-1])


def _end(execution_id: uuid.UUID, status: str, error: dict[str, Any], mode: str) -> None:
    workspace_id = set_values(
        _UNFINISHED_BY_ID,
        {"status": status, "finished_at": utcnow(), "lease_expires_at": None, "error": error},
        {"execution_id": execution_id},
        returning=_E.c.workspace_id,
    )
    db.session.commit()
    if workspace_id is not None:
        instruments.execution_finished(mode, status, None)
        wake_deferred(workspace_id)
        if status == "failed":
            errorflows.start_after_end(execution_id)


def deferred_runs(workspace_id: uuid.UUID) -> list[uuid.UUID]:
    """The oldest runs the concurrency limit held back (FIFO), as many as the limit's slots.

    Call with the workspace lock held until commit (``lock_workspace``), so a concurrent
    claim cannot defer a run behind this read; each claim re-checks the limit.
    """
    connection = db.session.connection()
    params: dict[str, Any] = {"workspace_id": workspace_id}
    params["slots"] = connection.execute(_SLOTS, params).scalar_one()
    return list(connection.execute(_DEFERRED, params).scalars())


def wake_deferred(workspace_id: uuid.UUID) -> None:
    """Publish the runs waiting for a slot after one ended outside a normal finish."""
    lock_workspace(workspace_id)
    waiting = deferred_runs(workspace_id)
    db.session.commit()
    dispatch.send_runs([str(execution_id) for execution_id in waiting])


# WHERE clauses of ``set_values`` (module constants: its statement cache is keyed by them).
_BY_ID = _E.c.id == _ID
_UNFINISHED_BY_ID = and_(_E.c.id == _ID, _E.c.status.in_(("queued", "running")))
# Every write a claimed run makes: still running, still its claim.
OWNED = and_(_E.c.id == _ID, _E.c.status == "running", _E.c.claim_token == _TOKEN)


@lru_cache(maxsize=64)
def _set_statement(
    where: ColumnElement[bool], columns: tuple[tuple[str, bool], ...], returning: Any
) -> Update:
    """``UPDATE executions SET <columns> WHERE <where>``, built once per shape.

    ``where`` must be a module-level clause (the cache compares it by identity). ``None``
    values are written as SQL NULL, everything else is bound.
    """
    values = {
        name: null() if is_none else bindparam(f"set_{name}", type_=_E.c[name].type)
        for name, is_none in columns
    }
    statement = update(_E).where(where).values(values)
    return statement.returning(returning) if returning is not None else statement


def set_values(
    where: ColumnElement[bool],
    values: Mapping[str, Any],
    params: Mapping[str, Any],
    returning: Any = None,
) -> Any:
    """Run the cached UPDATE of ``values`` on the executions matching ``where``.

    Returns the single returned value when ``returning`` is given, else the row count.
    """
    shape = tuple((name, value is None) for name, value in sorted(values.items()))
    bound = {f"set_{name}": value for name, value in values.items() if value is not None}
    result = db.session.connection().execute(
        _set_statement(where, shape, returning), {**params, **bound}
    )
    if returning is not None:
        return result.scalar_one_or_none()
    return result.rowcount


_RENEW = (
    update(_E)
    .where(OWNED)
    .values(lease_expires_at=bindparam("lease", type_=_E.c.lease_expires_at.type))
    .returning(_E.c.cancel_requested)
)


def renew_lease_on(
    connection: Connection, execution_id: uuid.UUID, token: int, length: timedelta
) -> bool | None:
    """Extend the lease by ``length`` on ``connection`` (the caller commits).

    Returns whether a cancel was requested, or ``None`` when the run is no longer this
    claim's (finished, or taken over by another worker).
    """
    params = {"execution_id": execution_id, "token": token, "lease": utcnow() + length}
    flag = connection.execute(_RENEW, params).scalar_one_or_none()
    return None if flag is None else bool(flag)


def renew_lease(execution_id: uuid.UUID, token: int) -> bool | None:
    """Extend the lease in the run's session and commit; see ``renew_lease_on``."""
    flag = renew_lease_on(db.session.connection(), execution_id, token, lease_length())
    db.session.commit()
    return flag
