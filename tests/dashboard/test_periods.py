"""Period resolution alone (no database): DST days, zones, labels, the previous stretch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fluxolab.dashboard import periods
from fluxolab.dashboard.summary import format_duration, format_minutes

NEW_YORK = periods.zone_of("America/New_York")


def day_lengths(window: periods.Window) -> dict[str, timedelta]:
    return {bucket.label: bucket.end - bucket.start for bucket in window.buckets}


def test_a_spring_forward_day_lasts_23_hours_and_a_fall_back_day_25() -> None:
    spring = periods.resolve("3d", NEW_YORK, datetime(2026, 3, 9, 18, tzinfo=UTC))
    assert day_lengths(spring) == {
        "2026-03-07": timedelta(hours=24),
        "2026-03-08": timedelta(hours=23),
        "2026-03-09": timedelta(hours=24),
    }
    autumn = periods.resolve("1d", NEW_YORK, datetime(2026, 11, 1, 18, tzinfo=UTC))
    assert day_lengths(autumn) == {"2026-11-01": timedelta(hours=25)}
    assert autumn.start == datetime(2026, 11, 1, 4, tzinfo=UTC)  # midnight EDT


def test_buckets_touch_and_the_last_one_holds_now() -> None:
    now = datetime(2026, 6, 15, 15, 20, tzinfo=UTC)
    for key in ("24h", "7d", "90d", "2w"):
        window = periods.resolve(key, periods.zone_of("America/Sao_Paulo"), now)
        pairs = zip(window.buckets, window.buckets[1:], strict=False)
        assert all(left.end == right.start for left, right in pairs), key
        assert window.buckets[-1].start <= now < window.buckets[-1].end, key


def test_previous_stretch_has_the_length_elapsed_so_far_in_whole_hours() -> None:
    now = datetime(2026, 6, 15, 15, 20, tzinfo=UTC)
    window = periods.resolve("7d", periods.zone_of("UTC"), now)
    assert window.previous.end == window.start == datetime(2026, 6, 9, tzinfo=UTC)
    assert window.previous.end - window.previous.start == timedelta(days=6, hours=16)


def test_previous_of_24h_is_the_24_whole_hours_before() -> None:
    now = datetime(2026, 6, 15, 15, 20, tzinfo=UTC)
    window = periods.resolve("24h", periods.zone_of("Asia/Kolkata"), now)
    assert window.start == datetime(2026, 6, 14, 15, 30, tzinfo=UTC)  # a local hour (+5:30)
    assert (window.previous.start, window.previous.end) == (
        datetime(2026, 6, 13, 15, 30, tzinfo=UTC),
        window.start,
    )


def test_a_past_custom_range_compares_with_a_range_of_its_own_length() -> None:
    now = datetime(2026, 6, 15, 15, 20, tzinfo=UTC)
    window = periods.resolve(
        "custom",
        periods.zone_of("UTC"),
        now,
        first_day=date(2026, 5, 1),
        last_day=date(2026, 5, 10),
    )
    assert window.previous.start == datetime(2026, 4, 21, tzinfo=UTC)
    assert window.previous.end == datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize("name", ["Not/AZone", "", None, "../../etc/passwd"])
def test_an_unknown_zone_is_utc(name: str | None) -> None:
    assert periods.zone_of(name).key == "UTC"


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (None, "---"),
        (0, "0.00s"),
        (1200, "1.20s"),
        (59_994, "59.99s"),
        (125_000, "2m 05s"),
        (3_780_000, "1h 03m"),
    ],
)
def test_run_time_display(ms: float | None, shown: str) -> None:
    assert format_duration(ms) == shown


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(0, "---"), (0.5, "30s"), (12, "12m"), (1.5, "1m 30s"), (200, "3h 20m")],
)
def test_time_saved_display(minutes: float, shown: str) -> None:
    assert format_minutes(minutes) == shown
