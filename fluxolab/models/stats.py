"""The nightly rollup of production and other runs per workspace, workflow, local day and mode.

``execution_stats`` holds one row per (workspace, day, workflow, mode, production): counts by
outcome, duration sum/max/count and a fixed-bucket duration histogram (``DURATION_BOUNDS_MS``,
one column per bucket: a run of ``duration_ms`` d is counted in the first bucket whose bound
is >= d, the last bucket is unbounded). ``day`` is the local date of the run's ``created_at``
in the workspace's time zone. ``execution_stats_days`` records which (time zone, day) were
rolled and whether the day is sealed (its rows are never lowered again).

``execution_stats_hours`` holds the production runs of a workspace per local hour (no
workflow or mode), and ``execution_stats_hour_marks`` which (time zone, hour) were rolled and
up to which instant: the dashboard's totals, series and previous periods over any span are
a few hundred of these rows, and the current hour is rolled every minute.
``execution_stats_workspace_days`` adds a workspace's production rows of a day up (one row
per whole day for the dashboard). ``execution_stats_hour_failures`` counts the failed
production runs per (workspace, hour, workflow) for the failing workflows of the last hours,
``execution_stats_week_failures`` per (workspace, week, workflow) for those of long periods.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, utcnow

# Upper bounds (inclusive, milliseconds) of the duration histogram; a last bucket is unbounded.
DURATION_BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000)
HISTOGRAM_COLUMNS = (*(f"duration_le_{bound}" for bound in DURATION_BOUNDS_MS), "duration_le_inf")


class StatValues:
    """The counts of a set of runs: by outcome, durations and the duration histogram."""

    total: Mapped[int] = mapped_column(default=0)
    succeeded: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    canceled: Mapped[int] = mapped_column(default=0)
    timed_out: Mapped[int] = mapped_column(default=0)
    duration_ms_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms_max: Mapped[int | None]
    # finished runs with a known duration
    durations: Mapped[int] = mapped_column(default=0)
    duration_le_10: Mapped[int] = mapped_column(default=0)
    duration_le_25: Mapped[int] = mapped_column(default=0)
    duration_le_50: Mapped[int] = mapped_column(default=0)
    duration_le_100: Mapped[int] = mapped_column(default=0)
    duration_le_250: Mapped[int] = mapped_column(default=0)
    duration_le_500: Mapped[int] = mapped_column(default=0)
    duration_le_1000: Mapped[int] = mapped_column(default=0)
    duration_le_2500: Mapped[int] = mapped_column(default=0)
    duration_le_5000: Mapped[int] = mapped_column(default=0)
    duration_le_10000: Mapped[int] = mapped_column(default=0)
    duration_le_30000: Mapped[int] = mapped_column(default=0)
    duration_le_60000: Mapped[int] = mapped_column(default=0)
    duration_le_300000: Mapped[int] = mapped_column(default=0)
    duration_le_inf: Mapped[int] = mapped_column(default=0)
    # succeeded production runs x the workflow's minutes_saved_per_run when rolled
    time_saved_minutes: Mapped[float] = mapped_column(default=0)
    rolled_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExecutionStat(StatValues, Base):
    """The runs of one workflow, mode and production flag created on one local day."""

    __tablename__ = "execution_stats"
    __table_args__ = (
        # the dashboard's failing workflows over rolled days: an index-only range scan
        Index(
            "ix_execution_stats_production",
            "workspace_id",
            "day",
            postgresql_include=["workflow_id", "failed", "timed_out"],
            postgresql_where=text("production"),
            sqlite_where=text("production"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(16), primary_key=True)
    production: Mapped[bool] = mapped_column(primary_key=True)


class ExecutionStatsHour(StatValues, Base):
    """The production runs of one workspace created in one local hour (its first instant,
    UTC); the dashboard's totals, series and previous periods read these."""

    __tablename__ = "execution_stats_hours"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(primary_key=True)


class ExecutionStatsWorkspaceDay(StatValues, Base):
    """The production runs of one workspace created on one local day: its ``execution_stats``
    production rows added up (the dashboard's whole days, one row each)."""

    __tablename__ = "execution_stats_workspace_days"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)


class ExecutionStatsWeekFailure(Base):
    """The failed or timed-out production runs of one workflow on the seven local days of a
    week (``week`` is its Monday; only pairs with at least one), added up from
    ``execution_stats``: the failing workflows of long periods read a row a week."""

    __tablename__ = "execution_stats_week_failures"
    __table_args__ = (
        # the dashboard's failing workflows over whole weeks: an index-only range scan (the
        # table itself is rewritten week by week, so its pages hold many dead rows)
        Index(
            "ix_execution_stats_week_failures_counts",
            "workspace_id",
            "week",
            postgresql_include=["workflow_id", "failures"],
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    week: Mapped[date] = mapped_column(primary_key=True)
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    failures: Mapped[int]
    rolled_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExecutionStatsHourFailure(Base):
    """The failed or timed-out production runs of one workflow created in one local hour (only
    pairs with at least one): the failing workflows of stretches shorter than a rolled day."""

    __tablename__ = "execution_stats_hour_failures"
    __table_args__ = (
        # the dashboard's failing workflows over rolled hours: an index-only range scan
        Index(
            "ix_execution_stats_hour_failures_counts",
            "workspace_id",
            "hour",
            postgresql_include=["workflow_id", "failures"],
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    failures: Mapped[int]
    rolled_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExecutionStatsHourMark(Base):
    """A local hour of a time zone rolled into ``execution_stats_hours`` from its start up to
    ``rolled_through`` (the hour's end once it is over; earlier for the current hour)."""

    __tablename__ = "execution_stats_hour_marks"

    timezone: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    rolled_through: Mapped[datetime]
    rolled_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExecutionStatsDay(Base):
    """A (time zone, local day) the rollup has rolled; ``sealed`` once it is past re-rolling."""

    __tablename__ = "execution_stats_days"

    timezone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    sealed: Mapped[bool] = mapped_column(default=False)
    # every local hour of the day is in execution_stats_hours (false for days rolled before
    # that table existed, until they are rolled again)
    hours: Mapped[bool] = mapped_column(default=False, server_default=false())
    rolled_at: Mapped[datetime] = mapped_column(default=utcnow)
