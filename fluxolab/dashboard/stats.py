"""Execution counts of a workspace's production runs, per bucket (hour or local day).

Production runs are those started outside the editor: modes ``webhook``, ``schedule``,
``form`` and ``error``, plus sub-executions (mode ``subworkflow``) whose chain of
``parent_execution_id`` ends at one of those. Manual runs, retries started by a person,
editor tests and node tests (another table) are not counted. A run is counted in the bucket
of its ``created_at`` (indexed: ``ix_executions_workspace_id_created_at``).

The pieces ``tally`` combines: ``bucket_sums`` (rolled hours, rolled whole days at one row
each and live stretches counted from ``executions``, summed per bucket in one statement)
and ``failing.top_failing`` (the failing workflows of rolled weeks, days and hours and of
live stretches, ranked in one statement). Rolled and live pieces give the same ``Counts``.
Each is a statement built once per shape and run with bound parameters.

Durations: the p95 is computed from a fixed-bucket histogram (``DURATION_BOUNDS_MS``: upper
bounds 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000 ms and an
unbounded last bucket) so the live and rolled paths agree: it is the upper bound of the bucket
holding the nearest-rank 95th percentile, capped at the largest duration seen.
"""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    Select,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, aliased

from fluxolab.extensions import db
from fluxolab.models import (
    DURATION_BOUNDS_MS,
    HISTOGRAM_COLUMNS,
    SUBWORKFLOW_MODE,
    TRIGGER_MODES,
    Execution,
    ExecutionStat,
    ExecutionStatsDay,
    Workspace,
)
from fluxolab.models.base import UTCDateTime

PRODUCTION_MODES = TRIGGER_MODES
FAILED_STATUSES = ("failed", "timed_out")
SUCCEEDED = "succeeded"
P95 = 0.95
EMPTY_HISTOGRAM = (0,) * len(HISTOGRAM_COLUMNS)

# One workspace (an id or a bound parameter), or a query of workspace ids (the rollup: every
# workspace of a time zone)
Scope = uuid.UUID | BindParameter[Any] | Select[Any]
# a bound instant: the reads are built once per shape and run with parameters
Instant = datetime | BindParameter[Any]


@dataclass(frozen=True)
class Counts:
    """Runs, outcomes and the durations known (finished runs) of some production runs."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    duration_sum_ms: int = 0
    durations: int = 0
    duration_max_ms: int | None = None
    histogram: tuple[int, ...] = EMPTY_HISTOGRAM

    def __add__(self, other: Counts) -> Counts:
        highest = [v for v in (self.duration_max_ms, other.duration_max_ms) if v is not None]
        return Counts(
            self.total + other.total,
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.duration_sum_ms + other.duration_sum_ms,
            self.durations + other.durations,
            max(highest) if highest else None,
            tuple(a + b for a, b in zip(self.histogram, other.histogram, strict=True)),
        )

    @staticmethod
    def add_up(parts: Iterable[Counts]) -> Counts:
        """All of ``parts`` added up (one pass: a window has hundreds of buckets)."""
        totals = [0, 0, 0, 0, 0]
        histogram = [0] * len(HISTOGRAM_COLUMNS)
        highest: int | None = None
        for part in parts:
            totals[0] += part.total
            totals[1] += part.succeeded
            totals[2] += part.failed
            totals[3] += part.duration_sum_ms
            totals[4] += part.durations
            if part.duration_max_ms is not None and (
                highest is None or part.duration_max_ms > highest
            ):
                highest = part.duration_max_ms
            for index, count in enumerate(part.histogram):
                histogram[index] += count
        total, succeeded, failed, duration_sum, durations = totals
        return Counts(total, succeeded, failed, duration_sum, durations, highest, tuple(histogram))

    @property
    def avg_duration_ms(self) -> float | None:
        """The mean duration of the finished runs, ``None`` when none finished."""
        return self.duration_sum_ms / self.durations if self.durations else None

    @property
    def p95_duration_ms(self) -> int | None:
        """The upper bound of the histogram bucket holding the nearest-rank 95th percentile,
        capped at the largest duration; ``None`` without durations."""
        if self.durations <= 0 or self.duration_max_ms is None:
            return None
        rank = math.ceil(P95 * self.durations)
        seen = 0
        for index, count in enumerate(self.histogram):
            seen += count
            if seen >= rank:
                if index < len(DURATION_BOUNDS_MS):
                    return min(DURATION_BOUNDS_MS[index], self.duration_max_ms)
                break
        return self.duration_max_ms


def in_scope(column: InstrumentedAttribute[uuid.UUID], scope: Scope) -> ColumnElement[bool]:
    """``column`` is the workspace, or one of the workspaces, of ``scope``."""
    return column.in_(scope) if isinstance(scope, Select) else column == scope


def _production_subruns(
    scope: Scope,
    start: Instant,
    end: Instant,
    statuses: Sequence[str] | None = None,
    name: str = "subrun_chain",
) -> Select[Any]:
    """Ids of the window's sub-executions (of ``statuses`` when given) whose root run is a
    production run.

    A recursive walk up ``parent_execution_id`` (bounded by the sub-workflow depth limit);
    a chain whose parent row was pruned is not production (nothing proves it was).
    """
    anchor = (
        select(
            Execution.id.label("id"),
            Execution.parent_execution_id.label("parent_id"),
            Execution.mode.label("mode"),
        )
        .where(
            in_scope(Execution.workspace_id, scope),
            Execution.mode == SUBWORKFLOW_MODE,  # a run without its parent row drops out below
            Execution.created_at >= start,
            Execution.created_at < end,
            *([Execution.status.in_(statuses)] if statuses else []),
        )
        .cte(name, recursive=True)
    )
    parent = aliased(Execution)
    chain = anchor.union_all(
        select(anchor.c.id, parent.parent_execution_id, parent.mode)
        .join(parent, parent.id == anchor.c.parent_id)
        .where(anchor.c.mode == SUBWORKFLOW_MODE, in_scope(parent.workspace_id, scope))
    )
    return select(chain.c.id).where(chain.c.mode.in_(PRODUCTION_MODES))


def production(
    scope: Scope,
    start: Instant,
    end: Instant,
    statuses: Sequence[str] | None = None,
    name: str = "subrun_chain",
) -> ColumnElement[bool]:
    """The condition "this execution of the window is a production run" (for executions of
    ``statuses`` only, when given: the sub-execution walk starts from those; ``name``: the
    walk's CTE, one per window of a statement)."""
    return or_(
        Execution.mode.in_(PRODUCTION_MODES),
        Execution.id.in_(_production_subruns(scope, start, end, statuses, name)),
    )


def run(statement: Any, params: dict[str, Any]) -> list[Any]:
    """Run a prebuilt read on the session's connection (Core rows, no ORM layer), all its
    rows fetched at once."""
    return list(db.session.connection().execute(statement, params).all())


def dialect() -> str:
    """The session's database dialect name (``postgresql`` or ``sqlite``)."""
    return db.session.get_bind().dialect.name


WORKSPACE = bindparam("workspace_id", type_=Uuid())
START = bindparam("start", type_=UTCDateTime())
END = bindparam("end", type_=UTCDateTime())


def spans_condition(column: Any, count: int, name: str = "span") -> ColumnElement[bool]:
    """``column`` lies in one of ``count`` half-open spans, bound as ``<name>_low_<n>`` and
    ``<name>_high_<n>`` (``span_params``)."""
    return or_(
        *(
            and_(column >= bindparam(f"{name}_low_{n}"), column < bindparam(f"{name}_high_{n}"))
            for n in range(count)
        )
    )


def span_params(spans: Sequence[tuple[Any, Any]], name: str = "span") -> dict[str, Any]:
    """The parameters of ``spans_condition`` for ``spans``."""
    params: dict[str, Any] = {}
    for n, (low, high) in enumerate(spans):
        params[f"{name}_low_{n}"], params[f"{name}_high_{n}"] = low, high
    return params


def rolled_totals(
    workspace_id: uuid.UUID, days: Iterable[date], *, exclude_mode: str | None = None
) -> dict[date, int]:
    """All runs (production or not) of each rolled day of ``days``, but those of
    ``exclude_mode``."""
    stat = ExecutionStat
    stmt = (
        select(stat.day, func.sum(stat.total))
        .where(stat.workspace_id == workspace_id, stat.day.in_(list(days)))
        .group_by(stat.day)
    )
    if exclude_mode is not None:
        stmt = stmt.where(stat.mode != exclude_mode)
    return {day: int(total or 0) for day, total in db.session.execute(stmt)}


def _inline(number: int) -> ColumnElement[int]:
    """A constant written into the SQL (not a parameter): shorter statements, which the
    driver then caches as prepared ones."""
    return literal_column(str(int(number)), Integer)


def histogram_sums(duration: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """``sum`` per histogram bucket of ``duration`` (ms; NULL is in no bucket), in
    ``HISTOGRAM_COLUMNS`` order."""
    sums: list[ColumnElement[Any]] = []
    lower: int | None = None
    for bound in (*DURATION_BOUNDS_MS, None):
        conditions = []
        if lower is not None:
            conditions.append(duration > _inline(lower))
        if bound is not None:
            conditions.append(duration <= _inline(bound))
        sums.append(func.sum(case((and_(*conditions), _inline(1)), else_=_inline(0))))
        lower = bound
    return sums


def index_of(
    column: Any, low: int, high: int, type_: Any = None, name: str = "bucket_starts"
) -> ColumnElement[int]:
    """The position, among the bound span starts ``<name>_<low>`` .. ``<name>_<high - 1>``
    (sorted), of the span holding ``column`` (at or after the first): a balanced tree of
    ``CASE column < start``, about log2(n) comparisons per row, exact for spans of any
    length (DST)."""
    if high - low == 1:
        return literal(low, Integer)
    middle = (low + high) // 2
    return case(
        (
            column < bindparam(f"{name}_{middle}", type_=type_ or UTCDateTime()),
            index_of(column, low, middle, type_, name),
        ),
        else_=index_of(column, middle, high, type_, name),
    )


def bucket_number(
    column: Any, count: int, dialect_name: str, type_: Any = None, name: str = "bucket_starts"
) -> ColumnElement[int]:
    """The position among ``count`` bound span starts (``bucket_params``; instants, or
    ``type_`` values such as dates; bound as ``name``) of the span holding ``column``:
    PostgreSQL's ``width_bucket`` over one array parameter, the ``CASE`` tree of
    ``index_of`` elsewhere."""
    if dialect_name == "postgresql":
        # one text parameter cast to the array type (``bucket_params`` writes it): cheaper to
        # send than a list the driver dumps element by element; cast once, in an InitPlan
        # (the cast is stable, not immutable: in a prepared plan it would run for every row)
        text_edges = bindparam(name, type_=Text())
        edges = select(cast(text_edges, ARRAY(type_ or UTCDateTime()))).scalar_subquery()
        return func.width_bucket(column, edges) - 1
    return index_of(column, 0, count, type_, name)


def bucket_shape(count: int, dialect_name: str) -> int:
    """What a statement with ``bucket_number`` depends on: nothing on PostgreSQL, the count
    elsewhere (the key of the statement caches)."""
    return 0 if dialect_name == "postgresql" else count


def bucket_params(
    starts: Sequence[Any], dialect_name: str, name: str = "bucket_starts"
) -> dict[str, Any]:
    """The parameters of ``bucket_number`` for the span starts ``starts``."""
    if dialect_name == "postgresql":
        return {name: "{" + ",".join(start.isoformat() for start in starts) + "}"}
    return {f"{name}_{n}": start for n, start in enumerate(starts)}


def start_of(column: Any, starts: Sequence[datetime], low: int, high: int) -> ColumnElement[Any]:
    """Like ``index_of``, the start of the span instead of its position."""
    if high - low == 1:
        return literal(starts[low], UTCDateTime())
    middle = (low + high) // 2
    return case(
        (column < literal(starts[middle], UTCDateTime()), start_of(column, starts, low, middle)),
        else_=start_of(column, starts, middle, high),
    )


def counts_of(values: Sequence[Any]) -> Counts:
    """``Counts`` from (total, succeeded, failed, sum, durations, max, *histogram)."""
    total, succeeded, failed, duration_sum, durations, highest, *histogram = values
    return Counts(
        int(total or 0),
        int(succeeded or 0),
        int(failed or 0),
        int(duration_sum or 0),
        int(durations or 0),
        int(highest) if highest is not None else None,
        tuple(map(int, histogram))
        if None not in histogram
        else tuple(int(v or 0) for v in histogram),
    )


@functools.cache
def _rolled_days_statement() -> Select[date, bool]:
    zone_name = select(Workspace.timezone).where(Workspace.id == WORKSPACE).scalar_subquery()
    return select(ExecutionStatsDay.day, ExecutionStatsDay.hours).where(
        ExecutionStatsDay.timezone == zone_name,
        ExecutionStatsDay.day >= bindparam("first_day", type_=Date()),
        ExecutionStatsDay.day <= bindparam("last_day", type_=Date()),
    )


def rolled_days(workspace_id: uuid.UUID, first: date, last: date) -> dict[date, bool]:
    """The local days from ``first`` to ``last`` the rollup has rolled for the workspace's
    time zone, each with whether all its hours are in ``execution_stats_hours``."""
    params = {"workspace_id": workspace_id, "first_day": first, "last_day": last}
    rows = run(_rolled_days_statement(), params)
    return {day: bool(hours) for day, hours in rows}


def day_spans(days: Iterable[date], step: int = 1) -> list[tuple[date, date]]:
    """``days`` as sorted half-open ranges ``[first, last + step)`` of days ``step`` apart."""
    spans: list[tuple[date, date]] = []
    for day in sorted(days):
        if spans and spans[-1][1] == day:
            spans[-1] = (spans[-1][0], day + timedelta(days=step))
        else:
            spans.append((day, day + timedelta(days=step)))
    return spans
