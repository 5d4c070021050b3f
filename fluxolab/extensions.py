"""Unbound extension singletons, bound to an app in ``create_app``, and the Celery factory."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask, request
from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

from fluxolab import broker
from fluxolab.models.base import Base


def client_ip() -> str:
    """Return the caller's address (``TRUSTED_PROXY_HOPS`` makes ProxyFix read X-Forwarded-For)."""
    return request.remote_addr or "unknown"


# Objects stay readable after commit (no hidden reload query); code that needs fresh values
# after a conditional UPDATE refreshes explicitly.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
api = Api()
jwt = JWTManager()
limiter = Limiter(key_func=client_ip, default_limits=[])
cors = CORS()


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from ``celeryconfig`` whose tasks run inside a Flask app context."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    broker.install()
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object("celeryconfig")
    celery_app.conf.update(app.config.get("CELERY", {}))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
