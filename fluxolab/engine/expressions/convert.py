"""Bounded conversions of evaluator values into plain JSON data and text.

Copying data that already exists (the scope's payload) is free; every repeated occurrence of the
same list, dict or long string (e.g. `[$json, $json, ...]`) counts its full size against
max_result_chars, so a result can never expand into something much larger than its inputs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .errors import ExpressionError
from .runtime import Runtime
from .values import Internal, date_to_iso, number_to_text

MAX_DATA_DEPTH = 256
_CLOCK_EVERY = 4096
_SHARED_TEXT_CHARS = 256


def clone(value: Any) -> Any:
    """Return a deep copy of plain JSON data (dicts and lists; scalars are shared)."""
    if isinstance(value, dict):
        return {key: clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone(item) for item in value]
    return value


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return to_scalar_text(key)
    raise ExpressionError(f"Object keys of type '{type(key).__name__}' are not supported")


class Converter:
    """Copies a value into plain JSON data and measures it; repeated sub-structures are charged."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._seen: dict[int, tuple[Any, Any, int]] = {}
        self._active: set[int] = set()
        self._texts: dict[int, str] = {}
        self._duplicated = 0
        self._containers = 0

    def plain(self, value: Any) -> tuple[Any, int]:
        """Return (copy, size): a JSON-safe copy and a lower bound of its compact JSON length."""
        return self._copy(value, 0)

    def _copy(self, value: Any, depth: int) -> tuple[Any, int]:
        if value is None or isinstance(value, bool | int):
            return value, 1
        if isinstance(value, float):
            return (value if math.isfinite(value) else None), 1
        if isinstance(value, str):
            if len(value) > _SHARED_TEXT_CHARS:
                self._charge_repeat(value)
            return value, len(value) + 2
        if isinstance(value, datetime):
            text = date_to_iso(value)
            return text, len(text) + 2
        if isinstance(value, list | tuple | Mapping):
            return self._container(value, depth)
        if isinstance(value, Internal):
            raise ExpressionError(
                f"{value.label} is not a value: call it or read one of its fields"
            )
        raise ExpressionError(
            f"Values of type '{type(value).__name__}' cannot be used in expressions"
        )

    def _charge_repeat(self, text: str) -> None:
        """Count a long string's repeated occurrences (the same object again) as duplication."""
        if id(text) in self._texts:
            self._duplicated += len(text)
            self.runtime.check_size(self._duplicated)
        else:
            self._texts[id(text)] = text

    def _container(self, value: Any, depth: int) -> tuple[Any, int]:
        key = id(value)
        seen = self._seen.get(key)
        if seen is not None:
            self._duplicated += seen[2]
            self.runtime.check_size(self._duplicated)
            return clone(seen[1]), seen[2]
        if key in self._active:
            raise ExpressionError("Value refers to itself (reference cycle)")
        if depth >= MAX_DATA_DEPTH:
            raise ExpressionError(f"Value is nested too deeply (limit {MAX_DATA_DEPTH})")
        self._containers += 1
        if self._containers % _CLOCK_EVERY == 0:
            self.runtime.check_clock()
        self._active.add(key)
        if isinstance(value, Mapping):
            copy, size = self._mapping(value, depth)
        else:
            copy, size = self._sequence(value, depth)
        self._active.discard(key)
        self._seen[key] = (value, copy, size)
        return copy, size

    def _mapping(self, value: Mapping[Any, Any], depth: int) -> tuple[Any, int]:
        copy: dict[str, Any] = {}
        size = 2
        for key, item in value.items():
            text = _key_text(key)
            copy[text], item_size = self._copy(item, depth + 1)
            size += len(text) + 4 + item_size
        return copy, size

    def _sequence(self, value: Any, depth: int) -> tuple[Any, int]:
        copy: list[Any] = []
        size = 2
        for item in value:
            plain_item, item_size = self._copy(item, depth + 1)
            copy.append(plain_item)
            size += item_size + 1
        return copy, size


def to_plain(value: Any, runtime: Runtime) -> Any:
    """Return a JSON-safe copy of `value` (dates become ISO strings, NaN/Infinity become None)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    return Converter(runtime).plain(value)[0]


def to_json_text(value: Any, runtime: Runtime, indent: int | str | None = None) -> str:
    """Serialise `value` as JSON (compact unless `indent`), bounded by max_result_chars.

    The measured size is a lower bound of the compact text, checked before serialising.
    Indentation can multiply it (every line repeats the indent once per nesting level), so
    indented text is built piece by piece and abandoned as soon as it passes the bound.
    """
    plain, size = Converter(runtime).plain(value)
    runtime.check_size(size)
    if indent is None:
        return runtime.text(json.dumps(plain, ensure_ascii=False, separators=(",", ":")))
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ": "), indent=indent)
    pieces: list[str] = []
    total = 0
    for piece in encoder.iterencode(plain):
        total += len(piece)
        runtime.check_size(total)
        pieces.append(piece)
        if len(pieces) % _CLOCK_EVERY == 0:
            runtime.check_clock()
    return "".join(pieces)


def to_scalar_text(value: Any) -> str:
    """Return the text of a scalar: None -> '', booleans 'true'/'false', numbers JS-style."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_to_text(value)
    return str(value)


def to_text(value: Any, runtime: Runtime) -> str:
    """Convert like String(), except None -> '' and arrays/objects -> compact JSON."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool | int | float):
        return to_scalar_text(value)
    if isinstance(value, datetime):
        return date_to_iso(value)
    return to_json_text(value, runtime)
