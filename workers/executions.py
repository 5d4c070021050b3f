"""Execution tasks (queue ``executions``): thin wrappers around the runner service."""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init
from sqlalchemy.exc import OperationalError

from fluxolab.executions import runner
from fluxolab.executions.claim import Held

log = logging.getLogger(__name__)
DB_RETRIES = 5


@shared_task(
    name="executions.run", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None
)
def run(self: Task, execution_id: str) -> str:
    """Claim and run one execution; duplicate deliveries are no-ops (the claim decides).

    A run held by a live worker is retried after its lease; a database outage is retried
    with backoff; any other failure of the worker itself fails the run with a clear error.
    """
    run_id = uuid.UUID(execution_id)
    try:
        with soft_time_limit(self.app.conf.task_soft_time_limit):
            outcome = runner.run_execution(run_id)
    except SoftTimeLimitExceeded:
        runner.fail_running(run_id, "timed_out", "A execucao excedeu o tempo do worker.", "timeout")
        outcome = "timed_out"
    except runner.LeaseLost as exc:
        log.warning("%s", exc)
        outcome = "lost"
    except OperationalError as exc:
        if self.request.retries >= DB_RETRIES:
            raise
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
    except Exception:
        log.exception("execution %s failed inside the worker", execution_id)
        runner.fail_running(run_id, "failed", "Erro interno do worker ao executar.", "internal")
        outcome = "failed"
    if isinstance(outcome, Held):
        raise self.retry(countdown=outcome.retry_after)
    log.info("execution %s: %s", execution_id, outcome)
    return outcome


_pool_enforces_limits = False


@worker_init.connect
def _note_pool(sender: Any = None, **_: Any) -> None:
    """Prefork pools get Celery's own time limits (their processes inherit this flag)."""
    global _pool_enforces_limits
    _pool_enforces_limits = "prefork" in str(getattr(sender, "pool_cls", "")).lower()


@contextmanager
def soft_time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``SoftTimeLimitExceeded`` in the task after ``seconds`` where Celery would not.

    Celery enforces time limits only in prefork pools; execution workers run ``--pool solo``
    (one process per core), where this interval timer (``SIGALRM``) keeps the same limit.
    In a prefork child it does nothing (a second timer could interrupt the timeout handling).
    Outside the main thread (the ``threads`` pool) signals cannot be used: no limit.
    """
    if (
        not seconds
        or _pool_enforces_limits
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise SoftTimeLimitExceeded(f"task exceeded its soft time limit of {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
