"""Celery entry point: ``celery -A workers worker|beat|flower``.

Builds the Flask app (config, database, the app-context task class) and imports the task
modules so the worker registers them. ``app``/``celery`` are the Celery app (what ``-A``
looks for); ``flask_app`` is the Flask app.
"""

from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init

from fluxolab import create_app, settle, tasklogs
from fluxolab.engine.sandbox import protect_this_process
from workers import solo

solo.install()  # before the worker resolves --pool solo
flask_app = create_app()
tasklogs.install()  # one log line per task, with its ids (logging itself: fluxolab.logs)
celery: Celery = flask_app.extensions["celery"]
app = celery


@worker_init.connect
@worker_process_init.connect
def _protect(**_: Any) -> None:
    """Sandboxed Code-node processes must not read the worker's environment or memory."""
    protect_this_process()


from workers import executions, mail, maintenance, metrics, nodes, schedules, stats  # noqa: E402  (task modules register)

metrics.connect(flask_app)

settle()

__all__ = [
    "app",
    "celery",
    "executions",
    "flask_app",
    "mail",
    "maintenance",
    "metrics",
    "nodes",
    "schedules",
    "stats",
]
