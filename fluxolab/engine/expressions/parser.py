"""A recursive-descent parser with an explicit nesting limit; binary operators use an operator
stack (no recursion per operator) and produce flat chains, so long sums never nest deeply."""

from __future__ import annotations

import functools

from .errors import DEFAULT_LIMITS, ExpressionError, ExpressionLimits
from .lexer import Token, tokenize
from .names import (
    GLOBAL_FUNCTIONS,
    GLOBAL_NAMESPACES,
    KEYWORD_LITERALS,
    RESERVED,
    VARIABLES,
    WORD_OPERATORS,
    check_index_key,
    check_member_name,
)
from .nodes import (
    ArrayLiteral,
    Binary,
    Call,
    Chain,
    Conditional,
    GlobalName,
    Index,
    LegacyField,
    Literal,
    Member,
    Node,
    ObjectLiteral,
    Unary,
    Variable,
)
from .values import is_number, number_to_text

PRECEDENCE = {
    "??": 0,
    "||": 1,
    "&&": 2,
    "==": 3, "!=": 3, "===": 3, "!==": 3,
    "<": 4, "<=": 4, ">": 4, ">=": 4,
    "+": 5, "-": 5,
    "*": 6, "/": 6, "%": 6,
}  # fmt: skip
_PREFIX = frozenset({"!", "-", "+"})


class _OpenChain:
    """A binary chain still being built by the operator stack."""

    __slots__ = ("level", "operands", "ops")

    def __init__(self, level: int, op: str, left: Node | _OpenChain, right: Node | _OpenChain):
        self.level = level
        self.ops = [op]
        self.operands = [left, right]


def _close(item: Node | _OpenChain) -> Node:
    if isinstance(item, _OpenChain):
        return Binary(tuple(item.ops), tuple(_close(operand) for operand in item.operands))
    return item


def _describe(token: Token) -> str:
    if token.kind == "eof":
        return "end of expression"
    if token.kind == "str":
        return "string"
    return f"'{token.value}'"


class Parser:
    """Parses one expression's tokens; raises ExpressionError on syntax errors or refused names."""

    def __init__(self, source: str, max_depth: int) -> None:
        self.tokens = tokenize(source)
        self.pos = 0
        self.depth = 0
        self.max_depth = max_depth

    def parse(self) -> Node:
        """Parse the whole source as one expression."""
        if self._peek().kind == "eof":
            raise ExpressionError("Empty expression")
        node = self._expression()
        self._fail_unless(self._peek().kind == "eof")
        return node

    def _peek(self) -> Token:
        return self.tokens[self.pos]

    def _advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _at(self, op: str) -> bool:
        token = self.tokens[self.pos]
        return token.kind == "op" and token.value == op

    def _fail_unless(self, condition: bool) -> None:
        if not condition:
            token = self._peek()
            where = "" if token.kind == "eof" else f" at position {token.pos}"
            raise ExpressionError(f"Unexpected {_describe(token)}{where}")

    def _expect(self, op: str) -> None:
        self._fail_unless(self._at(op))
        self.pos += 1

    def _expression(self) -> Node:
        self.depth += 1
        if self.depth > self.max_depth:
            raise ExpressionError(f"Expression is nested too deeply (limit {self.max_depth})")
        node = self._binary()
        if self._at("?"):
            self.pos += 1
            then = self._expression()
            self._expect(":")
            node = Conditional(node, then, self._expression())
        self.depth -= 1
        return node

    def _binary_op(self) -> str | None:
        token = self._peek()
        if token.kind == "op" and token.value in PRECEDENCE:
            return str(token.value)
        if token.kind == "name" and token.value in ("and", "or"):
            return WORD_OPERATORS[str(token.value)]
        return None

    def _binary(self) -> Node:
        operands: list[Node | _OpenChain] = [self._unary()]
        pending: list[str] = []
        while (op := self._binary_op()) is not None:
            self.pos += 1
            while pending and PRECEDENCE[pending[-1]] >= PRECEDENCE[op]:
                self._reduce(operands, pending.pop())
            pending.append(op)
            operands.append(self._unary())
        while pending:
            self._reduce(operands, pending.pop())
        return _close(operands[0])

    @staticmethod
    def _reduce(operands: list[Node | _OpenChain], op: str) -> None:
        right = operands.pop()
        left = operands.pop()
        level = PRECEDENCE[op]
        if isinstance(left, _OpenChain) and left.level == level:
            left.ops.append(op)
            left.operands.append(right)
            operands.append(left)
        else:
            operands.append(_OpenChain(level, op, left, right))

    def _unary(self) -> Node:
        ops: list[str] = []
        while True:
            token = self._peek()
            if token.kind == "op" and token.value in _PREFIX:
                ops.append(str(token.value))
            elif token.kind == "name" and token.value == "not":
                ops.append("!")
            else:
                break
            self.pos += 1
        operand = self._postfix()
        if not ops:
            return operand
        if ops == ["-"] and isinstance(operand, Literal) and is_number(operand.value):
            return Literal(-operand.value)
        return Unary(tuple(ops), operand)

    def _postfix(self) -> Node:
        base = self._primary()
        links: list[Member | Index | Call] = []
        while True:
            if self._at("."):
                self.pos += 1
                links.append(Member(self._member_name()))
            elif self._at("?."):
                self.pos += 1
                links.append(self._optional_link())
            elif self._at("["):
                self.pos += 1
                links.append(Index(self._index_key()))
            elif self._at("("):
                self.pos += 1
                links.append(Call(self._arguments()))
            else:
                break
        if not links:
            return base
        if isinstance(base, LegacyField) and isinstance(links[0], Call):
            raise ExpressionError(f"Function '{base.name}' is not available")
        return Chain(base, tuple(links))

    def _optional_link(self) -> Member | Index | Call:
        if self._at("["):
            self.pos += 1
            return Index(self._index_key(), optional=True)
        if self._at("("):
            self.pos += 1
            return Call(self._arguments(), optional=True)
        return Member(self._member_name(), optional=True)

    def _member_name(self) -> str:
        token = self._peek()
        if token.kind != "name":
            raise ExpressionError(f"Expected a property name at position {token.pos}")
        self.pos += 1
        return check_member_name(str(token.value))

    def _index_key(self) -> Node:
        key = self._expression()
        self._expect("]")
        if isinstance(key, Literal) and isinstance(key.value, str):
            check_index_key(key.value)
        return key

    def _arguments(self) -> tuple[Node, ...]:
        return tuple(self._sequence(")"))

    def _sequence(self, closing: str) -> list[Node]:
        items: list[Node] = []
        while not self._at(closing):
            items.append(self._expression())
            if not self._at(","):
                break
            self.pos += 1
        self._expect(closing)
        return items

    def _primary(self) -> Node:
        token = self._advance()
        if token.kind in ("num", "str"):
            return Literal(token.value)
        if token.kind == "name":
            return self._name(str(token.value), token.pos)
        if token.kind == "op" and token.value == "(":
            node = self._expression()
            self._expect(")")
            return node
        if token.kind == "op" and token.value == "[":
            return ArrayLiteral(tuple(self._sequence("]")))
        if token.kind == "op" and token.value == "{":
            return self._object()
        self.pos -= 1
        self._fail_unless(False)
        raise AssertionError("unreachable")

    def _name(self, name: str, pos: int) -> Node:
        if name in KEYWORD_LITERALS:
            return Literal(KEYWORD_LITERALS[name])
        if name.startswith("$"):
            if name not in VARIABLES:
                raise ExpressionError(f"Unknown variable '{name}'")
            return Variable(name)
        if name in RESERVED:
            raise ExpressionError(f"'{name}' is not supported in expressions")
        if name in WORD_OPERATORS:
            raise ExpressionError(f"Unexpected '{name}' at position {pos}")
        if name.startswith("_"):
            raise ExpressionError(f"Access to '{name}' is not allowed")
        if name in GLOBAL_FUNCTIONS or name in GLOBAL_NAMESPACES:
            return GlobalName(name)
        return LegacyField(name)

    def _object(self) -> ObjectLiteral:
        entries: list[tuple[str, Node]] = []
        while not self._at("}"):
            entries.append((self._object_key(), self._object_value()))
            if not self._at(","):
                break
            self.pos += 1
        self._expect("}")
        return ObjectLiteral(tuple(entries))

    def _object_key(self) -> str:
        token = self._advance()
        if token.kind in ("name", "str"):
            key = str(token.value)
        elif token.kind == "num" and isinstance(token.value, int | float):
            key = number_to_text(token.value)
        else:
            self.pos -= 1
            raise ExpressionError(f"Expected an object key at position {token.pos}")
        if key.startswith("__"):
            raise ExpressionError(f"Key '{key}' is not allowed")
        return key

    def _object_value(self) -> Node:
        self._expect(":")
        return self._expression()


@functools.lru_cache(maxsize=2048)
def _compile_cached(source: str, max_depth: int) -> Node:
    return Parser(source, max_depth).parse()


def compile_expression(source: str, limits: ExpressionLimits = DEFAULT_LIMITS) -> Node:
    """Parse a bare expression, reusing the cached tree when the same source was compiled before."""
    if len(source) > limits.max_source_chars:
        raise ExpressionError(
            f"Expression is too long ({len(source)} characters, limit {limits.max_source_chars})",
            source[:200],
        )
    try:
        return _compile_cached(source.strip(), limits.max_depth)
    except ExpressionError as error:
        error.expression = source
        raise
