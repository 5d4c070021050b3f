"""Two beat processes ticking at once over many due times: each due time runs exactly once."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

import pytest
from flask import Flask

from fluxolab.extensions import db
from fluxolab.schedules.scheduler import FireReport, fire_due
from tests.factories import make_account
from tests.schedules.helpers import count_runs, create_flow, fires, schedule_flow, schedule_of

MINUTE = timedelta(minutes=1)
DUE_TIMES = 25


def _beat(
    app: Flask, clocks: list[datetime], barrier: threading.Barrier, reports: list[FireReport]
) -> None:
    """One beat: its own app context, session and database connection, ticking ``clocks``."""
    with app.app_context():
        for now in clocks:
            barrier.wait(timeout=30)
            reports.append(fire_due(now=now))
        db.session.remove()


@pytest.mark.parametrize("catch_up", ["one", "all"])
def test_two_beats_fire_each_due_time_exactly_once(
    app: Flask, committed_db: None, monkeypatch: pytest.MonkeyPatch, catch_up: str
) -> None:
    monkeypatch.setitem(app.config, "SCHEDULE_CATCH_UP", catch_up)
    with app.app_context():
        owner = make_account()
        workflow_ids = [
            create_flow(app.test_client(), owner, schedule_flow(interval="minute", value=1))
            for _ in range(3)
        ]
        first = schedule_of(workflow_ids[0]).next_due_at
        assert first is not None
        db.session.remove()
    # both beats tick at every due time, a few seconds apart, as two real beats would
    clocks = [first + k * MINUTE + timedelta(seconds=k % 3) for k in range(DUE_TIMES)]
    barrier = threading.Barrier(2)
    reports: list[list[FireReport]] = [[], []]
    beats = [
        threading.Thread(target=_beat, args=(app, clocks, barrier, reports[i])) for i in range(2)
    ]
    for beat in beats:
        beat.start()
    for beat in beats:
        beat.join(timeout=120)
    assert not any(beat.is_alive() for beat in beats)

    with app.app_context():
        for workflow_id in workflow_ids:
            assert_exactly_once(workflow_id, first)
        db.session.remove()
    fired = sum(report.fired for beat_reports in reports for report in beat_reports)
    assert fired == 3 * DUE_TIMES


def assert_exactly_once(workflow_id: uuid.UUID, first: datetime) -> None:
    assert count_runs(workflow_id) == DUE_TIMES
    scheduled = [fire.scheduled_for for fire in fires(workflow_id)]
    assert scheduled == [first + k * MINUTE for k in range(DUE_TIMES)]
    assert all(fire.execution_id is not None for fire in fires(workflow_id))
