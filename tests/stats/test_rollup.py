"""roll_day and catch_up: the rows, idempotence, sealing, catch-up, zones, late runs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from fluxolab.extensions import db
from fluxolab.models import Execution, ExecutionStat, Workflow
from fluxolab.stats import rollup
from tests.dashboard.runs import make_run, make_workflow, set_timezone
from tests.factories import Account, make_account
from tests.stats.data import NOW, at, rolled, seed, stat_rows


@pytest.fixture()
def owner() -> Account:
    account = make_account()
    set_timezone(account, "UTC")
    return account


def row_of(day: date, mode: str, production: bool, name: str = "Principal") -> ExecutionStat:
    stmt = (
        select(ExecutionStat)
        .join(Workflow, Workflow.id == ExecutionStat.workflow_id)
        .where(
            ExecutionStat.day == day,
            ExecutionStat.mode == mode,
            ExecutionStat.production.is_(production),
            Workflow.name == name,
        )
    )
    rows = list(db.session.execute(stmt).scalars())
    assert len(rows) == 1, rows
    return rows[0]


def test_a_day_rolls_into_one_row_per_workflow_mode_and_production(owner: Account) -> None:
    day = date(2026, 6, 10)
    seed(owner, day, 1)
    rollup.roll_day(day, "UTC", NOW)

    webhook = row_of(day, "webhook", True)  # Principal's 7 successes
    assert webhook.total == 7 and webhook.succeeded == 7
    assert webhook.durations == 7 and webhook.duration_ms_max == 400000
    assert webhook.duration_ms_sum == 5 + 40 + 300 + 900 + 4000 + 70000 + 400000
    assert (webhook.duration_le_10, webhook.duration_le_50, webhook.duration_le_500) == (1, 1, 1)
    assert (webhook.duration_le_1000, webhook.duration_le_5000) == (1, 1)
    assert (webhook.duration_le_300000, webhook.duration_le_inf) == (1, 1)
    assert webhook.time_saved_minutes == pytest.approx(7 * 1.5)
    schedule = row_of(day, "schedule", True)
    assert (schedule.total, schedule.succeeded, schedule.failed) == (2, 1, 1)
    assert schedule.duration_le_250 == 1 and schedule.duration_le_2500 == 1
    subruns = {
        (stat.production, stat.total)
        for stat in db.session.execute(
            select(ExecutionStat).where(ExecutionStat.mode == "subworkflow")
        ).scalars()
    }
    assert subruns == {(True, 1), (False, 1)}  # the schedule's child is production
    assert row_of(day, "webhook", True, "Outro").durations == 0  # still running
    for mode in ("manual", "test"):
        stat = row_of(day, mode, False)
        assert stat.total == 1 and stat.time_saved_minutes == 0
    form = row_of(day, "form", True, "Outro")
    assert (form.timed_out, form.failed, form.duration_le_30000) == (1, 0, 1)
    error = row_of(day, "error", True, "Outro")
    assert (error.canceled, error.durations, error.duration_ms_max) == (1, 0, None)
    assert rolled("UTC") == {day: True}


def test_rolling_twice_gives_the_same_rows(owner: Account) -> None:
    seed(owner, date(2026, 6, 10), 3)
    for day in (date(2026, 6, 10), date(2026, 6, 11), date(2026, 6, 12)):
        rollup.roll_day(day, "UTC", NOW)
    first = stat_rows()
    for day in (date(2026, 6, 10), date(2026, 6, 11), date(2026, 6, 12)):
        rollup.roll_day(day, "UTC", NOW + timedelta(minutes=5))
    assert stat_rows() == first
    assert len(first) == 3 * 9


def test_a_day_that_has_not_ended_is_refused(owner: Account) -> None:
    with pytest.raises(ValueError, match="has not ended"):
        rollup.roll_day(NOW.date(), "UTC", NOW)


def test_catch_up_rolls_every_missed_day_and_seals_the_old_ones(owner: Account) -> None:
    workflow = make_workflow(owner)
    make_run(owner, workflow, at=at("2026-06-05T10:00"))  # the oldest run: a first roll starts here
    make_run(owner, workflow, at=at("2026-06-13T10:00"))

    report = rollup.catch_up(NOW)

    days = rolled("UTC")
    assert sorted(days) == [date(2026, 6, 5) + timedelta(n) for n in range(10)]  # to the 14th
    assert [day for day, sealed in days.items() if not sealed] == [
        date(2026, 6, 13),
        date(2026, 6, 14),
    ]
    assert report.days == 10 and report.timezones == 1
    # three days later: the missed days, and the unsealed ones rolled again (and sealed now)
    later = rollup.catch_up(NOW + timedelta(days=3))
    assert later.days == 5  # 13th .. 17th
    days = rolled("UTC")
    assert max(days) == date(2026, 6, 17)
    assert [day for day, sealed in sorted(days.items()) if not sealed] == [
        date(2026, 6, 16),
        date(2026, 6, 17),
    ]
    assert rollup.catch_up(NOW + timedelta(days=3)).days == 2  # only the open ones again


def test_catch_up_is_bounded(owner: Account) -> None:
    workflow = make_workflow(owner)
    make_run(owner, workflow, at=NOW - timedelta(days=1000))
    rollup.catch_up(NOW)
    days = rolled("UTC")
    assert len(days) == rollup.CATCH_UP_DAYS and max(days) == date(2026, 6, 14)


def test_a_day_is_the_local_day_of_the_workspace_zone(owner: Account) -> None:
    paulista = make_account()
    set_timezone(paulista, "America/Sao_Paulo")
    utc_flow, sp_flow = make_workflow(owner), make_workflow(paulista)
    for account, workflow in ((owner, utc_flow), (paulista, sp_flow)):
        make_run(account, workflow, at=at("2026-06-11T02:30"))  # 23:30 on the 10th in SP
        make_run(account, workflow, at=at("2026-06-11T03:00"))  # 00:00 on the 11th in SP
    for zone in ("UTC", "America/Sao_Paulo"):
        for day in (date(2026, 6, 10), date(2026, 6, 11)):
            rollup.roll_day(day, zone, NOW)

    def totals(account: Account) -> dict[date, int]:
        stmt = (
            select(ExecutionStat.day, func.sum(ExecutionStat.total))
            .where(ExecutionStat.workspace_id == account.workspace_id)
            .group_by(ExecutionStat.day)
        )
        return {day: int(total) for day, total in db.session.execute(stmt)}

    assert totals(owner) == {date(2026, 6, 11): 2}
    assert totals(paulista) == {date(2026, 6, 10): 1, date(2026, 6, 11): 1}


def test_a_dst_day_has_its_23_hours(owner: Account) -> None:
    set_timezone(owner, "America/New_York")  # 2026-03-08 starts EST, ends EDT
    workflow = make_workflow(owner)
    make_run(owner, workflow, at=at("2026-03-08T04:59"))  # 23:59 on the 7th (EST)
    make_run(owner, workflow, at=at("2026-03-08T05:00"))  # 00:00 on the 8th
    make_run(owner, workflow, at=at("2026-03-09T03:59"))  # 23:59 on the 8th (EDT)
    make_run(owner, workflow, at=at("2026-03-09T04:00"))  # 00:00 on the 9th
    for day in (date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)):
        rollup.roll_day(day, "America/New_York", NOW)
    stmt = select(ExecutionStat.day, ExecutionStat.total).order_by(ExecutionStat.day)
    assert [tuple(row) for row in db.session.execute(stmt)] == [
        (date(2026, 3, 7), 1),
        (date(2026, 3, 8), 2),
        (date(2026, 3, 9), 1),
    ]


def test_a_run_finishing_late_is_picked_up_by_the_next_roll(owner: Account) -> None:
    workflow = make_workflow(owner, "Principal", minutes_saved=2)
    late = make_run(owner, workflow, at=at("2026-06-14T23:59"), status="running")
    rollup.catch_up(NOW)
    stat = row_of(date(2026, 6, 14), "webhook", True)
    assert (stat.total, stat.succeeded, stat.durations) == (1, 0, 0)

    db.session.execute(
        update(Execution)
        .where(Execution.id == late)
        .values(status="succeeded", duration_ms=90_000, finished_at=NOW + timedelta(hours=1))
    )
    db.session.commit()
    rollup.catch_up(NOW + timedelta(hours=1))
    db.session.expire_all()
    stat = row_of(date(2026, 6, 14), "webhook", True)
    assert (stat.total, stat.succeeded, stat.durations, stat.duration_le_300000) == (1, 1, 1, 1)
    assert stat.time_saved_minutes == 2


def test_deleted_runs_of_an_open_day_leave_no_stale_row(owner: Account) -> None:
    workflow = make_workflow(owner)
    run = make_run(owner, workflow, at=at("2026-06-14T10:00"), mode="form")
    rollup.roll_day(date(2026, 6, 14), "UTC", NOW)
    db.session.execute(Execution.__table__.delete().where(Execution.id == run))
    db.session.commit()
    rollup.roll_day(date(2026, 6, 14), "UTC", NOW + timedelta(minutes=1))
    assert stat_rows(owner.workspace_id) == []


def test_a_sealed_day_is_never_lowered(owner: Account) -> None:
    workflow = make_workflow(owner, "Principal")
    runs = [make_run(owner, workflow, at=at("2026-06-01T10:00")) for _ in range(3)]
    rollup.roll_day(date(2026, 6, 1), "UTC", NOW)
    before = stat_rows()
    db.session.execute(Execution.__table__.delete().where(Execution.id.in_(runs[:2])))
    db.session.commit()
    rollup.roll_day(date(2026, 6, 1), "UTC", NOW + timedelta(days=1))
    assert stat_rows() == before
    make_run(owner, workflow, at=at("2026-06-01T11:00"))
    make_run(owner, workflow, at=at("2026-06-01T11:00"))
    make_run(owner, workflow, at=at("2026-06-01T11:00"))
    rollup.roll_day(date(2026, 6, 1), "UTC", NOW + timedelta(days=1))
    assert row_of(date(2026, 6, 1), "webhook", True).total == 4  # raised, not lowered
