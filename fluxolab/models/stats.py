"""The nightly rollup of production and other runs per workspace, workflow, local day and mode.

``execution_stats`` holds one row per (workspace, day, workflow, mode, production): counts by
outcome, duration sum/max/count and a fixed-bucket duration histogram (``DURATION_BOUNDS_MS``,
one column per bucket: a run of ``duration_ms`` d is counted in the first bucket whose bound
is >= d, the last bucket is unbounded). ``day`` is the local date of the run's ``created_at``
in the workspace's time zone. ``execution_stats_days`` records which (time zone, day) were
rolled and whether the day is sealed (its rows are never lowered again).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, utcnow

# Upper bounds (inclusive, milliseconds) of the duration histogram; a last bucket is unbounded.
DURATION_BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000)
HISTOGRAM_COLUMNS = (*(f"duration_le_{bound}" for bound in DURATION_BOUNDS_MS), "duration_le_inf")


class ExecutionStat(Base):
    """The runs of one workflow, mode and production flag created on one local day."""

    __tablename__ = "execution_stats"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(16), primary_key=True)
    production: Mapped[bool] = mapped_column(primary_key=True)
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


class ExecutionStatsDay(Base):
    """A (time zone, local day) the rollup has rolled; ``sealed`` once it is past re-rolling."""

    __tablename__ = "execution_stats_days"

    timezone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    sealed: Mapped[bool] = mapped_column(default=False)
    rolled_at: Mapped[datetime] = mapped_column(default=utcnow)
