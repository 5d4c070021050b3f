"""Helpers on strings, numbers and booleans (JavaScript names and behaviour, bounded sizes)."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from .callables import Builtin, define, int_arg, text_arg
from .errors import ExpressionError
from .runtime import Runtime
from .values import MAX_SAFE_INTEGER, js_number, number_to_text, parse_number_text

STRING_METHODS: dict[str, Builtin] = {}
NUMBER_METHODS: dict[str, Builtin] = {}
BOOLEAN_METHODS: dict[str, Builtin] = {}
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_WIDE = Context(prec=200)
"""Enough digits for any float below 1e21 with 100 decimals."""


def clamp_index(index: int, length: int) -> int:
    """Resolve a JavaScript slice index: negatives count from the end, result within [0, length]."""
    if index < 0:
        return max(length + index, 0)
    return min(index, length)


def _case_converted(rt: Runtime, text: str, convert: Callable[[str], str]) -> str:
    """Convert the case of `text`, refusing up front a text the result could not fit.

    Case mappings never shrink a text and grow it at most threefold ("ﬃ" -> "FFI",
    "İ" -> "i̇"), so the check before bounds the work and the check after the result.
    """
    rt.check_size(len(text))
    return rt.text(convert(text))


@define(STRING_METHODS, "toUpperCase")
def _upper(rt: Runtime, text: str, args: list[Any]) -> str:
    return _case_converted(rt, text, str.upper)


@define(STRING_METHODS, "toLowerCase")
def _lower(rt: Runtime, text: str, args: list[Any]) -> str:
    return _case_converted(rt, text, str.lower)


@define(STRING_METHODS, "trim")
def _trim(rt: Runtime, text: str, args: list[Any]) -> str:
    return text.strip()


@define(STRING_METHODS, "split", 0, 2)
def _split(rt: Runtime, text: str, args: list[Any]) -> list[str]:
    limit = int_arg(args, 1, "split()", -1)
    if not args or args[0] is None:
        return [text] if limit != 0 else []
    separator = text_arg(args, 0, "split()")
    count = len(text) if separator == "" else text.count(separator) + 1
    count = count if limit < 0 else min(count, limit)
    rt.check_size(count)
    rt.step(count)
    if separator == "":
        return list(text[:count])
    return text.split(separator, count if limit >= 0 else -1)[:count]


def _replaced(rt: Runtime, text: str, old: str, new: str, count: int) -> str:
    """Replace `count` occurrences (-1: all), checking the result size before building it."""
    found = len(text) + 1 if old == "" else text.count(old)
    found = found if count < 0 else min(found, count)
    rt.check_size(len(text) + found * (len(new) - len(old)))
    return text.replace(old, new, count)


@define(STRING_METHODS, "replace", 2)
def _replace(rt: Runtime, text: str, args: list[Any]) -> str:
    old, new = text_arg(args, 0, "replace()"), text_arg(args, 1, "replace()")
    return _replaced(rt, text, old, new, 1)


@define(STRING_METHODS, "replaceAll", 2)
def _replace_all(rt: Runtime, text: str, args: list[Any]) -> str:
    old, new = text_arg(args, 0, "replaceAll()"), text_arg(args, 1, "replaceAll()")
    return _replaced(rt, text, old, new, -1)


@define(STRING_METHODS, "includes", 1)
def _includes(rt: Runtime, text: str, args: list[Any]) -> bool:
    return text_arg(args, 0, "includes()") in text


@define(STRING_METHODS, "startsWith", 1)
def _starts_with(rt: Runtime, text: str, args: list[Any]) -> bool:
    return text.startswith(text_arg(args, 0, "startsWith()"))


@define(STRING_METHODS, "endsWith", 1)
def _ends_with(rt: Runtime, text: str, args: list[Any]) -> bool:
    return text.endswith(text_arg(args, 0, "endsWith()"))


@define(STRING_METHODS, "indexOf", 1, 2)
def _index_of(rt: Runtime, text: str, args: list[Any]) -> int:
    start = clamp_index(max(int_arg(args, 1, "indexOf()", 0), 0), len(text))
    return text.find(text_arg(args, 0, "indexOf()"), start)


@define(STRING_METHODS, "slice", 0, 2)
def _slice(rt: Runtime, text: str, args: list[Any]) -> str:
    start = clamp_index(int_arg(args, 0, "slice()", 0), len(text))
    end = clamp_index(int_arg(args, 1, "slice()", len(text)), len(text))
    return text[start:end]


@define(STRING_METHODS, "substring", 0, 2)
def _substring(rt: Runtime, text: str, args: list[Any]) -> str:
    start = min(max(int_arg(args, 0, "substring()", 0), 0), len(text))
    end = min(max(int_arg(args, 1, "substring()", len(text)), 0), len(text))
    return text[min(start, end) : max(start, end)]


def _padding(rt: Runtime, text: str, args: list[Any], what: str) -> str:
    """Return the fill needed to pad `text` to the requested length (checked against the limit)."""
    target = int_arg(args, 0, what)
    fill = text_arg(args, 1, what, " ")
    if target <= len(text) or fill == "":
        return ""
    rt.check_size(target)
    repeats, rest = divmod(target - len(text), len(fill))
    return fill * repeats + fill[:rest]


@define(STRING_METHODS, "padStart", 1, 2)
def _pad_start(rt: Runtime, text: str, args: list[Any]) -> str:
    return _padding(rt, text, args, "padStart()") + text


@define(STRING_METHODS, "padEnd", 1, 2)
def _pad_end(rt: Runtime, text: str, args: list[Any]) -> str:
    return text + _padding(rt, text, args, "padEnd()")


@define(STRING_METHODS, "repeat", 1)
def _repeat(rt: Runtime, text: str, args: list[Any]) -> str:
    count = int_arg(args, 0, "repeat()")
    if count < 0:
        raise ExpressionError("repeat() expects a count of 0 or more")
    if text:
        rt.check_size(len(text) * count)
    return text * count


@define(STRING_METHODS, "toNumber")
def _to_number(rt: Runtime, text: str, args: list[Any]) -> int | float:
    value = parse_number_text(text)
    if isinstance(value, float) and math.isnan(value):
        raise ExpressionError(f"Cannot convert '{text[:50]}' to a number")
    return value


@define(STRING_METHODS, "isEmpty")
def _string_is_empty(rt: Runtime, text: str, args: list[Any]) -> bool:
    return text == ""


@define(STRING_METHODS, "toString")
def _string_to_string(rt: Runtime, text: str, args: list[Any]) -> str:
    return text


def _decimal_round(value: float | int, places: int, exact: bool) -> Decimal:
    """Round half away from zero; `exact` uses the binary value (toFixed), else the repr."""
    number = Decimal(value) if exact else Decimal(repr(value))
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_WIDE)


def _places(args: list[Any], what: str, low: int, high: int) -> int:
    places = int_arg(args, 0, what, 0)
    if not low <= places <= high:
        raise ExpressionError(f"{what} expects a digit count between {low} and {high}")
    return places


@define(NUMBER_METHODS, "toFixed", 0, 1)
def _to_fixed(rt: Runtime, number: int | float, args: list[Any]) -> str:
    places = _places(args, "toFixed()", 0, 100)
    if not math.isfinite(number) or abs(number) >= 1e21:
        return number_to_text(number)
    return f"{_decimal_round(number, places, exact=True):f}"


@define(NUMBER_METHODS, "round", 0, 1)
def _round(rt: Runtime, number: int | float, args: list[Any]) -> int | float:
    places = _places(args, "round()", 0, 20)
    if not math.isfinite(number) or abs(number) >= MAX_SAFE_INTEGER:
        return number
    return js_number(float(_decimal_round(number, places, exact=False)))


@define(NUMBER_METHODS, "floor")
def _floor(rt: Runtime, number: int | float, args: list[Any]) -> int | float:
    return js_number(math.floor(number)) if math.isfinite(number) else number


@define(NUMBER_METHODS, "ceil")
def _ceil(rt: Runtime, number: int | float, args: list[Any]) -> int | float:
    return js_number(math.ceil(number)) if math.isfinite(number) else number


@define(NUMBER_METHODS, "abs")
def _abs(rt: Runtime, number: int | float, args: list[Any]) -> int | float:
    return abs(number)


@define(NUMBER_METHODS, "toString", 0, 1)
def _number_to_string(rt: Runtime, number: int | float, args: list[Any]) -> str:
    radix = int_arg(args, 0, "toString()", 10)
    if radix == 10:
        return number_to_text(number)
    if not 2 <= radix <= 36 or not isinstance(number, int):
        raise ExpressionError("toString(radix) needs an integer and a radix between 2 and 36")
    digits, rest = [], abs(number)
    while True:
        rest, digit = divmod(rest, radix)
        digits.append(_DIGITS[digit])
        if rest == 0:
            break
    return ("-" if number < 0 else "") + "".join(reversed(digits))


@define(BOOLEAN_METHODS, "toString")
def _boolean_to_string(rt: Runtime, flag: bool, args: list[Any]) -> str:
    return "true" if flag else "false"
