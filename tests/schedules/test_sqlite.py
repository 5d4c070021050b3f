"""Standalone mode: schedules sync and fire on SQLite too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from fluxolab import create_app
from fluxolab.extensions import db
from fluxolab.schedules.scheduler import fire_due
from tests.conftest import make_test_config
from tests.factories import make_account
from tests.schedules.helpers import count_runs, create_flow, fires, schedule_flow, schedule_of


@pytest.fixture()
def sqlite_app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    config = make_test_config(f"sqlite:///{tmp_path / 'fluxolab.db'}", redis_url, tmp_path)
    application = create_app(config)
    with application.app_context():
        upgrade()
        yield application
        db.session.remove()


def test_a_schedule_fires_once_per_due_time_on_sqlite(sqlite_app: Flask) -> None:
    assert db.engine.dialect.name == "sqlite"
    owner = make_account()
    workflow_id = create_flow(
        sqlite_app.test_client(), owner, schedule_flow(cron="*/5 * * * *", timezone="Europe/Berlin")
    )
    first = schedule_of(workflow_id).next_due_at
    assert first is not None
    for k in range(3):
        fire_due(now=first + k * timedelta(minutes=5))
        fire_due(now=first + k * timedelta(minutes=5))  # a second tick: nothing new
    assert count_runs(workflow_id) == 3
    assert [f.scheduled_for for f in fires(workflow_id)] == [
        first + k * timedelta(minutes=5) for k in range(3)
    ]
