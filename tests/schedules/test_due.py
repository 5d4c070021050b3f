"""Due times of schedule triggers: intervals, cron, time zones and DST changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fluxolab.schedules.due import (
    InvalidSchedule,
    ScheduleSpec,
    due_between,
    latest_due,
    next_due,
    parse_spec,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local_times(spec: ScheduleSpec, start: datetime, count: int) -> list[str]:
    """The next ``count`` due times after ``start``, as local ISO strings with offsets."""
    found, moment = [], start
    for _ in range(count):
        moment = next_due(spec, moment)
        assert moment.tzinfo is UTC or moment.utcoffset() == timedelta(0)
        found.append(moment.astimezone(spec.zone).isoformat())
    return found


@pytest.mark.parametrize(
    ("params", "start", "expected"),
    [
        pytest.param(
            {"interval": "minute", "value": 15},
            utc(2026, 5, 4, 10, 7),
            ["2026-05-04T10:15:00+00:00", "2026-05-04T10:30:00+00:00"],
            id="every-15-minutes-on-the-quarter",
        ),
        pytest.param(
            {"interval": "minute", "value": 7},
            utc(2026, 5, 4, 10, 0),
            ["2026-05-04T10:02:00+00:00", "2026-05-04T10:09:00+00:00"],  # 1,903,766 x 7 min
            id="every-7-minutes-on-a-grid-from-2001",
        ),
        pytest.param(
            {"interval": "hour", "value": 1, "timezone": "Asia/Kolkata"},
            utc(2026, 5, 4, 10, 7),
            ["2026-05-04T16:00:00+05:30", "2026-05-04T17:00:00+05:30"],
            id="hourly-on-the-local-hour",
        ),
        pytest.param(
            {"interval": "hour", "value": 6, "timezone": "America/New_York"},
            utc(2026, 1, 10, 12, 0),
            ["2026-01-10T12:00:00-05:00", "2026-01-10T18:00:00-05:00"],
            id="every-6-hours-from-local-midnight",
        ),
        pytest.param(
            {"interval": "day", "value": 1, "timezone": "Europe/Berlin"},
            utc(2026, 5, 4, 10, 0),
            ["2026-05-05T00:00:00+02:00", "2026-05-06T00:00:00+02:00"],
            id="daily-at-local-midnight",
        ),
        pytest.param(
            {"interval": "day", "value": 3},
            utc(2026, 5, 4, 10, 0),
            ["2026-05-05T00:00:00+00:00", "2026-05-08T00:00:00+00:00"],  # 3,085 x 3 days
            id="every-3-days-counted-from-2001",
        ),
        pytest.param(
            {"interval": "week", "value": 1, "timezone": "America/Sao_Paulo"},
            utc(2026, 5, 6, 10, 0),  # a Wednesday
            ["2026-05-11T00:00:00-03:00", "2026-05-18T00:00:00-03:00"],
            id="weekly-on-monday",
        ),
        pytest.param(
            {"interval": "week", "value": 2},
            utc(2026, 12, 3),
            ["2026-12-14T00:00:00+00:00", "2026-12-28T00:00:00+00:00"],
            id="every-2-weeks",
        ),
        pytest.param(
            {"interval": "month", "value": 1, "timezone": "Europe/Berlin"},
            utc(2026, 12, 3),
            ["2027-01-01T00:00:00+01:00", "2027-02-01T00:00:00+01:00"],
            id="monthly-on-the-first",
        ),
        pytest.param(
            {"interval": "month", "value": 3},
            utc(2026, 12, 3),
            ["2027-01-01T00:00:00+00:00", "2027-04-01T00:00:00+00:00"],
            id="quarterly",
        ),
        pytest.param(
            {
                "interval": "hour",
                "value": 1,
                "cron": "30 9 * * 1-5",
                "timezone": "America/New_York",
            },
            utc(2026, 12, 4, 15, 0),  # Friday 10:00 in New York
            ["2026-12-07T09:30:00-05:00", "2026-12-08T09:30:00-05:00"],
            id="cron-overrides-the-interval",
        ),
    ],
)
def test_due_times(params: dict[str, Any], start: datetime, expected: list[str]) -> None:
    assert local_times(parse_spec(params), start, len(expected)) == expected


def test_next_due_is_strictly_after() -> None:
    spec = parse_spec({"interval": "minute", "value": 5})
    assert next_due(spec, utc(2026, 1, 1, 0, 5)) == utc(2026, 1, 1, 0, 10)
    assert next_due(spec, utc(2026, 1, 1, 0, 4, 59)) == utc(2026, 1, 1, 0, 5)


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        pytest.param(
            "Europe/Berlin",
            utc(2026, 3, 27),
            [
                "2026-03-27T02:30:00+01:00",
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T03:00:00+02:00",  # 02:30 does not exist: once, when the gap ends
                "2026-03-30T02:30:00+02:00",
            ],
            id="berlin-spring-forward",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 3, 7),
            ["2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
            id="new-york-spring-forward",
        ),
    ],
)
def test_a_skipped_local_time_runs_once_at_the_next_valid_instant(
    zone: str, start: datetime, expected: list[str]
) -> None:
    spec = parse_spec({"cron": "30 2 * * *", "timezone": zone})
    assert local_times(spec, start, len(expected)) == expected


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        pytest.param(
            "Europe/Berlin",
            utc(2026, 10, 24),
            [
                "2026-10-24T02:30:00+02:00",
                "2026-10-25T02:30:00+02:00",  # first pass only, not again at 02:30 CET
                "2026-10-26T02:30:00+01:00",
            ],
            id="berlin-fall-back",
        ),
        pytest.param(
            "America/New_York",
            utc(2026, 10, 31, 12),
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
            id="new-york-fall-back",
        ),
    ],
)
def test_a_repeated_local_time_runs_once(zone: str, start: datetime, expected: list[str]) -> None:
    hour = 2 if zone == "Europe/Berlin" else 1
    spec = parse_spec({"cron": f"30 {hour} * * *", "timezone": zone})
    assert local_times(spec, start, len(expected)) == expected


def test_cron_every_30_minutes_across_fall_back_skips_the_second_pass() -> None:
    spec = parse_spec({"cron": "*/30 * * * *", "timezone": "Europe/Berlin"})
    found = due_between(spec, utc(2026, 10, 24, 23, 50), utc(2026, 10, 25, 2, 40))
    assert [t.astimezone(spec.zone).isoformat() for t in found] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        # 02:00 and 02:30 come again in CET: already ran, not again
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T03:30:00+01:00",
    ]


def test_cron_due_times_inside_the_gap_collapse_into_one_run() -> None:
    spec = parse_spec({"cron": "*/15 * * * *", "timezone": "Europe/Berlin"})
    found = due_between(spec, utc(2026, 3, 29, 0, 50), utc(2026, 3, 29, 1, 20))
    assert [t.astimezone(spec.zone).isoformat() for t in found] == [
        "2026-03-29T03:00:00+02:00",  # 02:00, 02:15, 02:30, 02:45 and 03:00: one run
        "2026-03-29T03:15:00+02:00",
    ]


def test_daily_midnight_skipped_by_sao_paulo_dst_runs_at_one() -> None:
    # Brazil's DST (until 2019) started at 00:00: that midnight did not exist
    spec = parse_spec({"interval": "day", "value": 1, "timezone": "America/Sao_Paulo"})
    assert local_times(spec, utc(2018, 11, 2, 12), 3) == [
        "2018-11-03T00:00:00-03:00",
        "2018-11-04T01:00:00-02:00",
        "2018-11-05T00:00:00-02:00",
    ]


def test_daily_midnight_repeated_by_sao_paulo_dst_end_runs_once() -> None:
    # DST ended on 2019-02-17 at 00:00 -> 23:00 the evening before: 23:xx came twice
    spec = parse_spec({"cron": "30 23 * * *", "timezone": "America/Sao_Paulo"})
    assert local_times(spec, utc(2019, 2, 16, 12), 2) == [
        "2019-02-16T23:30:00-02:00",
        "2019-02-17T23:30:00-03:00",
    ]


def test_minute_intervals_keep_firing_through_the_repeated_hour() -> None:
    spec = parse_spec({"interval": "minute", "value": 30, "timezone": "Europe/Berlin"})
    found = due_between(spec, utc(2026, 10, 24, 23, 59), utc(2026, 10, 25, 1, 59))
    assert len(found) == 4  # elapsed time: every 30 minutes, both passes of 02:xx
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(found))


def test_latest_due_looks_back_from_now() -> None:
    spec = parse_spec({"interval": "minute", "value": 1})
    since = utc(2026, 1, 1)
    now = utc(2026, 3, 1, 12, 0, 30)
    assert latest_due(spec, since, now, 1) == [utc(2026, 3, 1, 12, 0)]
    assert latest_due(spec, since, now, 3) == [
        utc(2026, 3, 1, 11, 58),
        utc(2026, 3, 1, 11, 59),
        utc(2026, 3, 1, 12, 0),
    ]
    # ``since`` itself counts, nothing before it
    assert latest_due(spec, utc(2026, 3, 1, 12), now, 5) == [utc(2026, 3, 1, 12)]


def test_latest_due_finds_a_yearly_cron() -> None:
    spec = parse_spec({"cron": "0 0 1 1 *"})
    assert latest_due(spec, utc(2020, 6, 1), utc(2026, 6, 1), 2) == [
        utc(2025, 1, 1),
        utc(2026, 1, 1),
    ]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"cron": "61 * * * *"}, id="bad-cron"),
        pytest.param({"interval": "hour", "value": 1, "timezone": "Mars/Base"}, id="bad-zone"),
        pytest.param({"interval": "fortnight", "value": 1}, id="bad-interval"),
        pytest.param({"interval": "day", "value": 0}, id="zero"),
        pytest.param({"interval": "day", "value": "2"}, id="text-value"),
        pytest.param({"interval": "day", "value": True}, id="bool-value"),
    ],
)
def test_invalid_params_are_refused(params: dict[str, Any]) -> None:
    with pytest.raises(InvalidSchedule):
        parse_spec(params)


def test_defaults_are_hourly_in_utc() -> None:
    assert parse_spec({}) == ScheduleSpec(interval="hour", value=1, timezone="UTC")
