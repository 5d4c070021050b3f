"""Query plans of the per-execution statements that must stay cheap under a backlog.

A finish looks for a run of the workspace waiting for a slot; a claim looks for an older
one. Both must use the partial index ``ix_executions_deferred`` also as the generic plan
of a prepared statement (what psycopg runs after five executions): with the status bound
as a parameter the planner could not prove the partial index applies and walked every
queued run of the workspace instead, which made each finish cost O(backlog).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from fluxolab.executions import claim
from fluxolab.extensions import db


def generic_plan(statement: Any, params: dict[str, Any]) -> str:
    """EXPLAIN of ``statement`` prepared and run with its generic plan."""
    compiled = statement.compile(dialect=postgresql.dialect())
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    sql = re.sub(r"%\((\w+)\)s", placeholder, str(compiled))
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    name = f"plan_{uuid.uuid4().hex}"
    connection.exec_driver_sql(f"PREPARE {name} AS {sql}")
    values = ", ".join(f"'{params[key]}'" for key in names)
    rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE {name}({values})").all()
    connection.exec_driver_sql(f"DEALLOCATE {name}")
    return "\n".join(row[0] for row in rows)


@pytest.fixture(autouse=True)
def postgres_only(app_ctx: Any) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL plans")


def test_the_deferred_runs_of_a_workspace_come_from_the_partial_index() -> None:
    plan = generic_plan(claim._DEFERRED, {"workspace_id": uuid.uuid4(), "slots": 4})
    assert "ix_executions_deferred" in plan, plan


def test_the_finish_looks_for_a_waiting_run_through_the_partial_index() -> None:
    statement = select(claim._E.c.id).where(claim._E.c.id == claim._ID, claim.DEFERRED_IN_WORKSPACE)
    plan = generic_plan(statement, {"execution_id": uuid.uuid4()})
    assert "ix_executions_deferred" in plan, plan
