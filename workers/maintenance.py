"""Periodic housekeeping tasks (queue ``maintenance``)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task

from fluxolab.auth import purge

log = logging.getLogger(__name__)


@shared_task(name="maintenance.purge_auth_records")
def purge_auth_records() -> dict[str, int]:
    """Delete expired password-reset requests and spent sessions/refresh tokens."""
    report = asdict(purge.purge_auth_records())
    log.info("purged auth records: %s", report)
    return report
