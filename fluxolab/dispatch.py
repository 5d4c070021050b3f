"""The web side's only link to the workers: enqueue tasks by stable name, after commit.

Call these only after the transaction that created the referenced rows has committed, so
a worker never receives an id it cannot read. Messages carry ids, never secrets.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import current_app

log = logging.getLogger(__name__)


def send(task_name: str, *args: Any, countdown: float | None = None) -> bool:
    """Publish a task; return ``False`` (logged) when the broker cannot be reached.

    Callers that persisted the work first (executions) rely on the beat sweeper to
    re-publish what could not be sent, so a broker outage does not lose accepted work.
    """
    celery = current_app.extensions["celery"]
    try:
        with celery.pool.acquire(block=True) as connection:
            connection.ensure_connection(max_retries=0)  # one attempt: fail fast, no back-off
            celery.send_task(
                task_name,
                args=list(args),
                argsrepr=repr(list(args)),  # ids only: Celery's bounded saferepr is not needed
                kwargsrepr="{}",
                countdown=countdown,
                retry=False,
                connection=connection,
            )
    except Exception as exc:  # kombu raises transport-specific connection errors
        log.warning("could not publish %s%r: %s", task_name, args, exc)
        return False
    return True


def enqueue_maintenance(task_name: str) -> bool:
    """Run a ``maintenance.*`` task now (operators, tests, the standalone smoke test)."""
    if not task_name.startswith("maintenance."):
        raise ValueError(f"not a maintenance task: {task_name}")
    return send(task_name)


def enqueue_node_test(test_id: uuid.UUID) -> bool:
    """Publish ``nodes.test`` (queue ``node_tests``); ``False`` when the broker is down."""
    return send("nodes.test", str(test_id))
