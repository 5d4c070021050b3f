"""Beat's stats rollup (queue ``maintenance``): roll closed days into ``execution_stats``."""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task

from fluxolab.metrics import instruments
from fluxolab.stats import rollup

log = logging.getLogger(__name__)


@shared_task(name="stats.rollup")
def rollup_execution_stats() -> dict[str, int]:
    """Roll every missed day (bounded) and every day not sealed yet, for every time zone."""
    with instruments.rollup_timer():
        report = asdict(rollup.catch_up())
    if report["days"]:
        log.info("execution stats rolled: %s", report)
    return report
