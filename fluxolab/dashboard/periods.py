"""Dashboard periods: which instants a period covers, in whole days of the workspace's zone.

A period is ``24h`` (the current hour and the 23 before it, hourly), ``Nd``/``Nw``/``Nm``/
``Ny`` (N local days, weeks of 7, months of 30 or years of 365 days, today included; daily)
or ``custom`` (``from`` .. ``to``, both local dates, inclusive; daily). A day is a whole
calendar day of the workspace's time zone, so a day can last 23 or 25 hours around a DST
change. The last bucket is live: it ends in the future and holds what happened until now.

The previous period is the stretch just before ``start`` as long as the period so far
(``start`` to ``now``, or to the period's end when that is earlier) rounded up to a whole
hour: 24 whole hours before a ``24h`` window, and whole hours of the rollup for any other.
Pure Python: no database.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fluxolab.errors import ValidationFailed

DEFAULT_PERIOD = "7d"
PERIOD_PATTERN = r"^(24h|custom|[1-9][0-9]{0,2}[dwmy])$"
MAX_DAYS = 366
UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
UNIT_NAMES = {"d": "day", "w": "week", "m": "month", "y": "year"}
ONE_HOUR = timedelta(hours=1)
PERIOD_HELP = "Use 24h, 7d, 14d, 30d, 90d, Nd/Nw/Nm/Ny (at most 366 days) or custom with from/to."


@dataclass(frozen=True)
class Bucket:
    """One point of the series: ``[start, end)`` in UTC and its local label."""

    start: datetime
    end: datetime
    label: str


@dataclass(frozen=True)
class Window:
    """A resolved period: its buckets (oldest first), the previous stretch, how to name it."""

    key: str
    label: str
    granularity: str  # "hour" | "day"
    zone: ZoneInfo
    buckets: list[Bucket]
    now: datetime

    @property
    def start(self) -> datetime:
        """The first instant of the period (UTC)."""
        return self.buckets[0].start

    @property
    def end(self) -> datetime:
        """The end of the last bucket (UTC); at or after ``now``."""
        return self.buckets[-1].end

    @property
    def previous(self) -> Bucket:
        """The stretch just before this one, as long as it (start to now, or to the end when
        that is earlier) rounded up to whole hours, so that it is made of rolled hours."""
        length = max(min(self.now, self.end) - self.start, timedelta(0))
        hours = -(-length // ONE_HOUR)
        return Bucket(self.start - hours * ONE_HOUR, self.start, "previous")


def zone_of(name: str | None) -> ZoneInfo:
    """Return the zone named ``name``; an unknown or empty name is UTC."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@functools.lru_cache(maxsize=4096)
def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of local ``day`` in ``zone``, as UTC (cached: reads walk windows
    day by day)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@functools.lru_cache(maxsize=8192)
def local_iso(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as ISO-8601 local time of ``zone`` (cached: every read of a period writes
    the same bucket bounds)."""
    return moment.astimezone(zone).isoformat()


def floor_hour(moment: datetime, zone: ZoneInfo) -> datetime:
    """The start (UTC) of the local clock hour of ``zone`` holding ``moment``."""
    local = moment.astimezone(zone)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def next_hour(moment: datetime, zone: ZoneInfo) -> datetime:
    """The start of the local hour after the one holding ``moment``."""
    start = floor_hour(moment, zone)
    following = floor_hour(start + ONE_HOUR, zone)
    return following if following > start else start + ONE_HOUR


def hour_starts(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """The starts of the local hours meeting ``[start, end)``, oldest first."""
    hours, moment = [], floor_hour(start, zone)
    while moment < end:
        hours.append(moment)
        moment = next_hour(moment, zone)
    return hours


def _refuse(message: str, field: str = "period") -> ValidationFailed:
    return ValidationFailed(message, errors={field: [message]})


def resolve(
    period: str | None,
    zone: ZoneInfo,
    now: datetime,
    *,
    first_day: date | None = None,
    last_day: date | None = None,
) -> Window:
    """Resolve a period key into its ``Window``; ``ValidationFailed`` (422) when it is invalid."""
    key = (period or DEFAULT_PERIOD).strip()
    if not re.match(PERIOD_PATTERN, key):
        raise _refuse(f"Periodo invalido: '{key[:20]}'. {PERIOD_HELP}")
    if key == "24h":
        return _hours(zone, now)
    if key == "custom":
        return _custom(zone, now, first_day, last_day)
    count, unit = int(key[:-1]), key[-1]
    days = count * UNIT_DAYS[unit]
    if days > MAX_DAYS:
        raise _refuse(f"Periodo longo demais: {key} passa de {MAX_DAYS} dias. {PERIOD_HELP}")
    today = now.astimezone(zone).date()
    name = UNIT_NAMES[unit] + ("s" if count != 1 else "")
    return _days(key, f"Last {count} {name}", zone, now, today - timedelta(days=days - 1), today)


def _hours(zone: ZoneInfo, now: datetime) -> Window:
    """The current local hour and the 23 before it."""
    local = now.astimezone(zone)
    current = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    buckets = []
    for back in range(23, -1, -1):
        start = current - timedelta(hours=back)
        label = start.astimezone(zone).strftime("%Y-%m-%dT%H:00")
        buckets.append(Bucket(start, start + timedelta(hours=1), label))
    return Window("24h", "Last 24 hours", "hour", zone, buckets, now)


def _custom(zone: ZoneInfo, now: datetime, first_day: date | None, last_day: date | None) -> Window:
    """``from`` .. ``to`` (local dates, inclusive); both required, not in the future."""
    if first_day is None or last_day is None:
        raise _refuse("Periodo custom exige 'from' e 'to' (datas ISO, AAAA-MM-DD).")
    today = now.astimezone(zone).date()
    if first_day > last_day:
        raise _refuse("'from' deve ser anterior ou igual a 'to'.", "from")
    if first_day > today:
        raise _refuse("'from' nao pode estar no futuro.", "from")
    last_day = min(last_day, today)
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise _refuse(f"Periodo longo demais: no maximo {MAX_DAYS} dias.", "to")
    label = f"{first_day.isoformat()} - {last_day.isoformat()}"
    return _days("custom", label, zone, now, first_day, last_day)


def _days(
    key: str, label: str, zone: ZoneInfo, now: datetime, first_day: date, last_day: date
) -> Window:
    """One bucket per local day from ``first_day`` to ``last_day`` (inclusive)."""
    buckets = []
    day = first_day
    while day <= last_day:
        following = day + timedelta(days=1)
        buckets.append(
            Bucket(local_midnight(day, zone), local_midnight(following, zone), day.isoformat())
        )
        day = following
    return Window(key, label, "day", zone, buckets, now)
