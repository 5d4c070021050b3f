"""Execution tasks (queue ``executions``): thin wrappers around the runner service."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from fluxolab.executions import runner

log = logging.getLogger(__name__)


@shared_task(name="executions.run", acks_late=True, reject_on_worker_lost=True)
def run(execution_id: str) -> str:
    """Claim and run one execution; duplicate deliveries are no-ops (the claim decides)."""
    try:
        status = runner.run_execution(uuid.UUID(execution_id))
    except SoftTimeLimitExceeded:
        runner.fail_timed_out(uuid.UUID(execution_id), "A execucao excedeu o tempo do worker.")
        status = "timed_out"
    log.info("execution %s: %s", execution_id, status)
    return status
