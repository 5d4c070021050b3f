"""Comparison operators shared by If, Filter and Switch, and how their left operand is read.

Comparisons are loose the way a form-built workflow needs them: ``"10"`` equals ``10``,
``greater``/``less`` compare numbers when both sides are numeric and text otherwise, and
values of incomparable types simply do not match (never an exception).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fluxolab.engine import regex
from fluxolab.engine.errors import NodeError
from fluxolab.engine.expressions import has_expression
from fluxolab.engine.paths import MISSING, get_path

if TYPE_CHECKING:
    from fluxolab.engine.call import NodeCall

OPERATORS = (
    "equals",
    "not_equals",
    "greater",
    "less",
    "greater_equal",
    "less_equal",
    "contains",
    "not_contains",
    "is_empty",
    "not_empty",
    "regex",
    "starts_with",
    "ends_with",
)
ALIASES = {
    "notEmpty": "not_empty",
    "isEmpty": "is_empty",
    "notEquals": "not_equals",
    "notContains": "not_contains",
    "greaterEqual": "greater_equal",
    "lessEqual": "less_equal",
    "startsWith": "starts_with",
    "endsWith": "ends_with",
}
_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


def normalize_operator(operator: Any) -> Any:
    """Return the canonical spelling of an operator (``notEmpty`` -> ``not_empty``)."""
    return ALIASES.get(operator, operator) if isinstance(operator, str) else operator


def to_number(value: Any) -> float | None:
    """Return ``value`` as a float when it is a number or numeric text (never for booleans)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    return None


def non_negative(value: Any, field: str) -> float:
    """Return ``value`` as a number >= 0; raises NodeError naming ``field`` otherwise."""
    number = to_number(value)
    if number is None or number < 0:
        raise NodeError(f"Field '{field}': {value!r} is not a non-negative number")
    return number


def loose_equal(left: Any, right: Any) -> bool:
    """Return whether two values are equal, treating numeric text as numbers."""
    if left == right and type(left) is type(right):
        return True
    left_number, right_number = to_number(left), to_number(right)
    if left_number is not None and right_number is not None:
        return left_number == right_number
    if isinstance(left, bool) or isinstance(right, bool):
        return str(left).lower() == str(right).lower()
    return bool(left == right)


def _order(left: Any, right: Any) -> int | None:
    """Return -1/0/1 comparing two values, or None when they cannot be ordered."""
    left_number, right_number = to_number(left), to_number(right)
    if left_number is not None and right_number is not None:
        return (left_number > right_number) - (left_number < right_number)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    return None


def is_empty(value: Any) -> bool:
    """Return whether a value counts as empty: missing, None, "", [] or {}."""
    return value is None or value is MISSING or (isinstance(value, str | list | dict) and not value)


def _contains(left: Any, right: Any) -> bool:
    """Return whether ``left`` (text, list or object) contains ``right``."""
    if isinstance(left, str):
        return right is not None and str(right) in left
    if isinstance(left, list):
        return any(loose_equal(element, right) for element in left)
    if isinstance(left, dict):
        return str(right) in left
    return False


def _regex(left: Any, right: Any) -> bool:
    """Return whether the text of ``left`` matches the pattern ``right`` anywhere (RE2)."""
    if left is None or right is None:
        return False
    return regex.search(str(right), str(left))


def _text(value: Any) -> str | None:
    """Return text for string affixes: strings and numbers only."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _affix(left: Any, right: Any, starts: bool) -> bool:
    """Return whether ``left`` starts (or ends) with ``right``."""
    text, affix = _text(left), _text(right)
    if text is None or affix is None:
        return False
    return text.startswith(affix) if starts else text.endswith(affix)


def _ordered(test: Callable[[int], bool]) -> Callable[[Any, Any], bool]:
    """Return a comparison that applies ``test`` to the order of two values."""

    def compare(left: Any, right: Any) -> bool:
        """Return whether the two values are ordered as ``test`` asks."""
        order = _order(left, right)
        return order is not None and test(order)

    return compare


_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "equals": loose_equal,
    "not_equals": lambda left, right: not loose_equal(left, right),
    "greater": _ordered(lambda order: order > 0),
    "less": _ordered(lambda order: order < 0),
    "greater_equal": _ordered(lambda order: order >= 0),
    "less_equal": _ordered(lambda order: order <= 0),
    "contains": _contains,
    "not_contains": lambda left, right: not _contains(left, right),
    "is_empty": lambda left, right: is_empty(left),
    "not_empty": lambda left, right: not is_empty(left),
    "regex": _regex,
    "starts_with": lambda left, right: _affix(left, right, starts=True),
    "ends_with": lambda left, right: _affix(left, right, starts=False),
}


def compare(operator: str, left: Any, right: Any, field: str = "value") -> bool:
    """Apply ``operator`` to the operands; raises NodeError for an unknown operator or regex.

    ``field`` names the right operand's field in the error of a regex that cannot be used.
    """
    function = _COMPARE.get(normalize_operator(operator))
    if function is None:
        raise NodeError(f"Unknown operator '{operator}'")
    if left is MISSING:
        left = None
    try:
        return function(left, right)
    except regex.RegexError as exc:
        raise NodeError(f"Field '{field}': {exc}", "RegexError", field=field) from exc


def operand(call: NodeCall, raw: Any, rendered: Any, index: int) -> Any:
    """Read a left operand: a template's value, a bare ``$`` expression, or a ``$json`` path."""
    if has_expression(raw):
        return rendered
    if isinstance(raw, str) and raw.startswith("$"):
        return call.evaluate(raw, index)
    if isinstance(raw, str) and raw.strip():
        item = call.items[index] if index < len(call.items) else {}
        value = get_path(item.get("json", {}), raw)
        return None if value is MISSING else value
    return raw


def regex_issues(params: Mapping[str, Any], field: str = "value") -> list[tuple[str, str]]:
    """Report a static ``value`` that is not a valid regex when the operator is ``regex``."""
    pattern = params.get(field)
    if normalize_operator(params.get("operator")) != "regex" or not isinstance(pattern, str):
        return []
    if has_expression(pattern):
        return []
    problem = regex.pattern_problem(pattern)
    return [] if problem is None else [(field, problem)]
