"""The syntax tree produced by the parser; immutable so compiled trees can be cached and shared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Node:
    """Base of every syntax-tree node."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A number, string, boolean or null written in the source."""

    value: Any


@dataclass(frozen=True, slots=True)
class ArrayLiteral(Node):
    """`[a, b, ...]`."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ObjectLiteral(Node):
    """`{key: value, "k": v}`; keys are fixed strings."""

    entries: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class Variable(Node):
    """A `$`-variable such as `$json`, `$input` or `$now`."""

    name: str


@dataclass(frozen=True, slots=True)
class GlobalName(Node):
    """An allow-listed global: `Math`, `JSON`, `Number`, `toDateTime`, ..."""

    name: str


@dataclass(frozen=True, slots=True)
class LegacyField(Node):
    """A bare identifier from legacy templates: `{{ name }}` means `$json.name`."""

    name: str


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """Prefix operators applied right to left: `!`, `-`, `+`."""

    ops: tuple[str, ...]
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """A flat left-associative chain of operators of one precedence level."""

    ops: tuple[str, ...]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    """`test ? then : otherwise`."""

    test: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class Member(Node):
    """`.name` or `?.name` in a chain."""

    name: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Index(Node):
    """`[expr]` or `?.[expr]` in a chain."""

    key: Node
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Call(Node):
    """`(args)` or `?.(args)` in a chain."""

    args: tuple[Node, ...]
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Chain(Node):
    """A base followed by member, index and call links, evaluated left to right in a loop."""

    base: Node
    links: tuple[Member | Index | Call, ...]
