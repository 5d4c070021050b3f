"""Global functions (Number, String, parseInt, toDateTime ...), namespaces (Math, JSON, Object,
Array, DateTime) and the `$`-variables, all resolved from fixed tables."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from .callables import VARIADIC, Builtin, Namespace, define, int_arg, number_arg, text_arg
from .convert import to_json_text, to_text
from .errors import ExpressionError
from .helpers_dates import to_datetime
from .jmespath_bridge import jmespath_search
from .proxies import ItemsView, NodesView, node_view
from .runtime import Runtime
from .values import NAN, js_number, to_number, truthy, type_name

FUNCTIONS: dict[str, Builtin] = {}
_MATH: dict[str, Any] = {"PI": math.pi, "E": math.e}
_JSON: dict[str, Any] = {}
_OBJECT: dict[str, Any] = {}
_ARRAY: dict[str, Any] = {}
_DATETIME: dict[str, Any] = {}
_FLOAT_PREFIX = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_INT_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@define(FUNCTIONS, "Number", 0, 1)
def _number(rt: Runtime, receiver: Any, args: list[Any]) -> int | float:
    return to_number(args[0]) if args else 0


@define(FUNCTIONS, "String", 0, 1)
def _string(rt: Runtime, receiver: Any, args: list[Any]) -> str:
    return to_text(args[0], rt) if args else ""


@define(FUNCTIONS, "Boolean", 0, 1)
def _boolean(rt: Runtime, receiver: Any, args: list[Any]) -> bool:
    return truthy(args[0]) if args else False


@define(FUNCTIONS, "isNaN", 1)
def _is_nan(rt: Runtime, receiver: Any, args: list[Any]) -> bool:
    number = to_number(args[0])
    return isinstance(number, float) and math.isnan(number)


@define(FUNCTIONS, "parseFloat", 1)
def _parse_float(rt: Runtime, receiver: Any, args: list[Any]) -> int | float:
    match = _FLOAT_PREFIX.match(to_text(args[0], rt).lstrip())
    return to_number(match.group()) if match else NAN


@define(FUNCTIONS, "parseInt", 1, 2)
def _parse_int(rt: Runtime, receiver: Any, args: list[Any]) -> int | float:
    text = to_text(args[0], rt).strip()
    radix = int_arg(args, 1, "parseInt()", 0)
    sign = -1 if text.startswith("-") else 1
    text = text[1:] if text[:1] in "+-" else text
    if radix in (0, 16) and text[:2].lower() == "0x":
        radix, text = 16, text[2:]
    radix = radix or 10
    if not 2 <= radix <= 36:
        return NAN
    length = 0
    while length < len(text) and _INT_DIGITS.find(text[length].lower()) in range(radix):
        length += 1
    if length > 300:
        raise ExpressionError("parseInt(): the number is too long")
    return js_number(sign * int(text[:length], radix)) if length else NAN


@define(FUNCTIONS, "toDateTime", 1)
def _to_date_time(rt: Runtime, receiver: Any, args: list[Any]) -> Any:
    return to_datetime(rt, args[0])


def _math_numbers(args: list[Any], what: str) -> list[int | float]:
    values = args[0] if len(args) == 1 and isinstance(args[0], list | tuple) else args
    return [number_arg(list(values), i, what) for i in range(len(values))]


@define(_MATH, "min", 0, VARIADIC, prefix="Math.")
def _math_min(rt: Runtime, receiver: Any, args: list[Any]) -> int | float:
    rt.step(len(args))
    return min(_math_numbers(args, "Math.min()"), default=math.inf)


@define(_MATH, "max", 0, VARIADIC, prefix="Math.")
def _math_max(rt: Runtime, receiver: Any, args: list[Any]) -> int | float:
    rt.step(len(args))
    return max(_math_numbers(args, "Math.max()"), default=-math.inf)


def _math_unary(name: str, fn: Callable[[float], float]) -> None:
    def apply(rt: Runtime, receiver: Any, args: list[Any]) -> int | float:
        """Apply `fn` to a finite number; NaN and infinities pass through."""
        number = number_arg(args, 0, f"Math.{name}()")
        return js_number(fn(number)) if math.isfinite(number) else number

    define(_MATH, name, 1, prefix="Math.")(apply)


_math_unary("round", lambda x: math.floor(x + 0.5))
_math_unary("floor", math.floor)
_math_unary("ceil", math.ceil)
_math_unary("abs", abs)


@define(_JSON, "stringify", 1, 3, prefix="JSON.")
def _stringify(rt: Runtime, receiver: Any, args: list[Any]) -> str:
    indent = args[2] if len(args) > 2 else None
    if isinstance(indent, int | float) and not isinstance(indent, bool):
        spaces = min(max(int(indent), 0), 10) if math.isfinite(indent) else 0
        return to_json_text(args[0], rt, spaces or None)
    if isinstance(indent, str) and indent:
        return to_json_text(args[0], rt, indent[:10])
    return to_json_text(args[0], rt)


@define(_JSON, "parse", 1, prefix="JSON.")
def _parse(rt: Runtime, receiver: Any, args: list[Any]) -> Any:
    text = text_arg(args, 0, "JSON.parse()")
    rt.check_size(len(text))
    try:
        return json.loads(text)
    except RecursionError:
        raise ExpressionError("JSON.parse(): the document is nested too deeply") from None
    except ValueError as error:
        raise ExpressionError(f"JSON.parse(): {error}") from None


def _mapping_arg(args: list[Any], what: str) -> Mapping[str, Any]:
    if not isinstance(args[0], Mapping):
        raise ExpressionError(f"{what} expects an object, got {type_name(args[0])}")
    return args[0]


@define(_OBJECT, "keys", 1, prefix="Object.")
def _object_keys(rt: Runtime, receiver: Any, args: list[Any]) -> list[Any]:
    return list(_mapping_arg(args, "Object.keys()").keys())


@define(_OBJECT, "values", 1, prefix="Object.")
def _object_values(rt: Runtime, receiver: Any, args: list[Any]) -> list[Any]:
    return list(_mapping_arg(args, "Object.values()").values())


@define(_ARRAY, "isArray", 1, prefix="Array.")
def _is_array(rt: Runtime, receiver: Any, args: list[Any]) -> bool:
    return isinstance(args[0], list | tuple)


@define(_DATETIME, "now", prefix="DateTime.")
def _now(rt: Runtime, receiver: Any, args: list[Any]) -> Any:
    return rt.scope.now


@define(_DATETIME, "fromISO fromMillis", 1, prefix="DateTime.")
def _from(rt: Runtime, receiver: Any, args: list[Any]) -> Any:
    return to_datetime(rt, args[0])


GLOBALS: dict[str, Any] = {
    **FUNCTIONS,
    "Math": Namespace("Math", _MATH),
    "JSON": Namespace("JSON", _JSON),
    "Object": Namespace("Object", _OBJECT),
    "Array": Namespace("Array", _ARRAY),
    "DateTime": Namespace("DateTime", _DATETIME),
}
_NODE_FUNCTION = Builtin("$", lambda rt, receiver, args: node_view(rt.scope, args[0]), 1, 1)
_JMESPATH = Builtin("$jmespath", jmespath_search, 2, 2)

VARIABLES: dict[str, Callable[[Runtime], Any]] = {
    "$json": lambda rt: rt.scope.json,
    "$input": lambda rt: ItemsView("$input", rt.scope.input_items, rt.scope),
    "$node": lambda rt: NodesView(rt.scope),
    "$": lambda rt: _NODE_FUNCTION,
    "$now": lambda rt: rt.scope.now,
    "$today": lambda rt: rt.scope.now.replace(hour=0, minute=0, second=0, microsecond=0),
    "$execution": lambda rt: rt.scope.execution,
    "$workflow": lambda rt: rt.scope.workflow,
    "$vars": lambda rt: rt.scope.vars,
    "$itemIndex": lambda rt: rt.scope.item_index,
    "$jmespath": lambda rt: _JMESPATH,
}
