"""Migrations: one head, identical to the models, reversible, and runnable on SQLite too."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from fluxolab import MIGRATIONS_DIR
from fluxolab.extensions import db
from fluxolab.models import Plan
from tests.conftest import make_test_config
from tests.helpers import fresh_app, scratch_database

# code: (price, max workspaces, max users, webhooks); None is unlimited (contract 7.1)
CONTRACT_PLANS: dict[str, tuple[Decimal, int | None, int | None, int | None]] = {
    "free": (Decimal("0.00"), 1, 3, 2000),
    "basico": (Decimal("39.99"), 2, 10, 10000),
    "intermediario": (Decimal("99.99"), 4, 25, 50000),
    "full": (Decimal("349.99"), None, None, None),
}


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
