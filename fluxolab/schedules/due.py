"""Due times of a ``schedule`` trigger: pure functions over its params and UTC instants.

A schedule is either a cron expression (``cron``, evaluated by ``croniter``) or an interval
(``interval`` + ``value``), both in the schedule's ``timezone`` (default UTC):

- ``minute`` / ``hour``: elapsed time. Every N minutes (hours) of real time, on the grid of
  whole multiples of N minutes (hours) since 2001-01-01 00:00 in the schedule's zone (a
  Monday), so every 15 minutes lands on :00, :15, :30, :45 and every hour on the hour. A DST
  change does not move these: they keep firing every N minutes through it.
- ``day``: 00:00 local time every N days (counted from 2001-01-01), ``week``: Mondays at
  00:00 every N weeks, ``month``: the 1st at 00:00 every N months (January 2001 is month 0).

Wall-clock times (cron, day, week, month) follow one DST rule: a local time that happens
twice (fall back) runs once, at its first occurrence; a local time that does not exist
(spring forward) runs once, at the first valid instant after the gap (the transition
itself), however many due times fell into the gap.

All functions take and return aware UTC datetimes.
"""

from __future__ import annotations

import zoneinfo
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from croniter import CroniterError, croniter

INTERVALS = ("minute", "hour", "day", "week", "month")
ANCHOR = date(2001, 1, 1)  # a Monday
MAX_STEPS = 100_000  # candidates examined before giving up (an impossible cron)
# windows (back from "now") tried when looking for the latest due times
_WINDOWS = (timedelta(hours=2), timedelta(days=2), timedelta(days=40), timedelta(days=800))


class InvalidSchedule(ValueError):
    """The schedule's params cannot produce due times (bad cron, zone or interval)."""


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule trigger's params, checked: a cron expression or an interval, and a zone."""

    interval: str = "hour"
    value: int = 1
    cron: str | None = None
    timezone: str = "UTC"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The schedule's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    def as_dict(self) -> dict[str, Any]:
        """Return the spec as the JSON stored with the schedule row."""
        return {
            "interval": self.interval,
            "value": self.value,
            "cron": self.cron,
            "timezone": self.timezone,
        }


def parse_spec(params: Mapping[str, Any]) -> ScheduleSpec:
    """Return the ``ScheduleSpec`` of a schedule node's params; raise ``InvalidSchedule``."""
    cron = params.get("cron")
    cron = cron.strip() if isinstance(cron, str) and cron.strip() else None
    zone = str(params.get("timezone") or "UTC").strip() or "UTC"
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidSchedule(f"unknown timezone {zone!r}") from exc
    if cron is not None:
        if not croniter.is_valid(cron):
            raise InvalidSchedule(f"invalid cron expression {cron!r}")
        return ScheduleSpec(cron=cron, timezone=zone)
    interval = str(params.get("interval") or "hour")
    if interval not in INTERVALS:
        raise InvalidSchedule(f"unknown interval {interval!r}")
    value = params.get("value", 1)
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise InvalidSchedule(f"interval value {value!r} is not a whole number")
    if int(value) < 1:
        raise InvalidSchedule("interval value must be at least 1")
    return ScheduleSpec(interval=interval, value=int(value), timezone=zone)


def to_utc(local: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """Return the UTC instant of naive wall time ``local`` in ``zone`` (the DST rule).

    A repeated wall time maps to its first occurrence; a skipped one to the end of the gap.
    """
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first
    # in a gap: the earliest instant whose wall time is not before ``local``
    low = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= local:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def _wall(moment: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _elapsed_after(spec: ScheduleSpec, after: datetime) -> datetime:
    step = timedelta(minutes=spec.value if spec.interval == "minute" else 60 * spec.value)
    anchor = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, tzinfo=spec.zone).astimezone(UTC)
    periods = (after - anchor) // step
    return anchor + (periods + 1) * step


def _local_candidates(spec: ScheduleSpec, after: datetime) -> Iterator[datetime]:
    """Yield the naive local wall times of a wall-clock schedule from ``after``'s day on."""
    wall = _wall(after, spec.zone)
    if spec.cron is not None:
        # a wall time not after ``wall`` never maps after ``after`` (gaps map forward only
        # to instants whose wall time is later, repeats map back to the first pass)
        cursor = croniter(spec.cron, wall)
        while True:
            yield cursor.get_next(datetime)
    day = wall.date() - timedelta(days=1)
    if spec.interval == "month":
        month = (day.year - ANCHOR.year) * 12 + day.month - 1
        month -= month % spec.value
        while True:
            year, index = divmod(month, 12)
            yield datetime(ANCHOR.year + year, index + 1, 1)
            month += spec.value
    step = spec.value * (7 if spec.interval == "week" else 1)
    offset = (day - ANCHOR).days % step
    current = day - timedelta(days=offset)
    while True:
        yield datetime(current.year, current.month, current.day)
        current += timedelta(days=step)


def next_due(spec: ScheduleSpec, after: datetime) -> datetime:
    """Return the first due time strictly after ``after`` (aware, UTC).

    Raises ``InvalidSchedule`` when none comes within ``MAX_STEPS`` candidates.
    """
    after = after.astimezone(UTC)
    if spec.cron is None and spec.interval in ("minute", "hour"):
        return _elapsed_after(spec, after)
    try:
        for steps, local in enumerate(_local_candidates(spec, after)):
            moment = to_utc(local, spec.zone)
            if moment > after:
                return moment
            if steps > MAX_STEPS:
                break
    except CroniterError as exc:  # e.g. "0 0 30 2 *": well formed, but no such day
        raise InvalidSchedule(f"the schedule never comes due: {exc}") from None
    raise InvalidSchedule("the schedule never comes due")


def due_between(
    spec: ScheduleSpec, start: datetime, end: datetime, limit: int = MAX_STEPS
) -> list[datetime]:
    """Return the due times ``t`` with ``start < t <= end``, oldest first, at most ``limit``."""
    found: list[datetime] = []
    moment = next_due(spec, start)
    while moment <= end and len(found) < limit:
        found.append(moment)
        moment = next_due(spec, moment)
    return found


def latest_due(spec: ScheduleSpec, since: datetime, now: datetime, count: int) -> list[datetime]:
    """Return the last ``count`` due times in ``[since, now]``, oldest first.

    Looks back from ``now`` in growing windows, so a long downtime costs little.
    """
    since = since - timedelta(microseconds=1)
    for window in _WINDOWS:
        start = max(since, now - window)
        found = _tail(spec, start, now, count)
        if len(found) >= count or start == since:
            return found
    return _tail(spec, since, now, count)


def _tail(spec: ScheduleSpec, start: datetime, end: datetime, count: int) -> list[datetime]:
    found: deque[datetime] = deque(maxlen=count)
    moment = next_due(spec, start)
    while moment <= end:
        found.append(moment)
        moment = next_due(spec, moment)
    return list(found)
