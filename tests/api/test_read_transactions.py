"""A successful read ends with COMMIT (its prepared statements survive); a write is never
committed by that, and a failed request keeps its rollback (fluxolab/common/transactions.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient
from sqlalchemy import event, select, text

from fluxolab.common.transactions import commit_reads, is_read
from fluxolab.extensions import db
from fluxolab.models import Workflow
from tests.factories import Account, make_account

REQUESTS = 30


@pytest.mark.parametrize(
    ("statement", "reads"),
    [
        ("SELECT 1", True),
        ("  select id FROM workflows", True),
        ("SELECT workflows.updated_at FROM workflows", True),
        ("SELECT id INTO copy_of_workflows FROM workflows", False),
        ("SELECT id FROM workflows FOR UPDATE", False),
        ("WITH RECURSIVE c(n) AS (SELECT 1) SELECT n FROM c", True),
        ("WITH step AS (INSERT INTO t VALUES (1) RETURNING id) SELECT id FROM step", False),
        ("with gone as (delete from t returning id) select id from gone", False),
        ("INSERT INTO t VALUES (1)", False),
        ("UPDATE t SET a = 1", False),
        ("DELETE FROM t", False),
        ("SET LOCAL work_mem = '64MB'", False),
        ("TRUNCATE t", False),
    ],
)
def test_a_read_is_told_from_anything_else(statement: str, reads: bool) -> None:
    assert is_read(statement) is reads


@pytest.fixture()
def account(committed_db: None, app_ctx: Flask) -> Account:
    """A committed account (``committed_db`` first: its TRUNCATE runs after the context)."""
    db.session.remove()
    db.session.configure(join_transaction_mode="conditional_savepoint")
    return make_account()


@pytest.fixture()
def endings(app: Flask) -> Iterator[list[str]]:
    """How each transaction of the app's engine ends: "commit" or "rollback"."""
    seen: list[str] = []

    def on_commit(_conn: Any) -> None:
        seen.append("commit")

    def on_rollback(_conn: Any) -> None:
        seen.append("rollback")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    yield seen
    event.remove(engine, "commit", on_commit)
    event.remove(engine, "rollback", on_rollback)


def test_a_successful_read_commits_and_keeps_its_prepared_statements(
    account: Account, client: FlaskClient, endings: list[str], app: Flask
) -> None:
    db.session.remove()
    used: list[Any] = []

    def note(conn: Any, *_args: Any) -> None:
        used.append(conn.connection.driver_connection)

    with app.app_context():
        engine = db.engine
    if engine.dialect.driver != "psycopg":
        pytest.skip("prepared statements are psycopg 3's")
    event.listen(engine, "before_cursor_execute", note)
    try:
        # psycopg prepares a statement from its fifth run on a connection; the pool hands
        # its idle connections out in turn (up to 5 of them)
        for _ in range(REQUESTS):
            response = client.get("/api/dashboard/stats?period=7d", headers=account.headers)
            assert response.status_code == 200, response.get_json()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert endings[-REQUESTS:] == ["commit"] * REQUESTS

    last = used[-1]  # the connection of the last request, idle in the pool now
    try:
        prepared = last.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
    finally:
        last.rollback()
    assert prepared > 0


def test_a_failed_read_is_not_committed(
    account: Account, client: FlaskClient, endings: list[str]
) -> None:
    db.session.remove()
    response = client.get("/api/dashboard/stats?period=9x", headers=account.headers)
    assert response.status_code == 422
    assert "commit" not in endings  # closed without a commit: the session rolls back


def test_an_uncommitted_write_of_a_successful_request_is_not_committed(
    account: Account, app: Flask
) -> None:
    db.session.remove()
    with app.test_request_context("/api/anything"):
        db.session.execute(
            text("UPDATE workspaces SET timezone = 'Asia/Tokyo' WHERE id = :id"),
            {"id": account.workspace_id},
        )
        commit_reads(Response(status=200))
        db.session.rollback()
        zone = db.session.execute(
            text("SELECT timezone FROM workspaces WHERE id = :id"), {"id": account.workspace_id}
        ).scalar()
    assert zone != "Asia/Tokyo"


def test_unflushed_changes_of_a_successful_request_are_not_committed(
    account: Account, app: Flask
) -> None:
    db.session.remove()
    with app.test_request_context("/api/anything"):
        db.session.add(Workflow(workspace_id=account.workspace_id, name="never saved"))
        commit_reads(Response(status=200))
        db.session.rollback()
        names = db.session.execute(select(Workflow.name)).scalars().all()
    assert "never saved" not in names
