"""JavaScript-flavoured semantics over plain values: numbers, truthiness, equality, ordering.

Values seen by the evaluator are JSON data (None, bool, int, float, str, list/tuple, Mapping),
timezone-aware datetimes and `Internal` wrappers (functions, namespaces, `$input`/`$node`).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1
NAN = float("nan")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_PREFIXED = re.compile(r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+")
_INFINITY = {"Infinity": math.inf, "+Infinity": math.inf, "-Infinity": -math.inf}


class Internal:
    """Base of evaluator-owned objects that are not data (functions, namespaces, proxies)."""

    __slots__ = ()
    kind = "internal value"

    @property
    def label(self) -> str:
        """Return a short human-readable name for error messages."""
        return self.kind


def is_number(value: Any) -> bool:
    """Return True for int/float values that are not bools."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def js_number(value: int | float) -> int | float:
    """Normalise a number: integral floats in the safe range become ints, huge ints floats."""
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if value.is_integer() and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return int(value)
    return value


def to_millis(value: datetime) -> int:
    """Return the Unix epoch milliseconds of an aware datetime."""
    return (value - EPOCH) // timedelta(milliseconds=1)


def parse_number_text(text: str) -> int | float:
    """Parse text the way JavaScript's Number() does; NaN when it is not a number."""
    text = text.strip()
    if not text:
        return 0
    if text in _INFINITY:
        return _INFINITY[text]
    if _PREFIXED.fullmatch(text):
        return js_number(int(text, 0))
    if _DECIMAL.fullmatch(text):
        return js_number(float(text))
    return NAN


def to_number(value: Any) -> int | float:
    """Convert like JavaScript's Number(); null and missing values count as 0."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return parse_number_text(value)
    if isinstance(value, datetime):
        return to_millis(value)
    return NAN


def number_to_text(value: int | float) -> str:
    """Format a number like JavaScript's String(): no trailing '.0', NaN/Infinity spelled out."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def truthy(value: Any) -> bool:
    """Return JavaScript truthiness: null, false, 0, NaN and '' are false; [] and {} are true."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def type_name(value: Any) -> str:
    """Name the JavaScript-ish type of a value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, datetime):
        return "date"
    if isinstance(value, Internal):
        return value.kind
    return "unsupported value"


def strict_equals(left: Any, right: Any, depth: int = 0) -> bool:
    """Compare like `===`, except that arrays and objects compare by value, not identity."""
    if depth > 256:
        return left is right
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if is_number(left) and is_number(right):
        return bool(left == right)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(
            strict_equals(a, b, depth + 1) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(
            strict_equals(left[key], right[key], depth + 1) for key in left
        )
    if type(left) is type(right) and isinstance(left, str | datetime):
        return bool(left == right)
    return left is right


def loose_equals(left: Any, right: Any) -> bool:
    """Compare like `==`: numbers, booleans and numeric strings compare numerically."""
    if left is None or right is None:
        return left is None and right is None
    scalar = (bool, int, float, str)
    if isinstance(left, scalar) and isinstance(right, scalar):
        if isinstance(left, str) and isinstance(right, str):
            return left == right
        return bool(to_number(left) == to_number(right))
    return strict_equals(left, right)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compare(op: str, left: Any, right: Any) -> bool:
    """Order two values like JavaScript: strings by text, dates by time, the rest as numbers."""
    if isinstance(left, str) and isinstance(right, str):
        return _ORDER[op](left, right)
    if isinstance(left, datetime) and isinstance(right, datetime):
        return _ORDER[op](left, right)
    return _ORDER[op](to_number(left), to_number(right))


def date_to_iso(value: datetime) -> str:
    """Format a datetime as ISO-8601 with milliseconds and its UTC offset."""
    return value.isoformat(timespec="milliseconds")
