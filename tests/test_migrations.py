"""Migrations: one head, identical to the models, reversible, and runnable on SQLite too.

Also home of ``scratch_database``: an empty PostgreSQL database for one test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from fluxolab import MIGRATIONS_DIR
from fluxolab.extensions import db
from fluxolab.models import Plan
from tests.api.test_errors import fresh_app
from tests.conftest import make_test_config

# code: (price, max workspaces, max users, webhooks); None is unlimited (contract 7.1)
CONTRACT_PLANS: dict[str, tuple[Decimal, int | None, int | None, int | None]] = {
    "free": (Decimal("0.00"), 1, 3, 2000),
    "basico": (Decimal("39.99"), 2, 10, 10000),
    "intermediario": (Decimal("99.99"), 4, 25, 50000),
    "full": (Decimal("349.99"), None, None, None),
}


@contextmanager
def scratch_database(label: str) -> Iterator[str]:
    """Create an empty PostgreSQL database next to the test one; drop it afterwards."""
    admin = make_url(os.environ["DATABASE_URL"])
    name = f"fluxolab_{label}_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def base_config(redis_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Test configuration pointing at a scratch PostgreSQL database."""
    with scratch_database("migrations") as url:
        yield make_test_config(url, redis_url, tmp_path)


def contract_view(plans: list[Plan]) -> dict[str, tuple[Any, ...]]:
    """Reduce plan rows to the numbers the contract fixes."""
    return {
        plan.code: (
            Decimal(plan.price_amount).quantize(Decimal("0.01")),
            plan.limits.get("workspaces"),
            plan.limits.get("users"),
            plan.limits.get("webhook"),
        )
        for plan in plans
    }


def test_migrations_have_a_single_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def test_models_match_migrations_on_postgresql(base_config: dict[str, Any]) -> None:
    with fresh_app(base_config) as scratch, scratch.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "target_metadata": db.metadata}
            )
            differences = compare_metadata(context, db.metadata)
        db.session.remove()
    assert differences == []


def test_downgrade_to_base_and_upgrade_again_on_postgresql(base_config: dict[str, Any]) -> None:
    with fresh_app(base_config) as scratch, scratch.app_context():
        upgrade()
        downgrade(revision="base")
        left_over = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        upgrade()
        plans = contract_view(list(db.session.execute(select(Plan)).scalars()))
        db.session.remove()
    assert left_over == set()
    assert plans == CONTRACT_PLANS


def test_upgrade_to_head_works_on_a_fresh_sqlite_file(redis_url: str, tmp_path: Path) -> None:
    config = make_test_config(f"sqlite:///{tmp_path / 'fluxolab.db'}", redis_url, tmp_path)
    with fresh_app(config) as scratch, scratch.app_context():
        upgrade()
        plans = contract_view(list(db.session.execute(select(Plan)).scalars()))
        db.session.remove()
    assert plans == CONTRACT_PLANS


@pytest.mark.parametrize("code", list(CONTRACT_PLANS))
def test_seeded_plan_has_the_contract_price_and_limits(code: str) -> None:
    plan = db.session.execute(select(Plan).where(Plan.code == code)).scalar_one()
    assert contract_view([plan])[code] == CONTRACT_PLANS[code]
    assert plan.currency == "BRL"
    assert plan.is_active
