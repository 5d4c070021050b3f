"""Member access, indexing and calls, dispatched by receiver type through allow-listed tables.

Nothing here uses Python attribute access on values: data is read with Mapping/Sequence lookups,
helpers come from fixed tables, and evaluator objects expose only their declared members.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .callables import Builtin, Scripted
from .convert import to_scalar_text
from .errors import ExpressionError
from .helpers_collections import LIST_METHODS, OBJECT_METHODS
from .helpers_dates import DATE_METHODS, DATE_PROPERTIES
from .helpers_text import BOOLEAN_METHODS, NUMBER_METHODS, STRING_METHODS
from .names import check_index_key
from .runtime import Runtime
from .values import is_number, type_name

_NO_METHODS: dict[str, Builtin] = {}


def get_member(value: Any, name: str) -> Any:
    """Read `value.name`: object keys, `length`, date parts; missing or null gives None."""
    if isinstance(value, Mapping):
        return value.get(name)
    if isinstance(value, str | list | tuple):
        return len(value) if name == "length" else None
    if isinstance(value, datetime):
        part = DATE_PROPERTIES.get(name)
        return part(value) if part else None
    if isinstance(value, Scripted):
        return value.get(name)
    if value is None or isinstance(value, bool | int | float):
        return None
    raise ExpressionError(f"Cannot read '{name}' of {type_name(value)}")


def get_index(value: Any, key: Any) -> Any:
    """Read `value[key]`: array positions, string characters, object keys (never '__' keys)."""
    if isinstance(value, list | tuple | str):
        if is_number(key) and math.isfinite(key) and key == int(key):
            position = int(key)
            return value[position] if 0 <= position < len(value) else None
        if isinstance(key, str) and key.isdigit():
            return get_index(value, int(key))
        return get_member(value, key) if isinstance(key, str) else None
    if key is None or isinstance(key, bool | int | float):
        key = to_scalar_text(key) if key is not None else "null"
    if not isinstance(key, str):
        raise ExpressionError(f"Cannot use {type_name(key)} as a key")
    return get_member(value, check_index_key(key))


def _method_table(value: Any) -> dict[str, Builtin]:
    if isinstance(value, str):
        return STRING_METHODS
    if isinstance(value, bool):
        return BOOLEAN_METHODS
    if isinstance(value, int | float):
        return NUMBER_METHODS
    if isinstance(value, list | tuple):
        return LIST_METHODS
    if isinstance(value, Mapping):
        return OBJECT_METHODS
    if isinstance(value, datetime):
        return DATE_METHODS
    return _NO_METHODS


def call_method(rt: Runtime, receiver: Any, name: str, args: list[Any]) -> Any:
    """Call the allow-listed helper `name` of the receiver's type; raise ExpressionError if none."""
    if receiver is None:
        raise ExpressionError(
            f"Cannot call {name}() on a missing value (null); use ?. to allow missing values"
        )
    if isinstance(receiver, Scripted):
        method = receiver.method(name)
        owner = receiver.label
    else:
        method = _method_table(receiver).get(name)
        owner = type_name(receiver)
    if method is None:
        raise ExpressionError(f"Unknown method '{name}' for {owner}")
    return method.invoke(rt, receiver, args)


def call_value(rt: Runtime, function: Any, args: list[Any]) -> Any:
    """Call a function value such as `Number` or `$`; raise ExpressionError for anything else."""
    if isinstance(function, Builtin):
        return function.invoke(rt, None, args)
    raise ExpressionError(f"A {type_name(function)} value is not a function")
