"""Readiness checks: the database answers and sits at the migration head; the broker answers."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from fluxolab.extensions import db

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """Return the head revision(s) of the migration scripts shipped with the code."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def check_database() -> str | None:
    """Return ``None`` when the database is reachable and migrated to head, else the problem."""
    try:
        rows = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError as exc:
        db.session.rollback()
        return f"database unreachable or not migrated: {type(exc).__name__}"
    if frozenset(rows) != migration_heads():
        return f"database at {sorted(rows)}, code expects {sorted(migration_heads())}"
    return None


def check_broker() -> str | None:
    """Return ``None`` when the Celery broker accepts a connection within 2 seconds."""
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors
        return f"broker unreachable: {type(exc).__name__}"
    return None
