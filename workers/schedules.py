"""Beat's schedule tick (queue ``maintenance``): fire the due schedule triggers."""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task

from fluxolab.schedules import scheduler

log = logging.getLogger(__name__)


@shared_task(name="maintenance.fire_schedules")
def fire_schedules() -> dict[str, int]:
    """Create one execution per due time of every active schedule (safe to run twice)."""
    report = asdict(scheduler.fire_due())
    if any(report.values()):
        log.info("schedules fired: %s", report)
    return report


@shared_task(name="maintenance.prune_schedule_fires")
def prune_schedule_fires() -> int:
    """Delete fired-due-time records past the execution retention age."""
    removed = scheduler.prune_fires()
    if removed:
        log.info("pruned %d schedule fire records", removed)
    return removed
