"""The Date & Time node: now, parse, format, add, subtract and diff, timezone-aware.

The input date is the item field ``field`` when set, else ``value``. Dates come out as text in
``format`` (``iso`` by default, ``unix``/``unix_ms`` numbers, or a ``strftime`` pattern) in
``timezone``; ``diff`` writes a number of ``unit``s from the date to ``endValue`` (default now).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from fluxolab.engine.call import NodeCall
from fluxolab.engine.conditions import to_number
from fluxolab.engine.context import Item
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.paths import MISSING, get_path, set_path, split_path
from fluxolab.engine.schemas import any_value, choice, obj, prop
from fluxolab.engine.timeutil import timezone_issues, to_datetime

OPERATIONS = ("now", "format", "parse", "add", "subtract", "diff")
UNITS = ("seconds", "minutes", "hours", "days", "weeks", "months", "years")
EXACT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86_400, "weeks": 604_800}


def format_datetime(moment: datetime, pattern: str) -> Any:
    """Return ``moment`` as ISO text, epoch seconds/milliseconds, or ``strftime`` text."""
    if pattern in ("", "iso"):
        return moment.isoformat()
    if pattern == "unix":
        return int(moment.timestamp())
    if pattern == "unix_ms":
        return int(moment.timestamp() * 1000)
    return moment.strftime(pattern)


def _shift(moment: datetime, amount: Any, unit: str, sign: int) -> datetime:
    """Return ``moment`` moved by ``amount`` units (calendar-aware for months and years)."""
    number = to_number(amount)
    if number is None:
        raise NodeError(f"Field 'amount': {amount!r} is not a number")
    try:
        if unit in EXACT_SECONDS:
            return moment + sign * timedelta(seconds=number * EXACT_SECONDS[unit])
        if not number.is_integer():
            raise NodeError(f"Field 'amount': {unit} must be a whole number")
        return moment + sign * relativedelta(**{unit: int(number)})
    except OverflowError as exc:
        raise NodeError("Field 'amount': the result is out of range") from exc


def _diff(start: datetime, end: datetime, unit: str) -> float | int:
    """Return ``end - start`` in ``unit`` (whole months/years for calendar units)."""
    if unit in EXACT_SECONDS:
        return (end - start).total_seconds() / EXACT_SECONDS[unit]
    delta = relativedelta(end, start)
    months = delta.years * 12 + delta.months
    return months if unit == "months" else delta.years


def _input(call: NodeCall, item: Item, params: Mapping[str, Any]) -> Any:
    """Return the input date: the item field ``field`` when set, else ``value``."""
    field = params.get("field")
    if field:
        value = get_path(item.get("json"), str(field))
        if value is MISSING:
            raise NodeError(f"Field '{field}' is missing from the item")
        return value
    return params.get("value")


def _compute(call: NodeCall, item: Item, params: Mapping[str, Any]) -> Any:
    """Return the operation's result for one item."""
    operation = params.get("operation")
    zone = zoneinfo.ZoneInfo(str(params.get("timezone") or "UTC"))
    pattern = str(params.get("format") or "iso")
    if operation == "now":
        return format_datetime(call.now.astimezone(zone), pattern)
    moment = to_datetime(_input(call, item, params), "value").astimezone(zone)
    unit = str(params.get("unit") or "days")
    if operation in ("add", "subtract"):
        moment = _shift(moment, params.get("amount"), unit, 1 if operation == "add" else -1)
    elif operation == "diff":
        end = params.get("endValue")
        until = call.now if end in (None, "") else to_datetime(end, "endValue")
        return _diff(moment, until.astimezone(zone), unit)
    return format_datetime(moment, pattern)


def run_date_time(call: NodeCall) -> Outputs:
    """Write the operation's result into ``outputField`` of every item."""
    out = []
    for index, item in enumerate(call.items):
        params = call.params(index)
        operation = params.get("operation")
        default = "now" if operation == "now" else "diff" if operation == "diff" else "date"
        name = str(params.get("outputField") or default)
        try:
            value = _compute(call, item, params)
        except zoneinfo.ZoneInfoNotFoundError as exc:
            raise NodeError(
                f"Field 'timezone': unknown timezone {params.get('timezone')!r}"
            ) from exc
        data = dict(item.get("json") or {})
        set_path(data, split_path(name), value)
        out.append({**item, "json": data})
    return {"main": out}


DATE_TIME = NodeType(
    type="date-time",
    name="Date & Time",
    description="Get, parse, format and calculate dates",
    category="data",
    icon="calendar-clock",
    run=run_date_time,
    config_schema=obj(
        {
            "operation": choice("Operation", OPERATIONS, "now"),
            "field": prop("string", "Date field in the item"),
            "value": any_value("Date (when no field)"),
            "endValue": any_value("End date (diff; default now)"),
            "format": prop(
                "string", "Output format (iso, unix, unix_ms or strftime)", default="iso"
            ),
            "amount": prop("number", "Amount (add/subtract)", default=1),
            "unit": choice("Unit", UNITS, "days"),
            "outputField": prop("string", "Output field"),
            "timezone": prop("string", "Timezone", default="UTC"),
        },
        required=["operation"],
    ),
    check=timezone_issues,
)

NODE_TYPES = (DATE_TIME,)
