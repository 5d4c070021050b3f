"""Schedule settings from the environment, and beat's tick for them."""

from __future__ import annotations

import pytest

import celeryconfig
from fluxolab.config import schedule_settings


def test_catch_up_defaults_to_one_run() -> None:
    settings = schedule_settings()
    assert settings["SCHEDULE_CATCH_UP"] == "one"
    assert settings["SCHEDULE_CATCH_UP_MAX"] == 100


def test_an_unknown_catch_up_mode_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDULE_CATCH_UP", "some")
    with pytest.raises(RuntimeError, match="SCHEDULE_CATCH_UP"):
        schedule_settings()


def test_beat_ticks_the_schedules_on_the_maintenance_queue() -> None:
    entry = celeryconfig.beat_schedule["fire-schedules"]
    assert entry["task"] == "maintenance.fire_schedules"
    assert float(entry["schedule"]) <= 30
    assert celeryconfig.task_routes["maintenance.*"]["queue"] == "maintenance"
    prune = celeryconfig.beat_schedule["prune-schedule-fires"]
    assert prune["task"] == "maintenance.prune_schedule_fires"
