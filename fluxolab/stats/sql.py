"""SQL pieces shared by the daily and the hourly rollup: the upsert, the lock, the sums, and
running several upserts as one statement."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, case, func, text
from sqlalchemy.dialects import postgresql, sqlite

from fluxolab.dashboard.stats import SUCCEEDED, histogram_sums
from fluxolab.extensions import db

# the value columns of ``StatValues`` in the order ``outcome_sums`` gives them
VALUE_HEAD = (
    "total",
    "succeeded",
    "failed",
    "canceled",
    "timed_out",
    "duration_ms_sum",
    "duration_ms_max",
    "durations",
)


def insert(table: Any) -> Any:
    """The dialect's ``insert`` (both have ``on_conflict_do_update``)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def lock(name: str) -> None:
    """Hold a transaction-scoped advisory lock named ``name`` on PostgreSQL (SQLite
    serialises writers by itself)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    key = zlib.crc32(name.encode())
    db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def roomy() -> None:
    """Tune this transaction for one big aggregate on PostgreSQL: sort and hash in memory (a
    day of a busy workspace is 100,000 rows and more; the default ``work_mem`` spills them to
    disk) and no JIT (compiling the statement cost more than running it: 0.5 s a day)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
        db.session.execute(text("SET LOCAL jit = off"))


def outcome_sums(status: Any, duration: Any) -> list[ColumnElement[Any]]:
    """count, succeeded, failed, canceled, timed out, duration sum, max and count, then the
    histogram: the aggregates of ``VALUE_HEAD`` and ``HISTOGRAM_COLUMNS``."""

    def of(value: str) -> ColumnElement[Any]:
        return func.sum(case((status == value, 1), else_=0))

    return [
        func.count(),
        of(SUCCEEDED),
        of("failed"),
        of("canceled"),
        of("timed_out"),
        func.coalesce(func.sum(duration), 0),
        func.max(duration),
        func.count(duration),
        *histogram_sums(duration),
    ]


def execute_together(statements: Sequence[Any]) -> None:
    """Run ``statements`` (upserts reading the same CTE) as one statement on PostgreSQL,
    the first ones as data-modifying CTEs of the last, so the CTE is computed once; one
    after the other elsewhere (SQLite has no data-modifying CTEs)."""
    if db.session.get_bind().dialect.name != "postgresql":
        for statement in statements:
            db.session.execute(statement)
        return
    *first, last = statements
    ctes = [statement.cte(f"step_{number}") for number, statement in enumerate(first)]
    db.session.execute(last.add_cte(*ctes) if ctes else last)
