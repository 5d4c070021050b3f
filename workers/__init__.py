"""Celery entry point: ``celery -A workers worker|beat|flower``.

Builds the Flask app (config, database, the app-context task class) and imports the task
modules so the worker registers them. ``app``/``celery`` are the Celery app (what ``-A``
looks for); ``flask_app`` is the Flask app.
"""

from celery import Celery

from fluxolab import create_app

flask_app = create_app()
celery: Celery = flask_app.extensions["celery"]
app = celery

from workers import executions, mail, maintenance  # noqa: E402  (task modules register)

__all__ = ["app", "celery", "executions", "flask_app", "mail", "maintenance"]
