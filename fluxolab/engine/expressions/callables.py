"""Allow-listed functions and the objects that expose them, plus argument checking helpers."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import ExpressionError
from .runtime import Runtime
from .values import Internal, type_name

Function = Callable[[Runtime, Any, list[Any]], Any]
"""A helper implementation: (runtime, receiver, arguments) -> result."""

VARIADIC = 10_000
_INDEX_BOUND = 2**62


@dataclass(frozen=True, slots=True)
class Builtin(Internal):
    """An allow-listed function or method with its accepted argument count."""

    name: str
    fn: Function
    min_args: int = 0
    max_args: int = 0

    kind = "function"

    @property
    def label(self) -> str:
        """Return `name()` for messages."""
        return f"{self.name}()"

    def invoke(self, runtime: Runtime, receiver: Any, args: list[Any]) -> Any:
        """Call the implementation and bound its result; raise ExpressionError on a wrong arity.

        Every result is checked against the size limits (`Runtime.produced`), whatever the
        helper did beforehand, so a helper that forgets an estimate cannot return a huge value.
        """
        if not self.min_args <= len(args) <= self.max_args:
            raise ExpressionError(f"{self.name}() {_arity_text(self.min_args, self.max_args)}")
        return runtime.produced(self.fn(runtime, receiver, args), receiver, args)


def _arity_text(low: int, high: int) -> str:
    if high == 0:
        return "takes no arguments"
    if low == high:
        return f"expects {low} argument{'s' if low != 1 else ''}"
    if high >= VARIADIC:
        return f"expects at least {low} argument{'s' if low != 1 else ''}"
    return f"expects {low} to {high} arguments"


def define(
    table: dict[str, Any],
    names: str,
    min_args: int = 0,
    max_args: int | None = None,
    prefix: str = "",
) -> Callable[[Function], Function]:
    """Register the decorated function in `table` under each space-separated name."""

    def register(fn: Function) -> Function:
        """Add `fn` to the table and return it unchanged."""
        for name in names.split():
            high = min_args if max_args is None else max_args
            table[name] = Builtin(prefix + name, fn, min_args, high)
        return fn

    return register


class Scripted(Internal):
    """An evaluator object (namespace or proxy) with named properties and allow-listed methods."""

    __slots__ = ()
    kind = "object"
    methods: ClassVar[Mapping[str, Builtin]] = {}

    def get(self, name: str) -> Any:
        """Return the property `name`; raise ExpressionError when there is none."""
        raise ExpressionError(f"{self.label} has no property '{name}'")

    def method(self, name: str) -> Builtin | None:
        """Return the method `name`, or None when there is none."""
        return type(self).methods.get(name)


class Namespace(Scripted):
    """A global such as `Math` or `JSON`: a fixed set of functions and constants."""

    __slots__ = ("members", "name")
    kind = "namespace"

    def __init__(self, name: str, members: Mapping[str, Any]) -> None:
        self.name = name
        self.members = members

    @property
    def label(self) -> str:
        """Return the namespace name."""
        return self.name

    def get(self, name: str) -> Any:
        """Return a member; raise ExpressionError for names outside the allow-list."""
        if name not in self.members:
            raise ExpressionError(f"{self.name}.{name} is not available")
        return self.members[name]

    def method(self, name: str) -> Builtin | None:
        """Return the member function `name`, or None."""
        member = self.members.get(name)
        return member if isinstance(member, Builtin) else None


def _missing(args: list[Any], index: int) -> bool:
    return index >= len(args) or args[index] is None


def text_arg(args: list[Any], index: int, what: str, default: str | None = None) -> str:
    """Return argument `index` as text; raise ExpressionError if it is missing or not a string."""
    if _missing(args, index) and default is not None:
        return default
    value = args[index] if index < len(args) else None
    if not isinstance(value, str):
        raise ExpressionError(
            f"{what} expects text as argument {index + 1}, got {type_name(value)}"
        )
    return value


def number_arg(
    args: list[Any], index: int, what: str, default: int | float | None = None
) -> int | float:
    """Return argument `index` as a number; raise ExpressionError if missing or not numeric."""
    if _missing(args, index) and default is not None:
        return default
    value = args[index] if index < len(args) else None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ExpressionError(
            f"{what} expects a number as argument {index + 1}, got {type_name(value)}"
        )
    return value


def int_arg(args: list[Any], index: int, what: str, default: int | None = None) -> int:
    """Return argument `index` truncated to an integer (NaN -> 0, infinities clamped)."""
    value = number_arg(args, index, what, default)
    if isinstance(value, int):
        return value
    if math.isnan(value):
        return 0
    if math.isinf(value):
        return _INDEX_BOUND if value > 0 else -_INDEX_BOUND
    return int(value)
