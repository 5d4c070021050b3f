"""Beat's stats rollups (queue ``maintenance``): closed days into ``execution_stats`` (hourly),
the current and the previous hour into ``execution_stats_hours`` (every minute)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task

from fluxolab.metrics import instruments
from fluxolab.stats import hours, rollup

log = logging.getLogger(__name__)


@shared_task(name="stats.rollup")
def rollup_execution_stats() -> dict[str, int]:
    """Roll every missed day (bounded) and every day not sealed yet, for every time zone."""
    with instruments.rollup_timer():
        report = asdict(rollup.catch_up())
    if report["days"]:
        log.info("execution stats rolled: %s", report)
    return report


@shared_task(name="stats.roll_recent")
def roll_recent_hours() -> int:
    """Roll the previous and the current local hour of every time zone in use."""
    return hours.roll_recent()
