"""Dates: conversion to aware datetimes, Luxon-style formatting, arithmetic and properties."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from dateutil.parser import isoparse
from dateutil.relativedelta import relativedelta

from .callables import Builtin, define, number_arg, text_arg
from .errors import ExpressionError
from .runtime import Runtime
from .values import date_to_iso, is_number, to_millis, type_name

DATE_METHODS: dict[str, Builtin] = {}
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_UNITS = {
    "year": "years", "quarter": "quarters", "month": "months", "week": "weeks", "day": "days",
    "hour": "hours", "minute": "minutes", "second": "seconds", "millisecond": "milliseconds",
}  # fmt: skip
_UNITS.update({plural: plural for plural in list(_UNITS.values())})

DATE_PROPERTIES: dict[str, Callable[[datetime], int]] = {
    "year": lambda d: d.year,
    "month": lambda d: d.month,
    "day": lambda d: d.day,
    "hour": lambda d: d.hour,
    "minute": lambda d: d.minute,
    "second": lambda d: d.second,
    "millisecond": lambda d: d.microsecond // 1000,
    "weekday": lambda d: d.isoweekday(),
}


def _offset(value: datetime, separator: str, narrow: bool = False) -> str:
    delta = value.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    if narrow and rest == 0:
        return f"{sign}{hours}"
    return f"{sign}{hours:02d}{separator}{rest:02d}"


_TOKENS: dict[str, Callable[[datetime], str]] = {
    "yyyy": lambda d: f"{d.year:04d}",
    "yy": lambda d: f"{d.year % 100:02d}",
    "y": lambda d: str(d.year),
    "q": lambda d: str((d.month - 1) // 3 + 1),
    "MMMM": lambda d: _MONTHS[d.month - 1],
    "MMM": lambda d: _MONTHS[d.month - 1][:3],
    "MM": lambda d: f"{d.month:02d}",
    "M": lambda d: str(d.month),
    "WW": lambda d: f"{d.isocalendar().week:02d}",
    "W": lambda d: str(d.isocalendar().week),
    "dd": lambda d: f"{d.day:02d}",
    "d": lambda d: str(d.day),
    "EEEE": lambda d: _WEEKDAYS[d.weekday()],
    "EEE": lambda d: _WEEKDAYS[d.weekday()][:3],
    "E": lambda d: str(d.isoweekday()),
    "HH": lambda d: f"{d.hour:02d}",
    "H": lambda d: str(d.hour),
    "hh": lambda d: f"{d.hour % 12 or 12:02d}",
    "h": lambda d: str(d.hour % 12 or 12),
    "mm": lambda d: f"{d.minute:02d}",
    "m": lambda d: str(d.minute),
    "ss": lambda d: f"{d.second:02d}",
    "s": lambda d: str(d.second),
    "SSS": lambda d: f"{d.microsecond // 1000:03d}",
    "S": lambda d: str(d.microsecond // 1000),
    "a": lambda d: "AM" if d.hour < 12 else "PM",
    "ZZZ": lambda d: _offset(d, ""),
    "ZZ": lambda d: _offset(d, ":"),
    "Z": lambda d: _offset(d, ":", narrow=True),
    "X": lambda d: str(to_millis(d) // 1000),
    "x": lambda d: str(to_millis(d)),
}


def format_date(value: datetime, pattern: str) -> str:
    """Format with Luxon tokens (yyyy MM dd HH mm ss SSS EEE a ZZ ...); 'quoted' text is literal."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            end = pattern.find("'", index + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[index + 1 : end] or "'")
            index = end + 1
            continue
        run = index
        while run < len(pattern) and pattern[run] == char and char.isalpha():
            run += 1
        run = max(run, index + 1)
        token = pattern[index:run]
        out.append(_TOKENS[token](value) if token in _TOKENS else token)
        index = run
    return "".join(out)


def to_datetime(rt: Runtime, value: Any) -> datetime:
    """Convert ISO text, epoch milliseconds or a date to an aware datetime (naive: scope zone)."""
    zone = rt.scope.now.tzinfo
    try:
        if isinstance(value, datetime):
            parsed = value
        elif is_number(value):
            parsed = datetime.fromtimestamp(value / 1000, tz=zone)
        elif isinstance(value, str):
            parsed = isoparse(value.strip())
        else:
            raise ExpressionError(f"Cannot convert {type_name(value)} to a date")
    except (ValueError, OverflowError, OSError) as error:
        raise ExpressionError(f"Cannot convert {str(value)[:60]!r} to a date ({error})") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def _delta(args: list[Any], what: str) -> relativedelta:
    """Build a duration from `{days: 1, hours: 2}` or `(amount, 'unit')` (a bare number is ms)."""
    if len(args) == 1 and isinstance(args[0], Mapping):
        parts = {key: value for key, value in args[0].items()}
    else:
        parts = {text_arg(args, 1, what, "milliseconds"): number_arg(args, 0, what)}
    amounts: dict[str, float] = {}
    for key, amount in parts.items():
        unit = _UNITS.get(str(key))
        if unit is None or not is_number(amount):
            raise ExpressionError(f"{what} got an unknown unit or a non-number: {str(key)[:40]!r}")
        amounts[unit] = amounts.get(unit, 0) + amount
    months = amounts.pop("quarters", 0) * 3 + amounts.pop("months", 0)
    years = amounts.pop("years", 0)
    micro = amounts.pop("milliseconds", 0) * 1000
    if int(years) != years or int(months) != months:
        raise ExpressionError(f"{what} needs whole numbers of years, quarters and months")
    return relativedelta(years=int(years), months=int(months), microseconds=micro, **amounts)


def _shift(value: datetime, args: list[Any], what: str, sign: int) -> datetime:
    try:
        delta = _delta(args, what)
        return value + delta if sign > 0 else value - delta
    except (OverflowError, ValueError) as error:
        raise ExpressionError(f"{what} produced a date out of range ({error})") from None


def _start_of(value: datetime, unit: str) -> datetime:
    unit = _UNITS.get(unit, unit).rstrip("s")
    midnight = value.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = {
        "year": lambda: midnight.replace(month=1, day=1),
        "quarter": lambda: midnight.replace(month=(value.month - 1) // 3 * 3 + 1, day=1),
        "month": lambda: midnight.replace(day=1),
        "week": lambda: midnight - timedelta(days=value.weekday()),
        "day": lambda: midnight,
        "hour": lambda: value.replace(minute=0, second=0, microsecond=0),
        "minute": lambda: value.replace(second=0, microsecond=0),
        "second": lambda: value.replace(microsecond=0),
    }
    if unit not in starts:
        raise ExpressionError(f"Unknown date unit {unit[:40]!r}")
    return starts[unit]()


@define(DATE_METHODS, "toISO toString")
def _to_iso(rt: Runtime, value: datetime, args: list[Any]) -> str:
    return date_to_iso(value)


@define(DATE_METHODS, "toISODate")
def _to_iso_date(rt: Runtime, value: datetime, args: list[Any]) -> str:
    return value.date().isoformat()


@define(DATE_METHODS, "toMillis")
def _to_millis(rt: Runtime, value: datetime, args: list[Any]) -> int:
    return to_millis(value)


@define(DATE_METHODS, "format toFormat", 1)
def _format(rt: Runtime, value: datetime, args: list[Any]) -> str:
    pattern = text_arg(args, 0, "format()")
    rt.check_size(len(pattern))
    return rt.text(format_date(value, pattern))


@define(DATE_METHODS, "plus", 1, 2)
def _plus(rt: Runtime, value: datetime, args: list[Any]) -> datetime:
    return _shift(value, args, "plus()", 1)


@define(DATE_METHODS, "minus", 1, 2)
def _minus(rt: Runtime, value: datetime, args: list[Any]) -> datetime:
    return _shift(value, args, "minus()", -1)


@define(DATE_METHODS, "startOf", 1)
def _start(rt: Runtime, value: datetime, args: list[Any]) -> datetime:
    return _start_of(value, text_arg(args, 0, "startOf()"))


@define(DATE_METHODS, "endOf", 1)
def _end(rt: Runtime, value: datetime, args: list[Any]) -> datetime:
    unit = text_arg(args, 0, "endOf()")
    start = _start_of(value, unit)
    return _shift(start, [1, _UNITS.get(unit, unit)], "endOf()", 1) - timedelta(milliseconds=1)
