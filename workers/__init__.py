"""Celery entry point: ``celery -A workers worker|beat|flower``.

Builds the Flask app (for config, database and the app-context task class) and imports
the task modules so the worker registers them.
"""

from celery import Celery

from fluxolab import create_app

app = create_app()
celery: Celery = app.extensions["celery"]

from workers import executions, maintenance  # noqa: E402  (task modules register on the app)

__all__ = ["app", "celery", "executions", "maintenance"]
