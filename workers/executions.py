"""Execution tasks (queue ``executions``): thin wrappers around the runner service."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init
from sqlalchemy.exc import OperationalError

from fluxolab.engine import deadline
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
    conf = self.app.conf
    with time_limits(conf.task_soft_time_limit, conf.task_time_limit) as soft_limit:
        try:
            with soft_limit:
                outcome = runner.run_execution(run_id)
        except SoftTimeLimitExceeded:
            message = "A execucao excedeu o tempo do worker."
            runner.fail_running(run_id, "timed_out", message, "timeout")
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
            message = "Erro interno do worker ao executar."
            runner.fail_running(run_id, "failed", message, "internal")
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
def time_limits(
    soft: float | None, hard: float | None, *, in_every_pool: bool = False
) -> Iterator[AbstractContextManager[None]]:
    """Celery's task time limits where the pool does not enforce them (solo workers).

    Celery enforces time limits only in prefork pools; execution workers run ``--pool solo``
    (one process per core), where the engine's interval timer (``fluxolab.engine.deadline``,
    the one that also interrupts nodes at their deadlines) keeps them. The hard limit covers
    the whole block: a task still running at ``hard`` seconds (it swallowed the soft limit,
    or hangs) ends the process, and the broker redelivers the message, like prefork's
    replacement of a stuck child. The soft limit covers the block of the context manager
    this yields (the work, not the clean-up after it): ``SoftTimeLimitExceeded`` is raised
    there after ``soft`` seconds, and again every ``REPEAT_S`` until that block has ended
    (an exception raised inside a weakref callback would otherwise be lost). In a prefork
    child (unless ``in_every_pool``: limits of their own, shorter than Celery's, such as a
    node test's), and outside the main thread (``threads`` pool), neither is armed.
    """
    if not soft or (_pool_enforces_limits and not in_every_pool) or not deadline.available():
        yield nullcontext()
        return
    hard_after = float(soft) + max(float(hard or 0) - float(soft), 1.0)

    def die() -> None:
        log.critical("task exceeded its hard time limit of %s s: exiting the worker", hard)
        os._exit(70)  # EX_SOFTWARE; the supervisor restarts the worker

    def expire() -> None:
        raise SoftTimeLimitExceeded(f"task exceeded its soft time limit of {soft} s")

    with deadline.limit(hard_after, die, deferrable=False):
        yield deadline.limit(float(soft), expire, repeat_s=deadline.REPEAT_S)
