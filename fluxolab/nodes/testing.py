"""Single-node tests: the API records and waits (bounded), a worker runs the node for real.

API side: ``start_test`` inserts a ``queued`` row, registers a completion waiter, publishes
``nodes.test`` after the commit and waits up to ``NODE_TEST_WAIT_SECONDS`` without holding a
database connection (``fluxolab.completion``); ``get_test`` reads a result later. Worker
side: ``run_test`` claims the row (queued -> running, so a redelivery is a no-op), runs the
node with the same engine, limits, egress guard and sandbox as a run, stores the result and
signals. Node tests never touch the plan's execution quota. ``prune`` deletes expired rows
and fails tests no worker finished in time.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app
from sqlalchemy import Table, bindparam, delete, insert, select, update

from fluxolab import completion, dispatch, engine
from fluxolab.engine.registry import registry
from fluxolab.errors import NotFound, ServiceUnavailable, ValidationFailed
from fluxolab.executions.items import to_items
from fluxolab.executions.runner import engine_limits
from fluxolab.executions.services import record_usage, run_services
from fluxolab.extensions import db
from fluxolab.models import NODE_TEST_FINISHED, NodeTest, utcnow

NODE_ID = "node-test"
STALE_GRACE = timedelta(seconds=60)  # past its time limit plus this, an unfinished test failed
PRUNE_BATCH = 1000
_NT = cast(Table, NodeTest.__table__)
# The hot path's statements, built once (building them costs more CPU than sending them).
_ID = bindparam("test_id", type_=_NT.c.id.type)
_NOW = bindparam("now", type_=_NT.c.finished_at.type)
_INSERT = insert(_NT)
_READ = select(_NT.c.status, _NT.c.result).where(_NT.c.id == _ID)
_CLAIM = (
    update(_NT)
    .where(_NT.c.id == _ID, _NT.c.status == "queued")
    .values(status="running", started_at=_NOW)
    .returning(_NT.c.workspace_id, _NT.c.node_type, _NT.c.request)
)
_STORE = (
    update(_NT)
    .where(_NT.c.id == _ID, _NT.c.status.in_(bindparam("from_statuses", expanding=True)))
    .values(
        status=bindparam("new_status", type_=_NT.c.status.type),
        result=bindparam("new_result", type_=_NT.c.result.type),
        finished_at=_NOW,
    )
)


@dataclass(frozen=True)
class TestView:
    """What the API answers about one test: its id, status and, once finished, its result."""

    test_id: uuid.UUID
    status: str  # queued | running | succeeded | failed
    result: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in NODE_TEST_FINISHED


def completion_key(test_id: uuid.UUID) -> str:
    """The completion-signal key of a node test."""
    return f"node-test:{test_id}"


# --- API side -------------------------------------------------------------------------------


def _request(
    node_type: str, config: Mapping[str, Any], input_data: Any, credential_id: str | None
) -> dict[str, Any]:
    """Check the test request; return what is stored. Raises ``ValidationFailed`` (422)."""
    known = registry.get(node_type)
    if known is None:
        raise ValidationFailed(
            f"Tipo de no desconhecido: '{node_type}'.",
            errors={"nodeType": [f"Unknown node type '{node_type}'"]},
        )
    items = to_items(input_data)
    if credential_id is not None and "credentialId" not in known.config_schema.get(
        "properties", {}
    ):
        raise ValidationFailed(
            f"O no '{known.type}' nao usa credencial.",
            errors={"credentialId": [f"Node type '{known.type}' takes no credential"]},
        )
    return {"config": dict(config), "inputData": items, "credentialId": credential_id}


def start_test(
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    node_type: str,
    config: Mapping[str, Any],
    input_data: Any,
    credential_id: str | None = None,
) -> TestView:
    """Record a test, publish it and wait (bounded) for its result.

    Returns the finished test, or the pending one when the wait ran out or too many callers
    already wait in this process (then at once). Raises ``ValidationFailed`` for an unknown
    node type or bad input, ``ServiceUnavailable`` when the broker is down (the row is then
    failed, so polling it shows why).
    """
    request = _request(node_type, config, input_data, credential_id)
    config_ = current_app.config
    now = utcnow()
    test_id = uuid.uuid4()
    db.session.connection().execute(
        _INSERT,
        {
            "id": test_id,
            "workspace_id": workspace_id,
            "user_id": user_id,
            "node_type": node_type[:64],
            "request": request,
            "status": "queued",
            "created_at": now,
            "expires_at": now + timedelta(seconds=int(config_["NODE_TEST_RESULT_TTL_SECONDS"])),
        },
    )
    db.session.commit()
    wait_s = float(config_["NODE_TEST_WAIT_SECONDS"])
    waiter = completion.hub().register(completion_key(test_id)) if wait_s > 0 else None
    try:
        if not dispatch.enqueue_node_test(test_id):
            _fail(test_id, "O broker de tarefas esta indisponivel.", "unavailable", ("queued",))
            raise ServiceUnavailable(
                "Nao foi possivel enviar o teste ao worker (broker indisponivel); "
                "tente novamente em instantes.",
                retry_after=5,
            )
        if waiter is None:
            return TestView(test_id, "queued")
        return _wait(test_id, waiter, wait_s)
    finally:
        if waiter is not None:
            waiter.close()


def _read(test_id: uuid.UUID) -> TestView:
    row = db.session.connection().execute(_READ, {"test_id": test_id}).one()
    return TestView(test_id, row.status, row.result)


def _wait(test_id: uuid.UUID, waiter: completion.Waiter, wait_s: float) -> TestView:
    """Wait (bounded, holding no connection) until the test finished or ``wait_s`` passed."""
    db.session.close()  # give the connection back before waiting

    def read() -> TestView:
        view = _read(test_id)
        db.session.close()
        return view

    return completion.wait_for(waiter, wait_s, read, lambda view: view.finished)


def get_test(workspace_id: uuid.UUID, user_id: uuid.UUID, test_id: uuid.UUID) -> TestView:
    """Return one of the caller's tests; another user's, workspace's or an expired one is 404."""
    row = db.session.execute(
        select(NodeTest.status, NodeTest.result).where(
            NodeTest.id == test_id,
            NodeTest.workspace_id == workspace_id,
            NodeTest.user_id == user_id,
            NodeTest.expires_at > utcnow(),
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Teste de no nao encontrado (ou expirado).")
    return TestView(test_id, row.status, row.result)


# --- worker side ---------------------------------------------------------------------------


def run_test(test_id: uuid.UUID) -> str:
    """Claim and run one test, store its result and signal; a second delivery is a no-op.

    Lets ``SoftTimeLimitExceeded`` (the node-test time limit) escape; the task then calls
    ``fail_running``.
    """
    claimed = (
        db.session.connection().execute(_CLAIM, {"test_id": test_id, "now": utcnow()}).one_or_none()
    )
    db.session.commit()
    if claimed is None:
        return "skipped"
    context = _context(test_id, claimed.workspace_id)
    step = engine.run_node(
        _node(claimed.node_type, claimed.request),
        list(claimed.request.get("inputData") or []),
        context,
    )
    status = "succeeded" if step.status == "succeeded" else "failed"
    record_usage(context.services)  # the credential's lastUsedAt, committed with the result
    _finish(test_id, status, result_of(step), ("running",))
    return status


def _node(node_type: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The one-node definition a test runs (the credential goes into its params).

    Its ``timeoutMs`` is the node-test time limit, so the engine interrupts the node (and
    the Code sandbox kills its child) at that deadline like a run's node timeout.
    """
    params = dict(request.get("config") or {})
    if request.get("credentialId") is not None:
        params["credentialId"] = request["credentialId"]
    known = registry.get(node_type)
    timeout_ms = max(1, int(float(current_app.config["NODE_TEST_TIMEOUT_SECONDS"]) * 1000))
    return {
        "id": NODE_ID,
        "name": known.name if known else node_type,
        "type": node_type,
        "params": params,
        "settings": {"timeoutMs": timeout_ms},
    }


def _context(test_id: uuid.UUID, workspace_id: uuid.UUID) -> engine.RunContext:
    limits = dataclasses.replace(
        engine_limits(), run_timeout_s=float(current_app.config["NODE_TEST_TIMEOUT_SECONDS"])
    )
    return engine.RunContext(
        execution_id=f"node-test-{test_id}",
        workflow={"id": None, "name": "Teste de no"},
        mode="test",
        limits=limits,
        fatal=(SoftTimeLimitExceeded,),
        services=run_services(workspace_id),
    )


def result_of(step: engine.StepRecord) -> dict[str, Any]:
    """The stored (and answered) result of a test: ``{success, output, logs, durationMs}``.

    ``output`` is the step's output by port (``{"main": [{"json": ...}]}``; ``true``/``false``
    for a branch), already truncated to the step byte limit; ``error`` is set on failure.
    """
    result: dict[str, Any] = {
        "success": step.status == "succeeded",
        "output": step.output,
        "logs": step.logs,
        "durationMs": round(step.duration_ms, 3),
    }
    if step.error is not None:
        result["error"] = step.error
    return result


def _finish(
    test_id: uuid.UUID, status: str, result: dict[str, Any], from_statuses: tuple[str, ...]
) -> bool:
    """Store the outcome if the test is still in ``from_statuses``; commit, then signal."""
    params = {
        "test_id": test_id,
        "from_statuses": list(from_statuses),
        "new_status": status,
        "new_result": result,
        "now": utcnow(),
    }
    stored = db.session.connection().execute(_STORE, params).rowcount
    db.session.commit()
    if stored:
        completion.notify(completion_key(test_id))
    return bool(stored)


def _failure(message: str, kind: str) -> dict[str, Any]:
    """The result of a test that failed outside the node (time limit, broker, worker)."""
    return {
        "success": False,
        "output": {},
        "logs": [],
        "durationMs": 0,
        "error": {"message": message, "type": kind},
    }


def _fail(test_id: uuid.UUID, message: str, kind: str, from_statuses: tuple[str, ...]) -> bool:
    return _finish(test_id, "failed", _failure(message, kind), from_statuses)


def fail_running(test_id: uuid.UUID, message: str, kind: str) -> None:
    """End a running test as failed after the worker itself failed (time limit, a bug)."""
    db.session.rollback()
    _fail(test_id, message, kind, ("running",))


def prune() -> dict[str, int]:
    """Delete expired tests (batches) and fail those no worker finished within their limit."""
    config = current_app.config
    now = utcnow()
    limit = float(config["NODE_TEST_WAIT_SECONDS"]) + float(config["NODE_TEST_TIMEOUT_SECONDS"])
    stale = (
        db.session.connection()
        .execute(
            update(NodeTest)
            .where(
                NodeTest.status.in_(("queued", "running")),
                NodeTest.created_at < now - timedelta(seconds=limit) - STALE_GRACE,
            )
            .values(
                status="failed",
                finished_at=now,
                result=_failure("Nenhum worker concluiu o teste a tempo.", "lost"),
            )
        )
        .rowcount
    )
    db.session.commit()
    removed = 0
    expired = select(NodeTest.id).where(NodeTest.expires_at <= now).limit(PRUNE_BATCH)
    while ids := db.session.execute(expired).scalars().all():
        db.session.execute(delete(NodeTest).where(NodeTest.id.in_(ids)))
        db.session.commit()
        removed += len(ids)
    return {"expired": removed, "failed": int(stale)}
