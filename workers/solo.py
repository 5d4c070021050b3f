"""Celery's ``solo`` pool, with a cold shutdown that hands the running task back.

A cold shutdown (SIGQUIT, or Ctrl-C twice) cancels the tasks in hand through the pool's
``terminate_job``; the solo pool runs its task in the worker's own main thread and has no
``terminate_job``, so Celery's ``NotImplementedError`` was raised inside the running task
(the signal handler runs there) and the engine recorded it as the node's error: the run
ended ``failed``. Here the cancellation ends the worker instead, as a prefork pool ends the
child it terminates: the task stops without finishing, its message is not acknowledged
(``acks_late``) and the run's lease runs out, so the sweeper (or the redelivered message)
hands the run to another worker, which resumes it after its last checkpoint.

``install()`` (called when ``workers`` is imported, before the worker resolves its pool)
makes ``--pool solo`` resolve to :class:`TaskPool`, as ``fluxolab.broker`` does for the
``redis://`` transport.
"""

from __future__ import annotations

from typing import Any

from celery import concurrency
from celery.concurrency.solo import TaskPool as CelerySoloPool
from celery.exceptions import WorkerTerminate
from celery.platforms import EX_FAILURE

POOL = "workers.solo:TaskPool"


class TaskPool(CelerySoloPool):
    """The solo pool; cancelling its task ends the process (the run is handed back)."""

    def terminate_job(self, pid: Any, signal: Any = None) -> None:
        """Stop the running task now: raised in the task's (main) thread, never caught by it."""
        raise WorkerTerminate(EX_FAILURE)


def install() -> None:
    """Resolve ``--pool solo`` to :class:`TaskPool`."""
    concurrency.ALIASES["solo"] = POOL
