"""The intake's write as a transaction of its own (real commits, no rolled-back outer one).

A call whose webhook came from the lookup cache has no transaction open, so its quota
charge, execution and call log go to PostgreSQL as one autocommitted statement. What must
hold there as on the session path: all three or nothing, duplicates answered with the
first run, the quota refusing past its limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, func, select, text

from fluxolab.extensions import db
from fluxolab.models import Execution, Plan, WebhookLog, Workspace
from tests.factories import Account, make_account
from tests.webhooks.helpers import active_hook, hook_flow, url


@pytest.fixture()
def api(app: Flask, committed_db: None) -> Iterator[FlaskClient]:
    with app.app_context():
        yield app.test_client()


@pytest.fixture()
def outside(database_url: str) -> Iterator[Engine]:
    """Another connection: sees only what was committed."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


def _counts(engine: Engine, account: Account) -> tuple[int, int, int]:
    with engine.connect() as conn:
        params = {"ws": account.workspace_id}
        runs = conn.execute(
            text("SELECT count(*) FROM executions WHERE workspace_id = :ws"), params
        )
        logs = conn.execute(
            text("SELECT count(*) FROM webhook_logs WHERE workspace_id = :ws"), params
        )
        used = conn.execute(text("SELECT executions_used FROM workspaces WHERE id = :ws"), params)
        return int(runs.scalar_one()), int(logs.scalar_one()), int(used.scalar_one())


def _post(api: FlaskClient, token: str, **headers: Any) -> Any:
    return api.post(url(token), json={"n": 1}, headers=headers)


def test_cached_calls_are_committed_with_log_and_charge(api: FlaskClient, outside: Engine) -> None:
    owner = make_account()
    _, token = active_hook(api, owner, hook_flow())
    before = _counts(outside, owner)
    alone: list[str] = []

    def watch(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("WITH charged"):
            alone.append(str(conn.get_execution_options().get("isolation_level")))

    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        answers = [_post(api, token) for _ in range(3)]  # the first reads the row, then cached
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
    assert [a.status_code for a in answers] == [202] * 3
    assert alone == ["None", "AUTOCOMMIT", "AUTOCOMMIT"]  # after the lookup: no BEGIN/COMMIT
    runs, logs, used = _counts(outside, owner)
    assert (runs - before[0], logs - before[1], used - before[2]) == (3, 3, 3)
    ids = {uuid.UUID(a.get_json()["executionId"]) for a in answers}
    assert len(ids) == 3
    db.session.remove()
    stored = db.session.scalars(
        select(WebhookLog.execution_id).where(WebhookLog.execution_id.in_(ids))
    )
    assert set(stored) == ids


def test_a_repeated_key_gets_the_first_run(api: FlaskClient, outside: Engine) -> None:
    owner = make_account()
    _, token = active_hook(api, owner, hook_flow())
    assert _post(api, token).status_code == 202  # warm the cache
    first = _post(api, token, **{"Idempotency-Key": "order-7"})
    again = _post(api, token, **{"Idempotency-Key": "order-7"})
    assert first.status_code == again.status_code == 202
    assert first.get_json()["executionId"] == again.get_json()["executionId"]
    other = api.post(url(token), json={"n": 2}, headers={"Idempotency-Key": "order-7"})
    assert other.status_code == 409
    runs, _, used = _counts(outside, owner)
    assert (runs, used) == (2, 2)  # the repeat and the conflict charged nothing


def test_past_the_quota_nothing_is_written(api: FlaskClient, outside: Engine) -> None:
    owner = make_account()
    _, token = active_hook(api, owner, hook_flow())
    assert _post(api, token).status_code == 202  # warm the cache
    workspace = db.session.get(Workspace, owner.workspace_id)
    assert workspace is not None
    plan = Plan(code=f"tiny-{uuid.uuid4().hex[:8]}", name="Tiny", limits={"executions": 1})
    db.session.add(plan)
    db.session.flush()
    workspace.plan_id = plan.id
    db.session.commit()
    refused = _post(api, token)
    assert refused.status_code == 402
    runs, _, used = _counts(outside, owner)
    assert (runs, used) == (1, 1)
    db.session.remove()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Execution)
            .where(Execution.workspace_id == owner.workspace_id)
        )
        == 1
    )
