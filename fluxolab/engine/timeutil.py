"""Date helpers shared by nodes: parsing user dates, timezone checks."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dateutil import parser as date_parser

from fluxolab.engine.errors import NodeError

EPOCH_MS_THRESHOLD = 100_000_000_000  # epoch numbers above this are milliseconds


def parse_datetime(value: Any, field: str) -> datetime:
    """Return an aware datetime from a datetime or ISO/date text (naive means UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = date_parser.isoparse(value.strip())
        except ValueError:
            try:
                moment = date_parser.parse(value.strip())
            except (ValueError, OverflowError) as exc:
                raise NodeError(f"Field '{field}': {value!r} is not a date") from exc
    else:
        raise NodeError(f"Field '{field}': {value!r} is not a date")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_datetime(value: Any, field: str) -> datetime:
    """Return an aware datetime from date text, a datetime or epoch seconds/milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= EPOCH_MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise NodeError(f"Field '{field}': {value!r} is out of range") from exc
    return parse_datetime(value, field)


def timezone_issues(params: Mapping[str, Any], field: str = "timezone") -> list[tuple[str, str]]:
    """Report a timezone that is not an IANA name known to this system."""
    name = params.get(field)
    if not isinstance(name, str) or not name:
        return []
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [(field, f"unknown timezone '{name}'")]
    return []
