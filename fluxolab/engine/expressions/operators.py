"""Unary and binary operators with JavaScript-like coercions and bounded results."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from .convert import to_text
from .errors import ExpressionError
from .runtime import Runtime
from .values import (
    compare,
    js_number,
    loose_equals,
    parse_number_text,
    strict_equals,
    to_millis,
    to_number,
    truthy,
    type_name,
)


def _operand(value: Any, op: str) -> int | float:
    """Return a number for arithmetic; raise ExpressionError for non-numeric text, arrays..."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return js_number(value)
    if isinstance(value, str):
        number = parse_number_text(value)
        if isinstance(number, float) and math.isnan(number):
            raise ExpressionError(f"Cannot apply '{op}' to the text {value[:40]!r}")
        return number
    if isinstance(value, datetime):
        return to_millis(value)
    raise ExpressionError(f"Cannot apply '{op}' to {type_name(value)}")


def _remainder(left: int | float, right: int | float) -> int | float:
    """Return the remainder with the sign of the dividend, like JavaScript's %."""
    if isinstance(left, int) and isinstance(right, int):
        rest = abs(left) % abs(right)
        return rest if left >= 0 else -rest
    if not math.isfinite(left) or math.isnan(right):
        return math.nan
    return left if math.isinf(right) else math.fmod(left, right)


def arithmetic(op: str, left: Any, right: Any) -> int | float:
    """Apply - * / % (and numeric +); raise ExpressionError on division by zero or bad operands."""
    a, b = _operand(left, op), _operand(right, op)
    if op == "+":
        result = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    elif b == 0:
        raise ExpressionError("Division by zero")
    elif op == "/":
        result = a / b
    else:
        result = _remainder(a, b)
    return js_number(result)


def add(rt: Runtime, left: Any, right: Any) -> Any:
    """Concatenate when either side is text (checking the size), otherwise add numbers."""
    if isinstance(left, str) or isinstance(right, str):
        left_text, right_text = to_text(left, rt), to_text(right, rt)
        rt.check_size(len(left_text) + len(right_text))
        return rt.produced(left_text + right_text, left, [right])
    return arithmetic("+", left, right)


def apply_binary(rt: Runtime, op: str, left: Any, right: Any) -> Any:
    """Apply a non-logical binary operator."""
    if op == "+":
        return add(rt, left, right)
    if op in ("-", "*", "/", "%"):
        return arithmetic(op, left, right)
    if op == "==":
        return loose_equals(left, right)
    if op == "!=":
        return not loose_equals(left, right)
    if op == "===":
        return strict_equals(left, right)
    if op == "!==":
        return not strict_equals(left, right)
    return compare(op, left, right)


def apply_unary(op: str, value: Any) -> Any:
    """Apply `!` (logical not), `+` (Number()) or `-` (negation)."""
    if op == "!":
        return not truthy(value)
    if op == "+":
        return to_number(value)
    return js_number(-_operand(value, "-"))
