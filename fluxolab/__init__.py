"""FluxoLab backend. ``create_app`` builds the Flask app; importing the package does nothing."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from flask import Flask, Response
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

__all__ = ["create_app", "settle"]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class FluxoFlask(Flask):
    """Flask, answering ``OPTIONS`` like the rest of the API rather than with empty HTML."""

    def make_default_options_response(self) -> Response:
        """Answer 204 No Content with the ``Allow`` header (CORS adds its headers after).

        Flask's default is a 200 ``text/html`` response with an empty body.
        """
        response = super().make_default_options_response()
        response.status_code = 204
        response.set_data(b"")
        del response.headers["Content-Type"]
        return response


def settle() -> None:
    """Take what start-up built out of the garbage collector's sight (``gc.freeze``).

    Call once in a server or worker process, after the app and its modules are loaded. The
    ~200,000 objects of the loaded app (modules, mappers, schemas) stay alive for the
    process's life, yet every full collection walked them all: a pause of tens to hundreds
    of milliseconds for whichever request was running. Frozen, they are never scanned;
    what requests create is collected as before.
    """
    gc.collect()
    gc.freeze()


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: config from the environment, extensions, error handlers, blueprints, CLI."""
    from fluxolab.common.converters import install_converters
    from fluxolab.config import build_config

    app = FluxoFlask(__name__)
    app.config.update(build_config(overrides))
    app.json.sort_keys = False  # type: ignore[attr-defined]
    from fluxolab import logs, requestid

    logs.configure()  # LOG_FORMAT, LOG_LEVEL; masks trigger tokens (fluxolab.logmask)
    requestid.install(app)
    from fluxolab.triggers import gate

    gate.install()
    hops = int(app.config["TRUSTED_PROXY_HOPS"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    install_converters(app)
    _init_extensions(app)
    _register_blueprints(app)
    return app


def _init_extensions(app: Flask) -> None:
    from fluxolab.common import transactions
    from fluxolab.common.errorhandlers import register_error_handlers, register_jwt_loaders
    from fluxolab.common.jsonbody import check_json_body
    from fluxolab.common.openapi import configure_api
    from fluxolab.common.uri import check_request_uri
    from fluxolab.engine.storage import storable_json
    from fluxolab.extensions import api, celery_init_app, cors, db, jwt, limiter, migrate

    # Every JSON column, on both databases, stores NUL and lone surrogates as U+FFFD.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("json_serializer", storable_json)
    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        # a database that does not answer is a 503 within seconds, not a hung request
        timeout = int(app.config["DATABASE_CONNECT_TIMEOUT_SECONDS"])
        app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault(
            "connect_args", {"connect_timeout": timeout}
        )
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    api.init_app(app, spec_kwargs=configure_api(api))
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    jwt.init_app(app)
    register_jwt_loaders(jwt)
    limiter.init_app(app)
    if app.config["CORS_ORIGINS"]:
        cors.init_app(
            app,
            resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-Workspace-Id",
                "Idempotency-Key",
                "X-API-Key",
            ],
            methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            supports_credentials=False,
        )
    register_error_handlers(app)
    transactions.init_app(app)
    app.before_request(check_request_uri)
    app.before_request(check_json_body)
    celery_init_app(app)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL and a busy timeout let the standalone api, worker and beat share one SQLite file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _register_blueprints(app: Flask) -> None:
    from fluxolab import frontend
    from fluxolab.audit.routes import blp as audit_blp
    from fluxolab.auth.routes import blp as auth_blp
    from fluxolab.cli import register_commands
    from fluxolab.common.docs_assets import blp as docs_assets_blp
    from fluxolab.credentials.routes import blp as credentials_blp
    from fluxolab.dashboard.routes import blp as dashboard_blp
    from fluxolab.executions.routes import blp as executions_blp
    from fluxolab.extensions import api
    from fluxolab.forms.routes import blp as forms_blp
    from fluxolab.forms.routes import pages as form_pages_blp
    from fluxolab.health.routes import blp as health_blp
    from fluxolab.metrics import routes as metrics
    from fluxolab.nodes.routes import blp as nodes_blp
    from fluxolab.nodes.testing_routes import blp as node_tests_blp
    from fluxolab.settings.routes import blp as settings_blp
    from fluxolab.users.routes import blp as users_blp
    from fluxolab.webhooks.public import blp as webhook_intake_blp
    from fluxolab.webhooks.routes import blp as webhooks_blp
    from fluxolab.workflows.routes import blp as workflows_blp

    for blueprint in (
        health_blp,
        auth_blp,
        users_blp,
        credentials_blp,
        node_tests_blp,
        nodes_blp,
        workflows_blp,
        executions_blp,
        webhook_intake_blp,
        webhooks_blp,
        settings_blp,
        dashboard_blp,
        audit_blp,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs_assets_blp)
    api.register_blueprint(forms_blp)
    app.register_blueprint(form_pages_blp)
    metrics.install(app)  # GET /metrics and the per-request metrics
    frontend.install(app)  # last: its catch-all route yields to every other rule
    register_commands(app)
