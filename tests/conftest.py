"""Test harness: one migrated PostgreSQL database per xdist worker, rolled back per test.

``scripts/with-services.sh`` (used by ``make test``) starts PostgreSQL and Redis and exports
``DATABASE_URL``/``REDIS_URL``. Each test runs inside a transaction that is rolled back;
tests that need committed rows (real worker processes) use ``committed_db`` instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from fluxolab import create_app
from fluxolab.extensions import db

os.environ.setdefault("FLUXOLAB_ENV", "test")
# Celery lets CELERY_BROKER_URL win over any configuration; each test process sets its own.
os.environ.pop("CELERY_BROKER_URL", None)


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the tests with `make test`", returncode=2)
    return value


@pytest.fixture(scope="session")
def worker_index(worker_id: str) -> int:
    """0 for the main process, N+1 for xdist worker gwN."""
    return 0 if worker_id == "master" else int(worker_id.removeprefix("gw")) + 1


@pytest.fixture(scope="session")
def database_url(worker_index: int) -> str:
    """Create an empty database for this test process and return its URL."""
    admin = make_url(_require("DATABASE_URL"))
    name = f"fluxolab_test_{worker_index}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def redis_url(worker_index: int) -> str:
    """A Redis database of its own for this test process."""
    base = make_url(_require("REDIS_URL"))
    return f"redis://{base.host}:{base.port}/{worker_index + 1}"


def make_test_config(database_url: str, redis_url: str, tmp: Path) -> dict[str, Any]:
    """The app configuration used by tests (cheap hashing, rate limits off, own broker db)."""
    return {
        "FLUXOLAB_ENV": "test",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": redis_url,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
        "MAIL_OUTBOX_DIR": str(tmp / "outbox"),
        "CELERY": {"broker_url": redis_url},
        # No worker runs for API tests: node tests answer 202 at once (worker tests wait).
        "NODE_TEST_WAIT_SECONDS": 0,
    }


@pytest.fixture(scope="session")
def app(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The app, with the test database migrated to head once per session."""
    from flask_migrate import upgrade

    application = create_app(
        make_test_config(database_url, redis_url, tmp_path_factory.mktemp("app"))
    )
    with application.app_context():
        upgrade()
        db.session.remove()
    yield application


@pytest.fixture()
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


@pytest.fixture(autouse=True)
def _isolated_db(request: pytest.FixtureRequest, app: Flask) -> Iterator[None]:
    """Run each test inside a rolled-back transaction (Flask-SQLAlchemy 3 recipe).

    Flask-SQLAlchemy picks engines from ``db.engines``; we swap in a connection that holds
    an outer transaction and make the session join it with savepoints.
    """
    if "committed_db" in request.fixturenames:
        yield
        return
    with app.app_context():
        engines = db.engines
        original = dict(engines)
        connection = db.engine.connect()
        transaction = connection.begin()
        engines[None] = connection  # type: ignore[assignment]
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
        try:
            yield
        finally:
            db.session.remove()
            transaction.rollback()
            connection.close()
            engines.clear()
            engines.update(original)
            db.session.configure(join_transaction_mode="conditional_savepoint")


@pytest.fixture()
def committed_db(app: Flask) -> Iterator[None]:
    """Real commits (for worker processes); every table except plans is emptied afterwards."""
    yield
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables if t.name != "plans"]
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        db.session.commit()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()
