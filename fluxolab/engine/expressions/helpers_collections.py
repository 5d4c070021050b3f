"""Helpers on arrays and objects; they never mutate their receiver and charge a step per element."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .callables import VARIADIC, Builtin, define, int_arg, text_arg
from .convert import to_json_text, to_text
from .errors import ExpressionError
from .helpers_text import clamp_index
from .names import check_index_key
from .runtime import Runtime
from .values import is_number, js_number, parse_number_text, strict_equals, type_name

LIST_METHODS: dict[str, Builtin] = {}
OBJECT_METHODS: dict[str, Builtin] = {}


@define(LIST_METHODS, "join", 0, 1)
def _join(rt: Runtime, items: Sequence[Any], args: list[Any]) -> str:
    separator = text_arg(args, 0, "join()", ",")
    rt.step(len(items))
    parts: list[str] = []
    total = 0
    for item in items:
        part = to_text(item, rt)
        total += len(part) + len(separator)
        rt.check_size(total - len(separator))
        parts.append(part)
    return separator.join(parts)


@define(LIST_METHODS, "includes", 1)
def _includes(rt: Runtime, items: Sequence[Any], args: list[Any]) -> bool:
    return _index_of(rt, items, args) >= 0


@define(LIST_METHODS, "indexOf", 1)
def _index_of(rt: Runtime, items: Sequence[Any], args: list[Any]) -> int:
    rt.step(len(items))
    for position, item in enumerate(items):
        if strict_equals(item, args[0]):
            return position
    return -1


@define(LIST_METHODS, "slice", 0, 2)
def _slice(rt: Runtime, items: Sequence[Any], args: list[Any]) -> list[Any]:
    start = clamp_index(int_arg(args, 0, "slice()", 0), len(items))
    end = clamp_index(int_arg(args, 1, "slice()", len(items)), len(items))
    return list(items[start:end])


@define(LIST_METHODS, "first")
def _first(rt: Runtime, items: Sequence[Any], args: list[Any]) -> Any:
    return items[0] if items else None


@define(LIST_METHODS, "last")
def _last(rt: Runtime, items: Sequence[Any], args: list[Any]) -> Any:
    return items[-1] if items else None


@define(LIST_METHODS, "concat", 0, VARIADIC)
def _concat(rt: Runtime, items: Sequence[Any], args: list[Any]) -> list[Any]:
    result = list(items)
    for arg in args:
        if isinstance(arg, list | tuple):
            rt.check_size(len(result) + len(arg))
            result.extend(arg)
        else:
            result.append(arg)
    rt.check_size(len(result))
    rt.step(len(args))
    return result


@define(LIST_METHODS, "reverse")
def _reverse(rt: Runtime, items: Sequence[Any], args: list[Any]) -> list[Any]:
    return list(reversed(items))


@define(LIST_METHODS, "sort")
def _sort(rt: Runtime, items: Sequence[Any], args: list[Any]) -> list[Any]:
    rt.step(len(items) * max(len(items).bit_length(), 1))
    if all(is_number(item) for item in items):
        return sorted(items, key=lambda n: (math.isnan(n), 0 if math.isnan(n) else n))
    if all(isinstance(item, str) for item in items):
        return sorted(items)
    present = [item for item in items if item is not None]
    ordered = sorted(present, key=lambda item: to_text(item, rt))
    return ordered + [None] * (len(items) - len(present))


def _identity(rt: Runtime, value: Any) -> tuple[str, Any]:
    """Return a hashable key that is equal for values that are `===` (arrays/objects by value)."""
    if value is None:
        return ("null", None)
    if isinstance(value, bool):
        return ("boolean", value)
    if is_number(value):
        return ("number", value)
    if isinstance(value, str | datetime):
        return (type_name(value), value)
    return ("json", to_json_text(value, rt))


@define(LIST_METHODS, "unique")
def _unique(rt: Runtime, items: Sequence[Any], args: list[Any]) -> list[Any]:
    rt.step(len(items))
    seen: set[tuple[str, Any]] = set()
    result = []
    for item in items:
        key = _identity(rt, item)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def _numbers(rt: Runtime, items: Sequence[Any], what: str) -> list[int | float]:
    """Return the items as numbers (numeric strings allowed); raise ExpressionError otherwise."""
    rt.step(len(items))
    numbers: list[int | float] = []
    for item in items:
        number = parse_number_text(item) if isinstance(item, str) else item
        if not is_number(number) or (isinstance(number, float) and math.isnan(number)):
            raise ExpressionError(f"{what} needs an array of numbers, found {type_name(item)}")
        numbers.append(number)
    return numbers


@define(LIST_METHODS, "sum")
def _sum(rt: Runtime, items: Sequence[Any], args: list[Any]) -> int | float:
    return js_number(math.fsum(_numbers(rt, items, "sum()")))


@define(LIST_METHODS, "min")
def _min(rt: Runtime, items: Sequence[Any], args: list[Any]) -> int | float | None:
    numbers = _numbers(rt, items, "min()")
    return min(numbers) if numbers else None


@define(LIST_METHODS, "max")
def _max(rt: Runtime, items: Sequence[Any], args: list[Any]) -> int | float | None:
    numbers = _numbers(rt, items, "max()")
    return max(numbers) if numbers else None


@define(LIST_METHODS, "pluck", 1, VARIADIC)
def _pluck(rt: Runtime, items: Sequence[Any], args: list[Any]) -> list[Any]:
    fields = [check_index_key(text_arg(args, i, "pluck()")) for i in range(len(args))]
    rt.step(len(items) * len(fields))
    if len(fields) == 1:
        return [item.get(fields[0]) if isinstance(item, Mapping) else None for item in items]
    return [
        {field: item.get(field) for field in fields} if isinstance(item, Mapping) else None
        for item in items
    ]


@define(LIST_METHODS, "compact")
def _compact(rt: Runtime, items: Sequence[Any], args: list[Any]) -> list[Any]:
    rt.step(len(items))
    return [item for item in items if item is not None and not (isinstance(item, str) and not item)]


@define(LIST_METHODS, "isEmpty")
def _list_is_empty(rt: Runtime, items: Sequence[Any], args: list[Any]) -> bool:
    return len(items) == 0


@define(OBJECT_METHODS, "keys")
def _keys(rt: Runtime, data: Mapping[str, Any], args: list[Any]) -> list[Any]:
    rt.step(len(data))
    return list(data.keys())


@define(OBJECT_METHODS, "values")
def _values(rt: Runtime, data: Mapping[str, Any], args: list[Any]) -> list[Any]:
    rt.step(len(data))
    return list(data.values())


@define(OBJECT_METHODS, "hasField has", 1)
def _has_field(rt: Runtime, data: Mapping[str, Any], args: list[Any]) -> bool:
    return text_arg(args, 0, "hasField()") in data


@define(OBJECT_METHODS, "isEmpty")
def _object_is_empty(rt: Runtime, data: Mapping[str, Any], args: list[Any]) -> bool:
    return len(data) == 0
