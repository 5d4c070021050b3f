"""Stored copies of step input/output: JSON-safe and truncated to the per-step byte budget.

Items are never mutated once emitted, so a list of plain JSON items is stored by reference
after one ``json.dumps`` to measure it; only lists holding non-JSON values (datetimes, NaN,
tuples ...) are converted. A list over budget keeps its leading items and ends with the marker
``{"json": {"$truncated": {"items": omitted_count, "bytes": omitted_bytes}}}``.

Text that no database can store as JSON, the NUL character (PostgreSQL's JSONB refuses
``\\u0000``) and unpaired UTF-16 surrogates (not Unicode text: JSONB refuses them, strict JSON
readers reject them), is stored as U+FFFD REPLACEMENT CHARACTER, in keys and values alike;
the run itself sees the data unchanged (until it waits: a resumed run continues from the
stored checkpoint). ``storable_json`` is the database's JSON serialiser
(both backends), so the rule holds for every JSON column: steps, trigger data, run input and
output, checkpoints, errors and responses. Where two keys of one object become equal, the
later one wins, as when a JSON object repeats a key.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from fluxolab.engine.context import Item

TRUNCATED_KEY = "$truncated"
_MARKER_RESERVE = 96  # bytes kept free for the marker item
_MAX_DEPTH = 64


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _dumps(value: Any) -> str | None:
    """Serialise compactly; None when the value holds anything strict JSON cannot encode."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError):
        return None


# One JSON escape at a time, so that an escaped backslash (two characters) never starts an
# escape: a surrogate pair (kept), NUL or an unpaired surrogate (replaced), anything else.
_ESCAPE = re.compile(
    r"\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}|\\u(?P<bad>0000|d[89a-f][0-9a-f]{2})|\\."
)
_REPLACEMENT = "\\ufffd"


def _storable_escape(match: re.Match[str]) -> str:
    """Return a JSON escape as it is stored: NUL and lone surrogates become U+FFFD."""
    return _REPLACEMENT if match.group("bad") else match.group(0)


def storable_json(value: Any) -> str:
    """Serialise ``value`` as JSON text every database stores (NUL, lone surrogates -> U+FFFD).

    The text is ASCII (every other character is an escape), so the only characters that can
    be a problem are escapes, found without decoding anything when there are none.
    """
    text = json.dumps(value)
    if "\\u0000" in text or "\\ud" in text:
        text = _ESCAPE.sub(_storable_escape, text)
    return text


def json_safe(value: Any, depth: int = 0) -> Any:
    """Return a strict-JSON copy of ``value``: dates become ISO text, NaN/inf None, others str."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= _MAX_DEPTH:
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item, depth + 1) for item in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def detached_copy(value: Any) -> Any:
    """Return a deep, strict-JSON copy of ``value`` (shares nothing with the original)."""
    text = _dumps(value)
    return json.loads(text) if text is not None else json_safe(value)


def _measured(items: list[Item]) -> tuple[list[Item], int]:
    """Return a JSON-safe version of ``items`` (the same list when already safe) and its size."""
    text = _dumps(items)
    if text is not None:
        return items, len(text)
    safe = json_safe(items)
    return safe, len(_ENCODER.encode(safe))


def marker(omitted_items: int, omitted_bytes: int) -> Item:
    """Return the item that stands for the items dropped from a stored copy."""
    return {"json": {TRUNCATED_KEY: {"items": omitted_items, "bytes": omitted_bytes}}}


def _truncate(items: list[Item], budget: int) -> tuple[list[Item], int]:
    """Keep leading items while they fit in ``budget`` bytes, then append the marker."""
    kept: list[Item] = []
    used = 2
    room = budget - _MARKER_RESERVE
    for index, item in enumerate(items):
        safe, size = _measured([item])
        size -= 1  # the measured list's brackets count once for the whole list, plus a comma
        if used + size > room:
            omitted = items[index:]
            omitted_bytes = sum(_measured([rest])[1] - 2 for rest in omitted)
            kept.append(marker(len(omitted), omitted_bytes))
            return kept, used + _MARKER_RESERVE
        kept.append(safe[0])
        used += size
    return kept, used


class StepStore:
    """Makes stored copies for one run, measuring each distinct list only once.

    A node's output list is usually the next node's input list, so sizes are remembered by
    list identity (the lists are kept alive, so identities cannot be reused meanwhile).
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._seen: dict[int, tuple[list[Item], list[Item], int]] = {}

    def _measure(self, items: list[Item]) -> tuple[list[Item], int]:
        """Return the JSON-safe list and its size, from the cache when seen before."""
        if not items:
            return items, 2
        hit = self._seen.get(id(items))
        if hit is not None and hit[0] is items:
            return hit[1], hit[2]
        safe, size = _measured(items)
        self._seen[id(items)] = (items, safe, size)
        return safe, size

    def items(self, items: list[Item], budget: int | None = None) -> tuple[list[Item], int, bool]:
        """Return ``(stored_items, bytes_used, truncated)`` for one list."""
        budget = self.budget if budget is None else budget
        safe, size = self._measure(items)
        if size <= budget:
            return safe, size, False
        kept, used = _truncate(safe, max(budget, _MARKER_RESERVE))
        return kept, used, True

    def outputs(self, outputs: Mapping[str, list[Item]]) -> tuple[dict[str, list[Item]], bool]:
        """Store every output list, sharing the byte budget across them in port order."""
        stored: dict[str, list[Item]] = {}
        truncated = False
        budget = self.budget
        for port, items in outputs.items():
            kept, used, cut = self.items(items, max(budget, 0))
            stored[port] = kept
            budget -= used
            truncated = truncated or cut
        return stored, truncated


def store_items(items: list[Item], budget: int) -> tuple[list[Item], int, bool]:
    """Return ``(stored_items, bytes_used, truncated)`` for one list under a byte ``budget``."""
    return StepStore(budget).items(items)
