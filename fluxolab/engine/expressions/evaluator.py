"""Walks a syntax tree and computes its value, charging one step per node and per chain link."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .access import call_method, call_value, get_index, get_member
from .builtins import GLOBALS, VARIABLES
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
from .operators import apply_binary, apply_unary
from .runtime import Runtime
from .values import truthy


class Evaluator:
    """Evaluates syntax trees against one Runtime (scope, limits and budgets)."""

    __slots__ = ("runtime",)

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def eval(self, node: Node) -> Any:
        """Return the value of `node`; raise ExpressionError on any failure or exhausted budget."""
        self.runtime.step()
        return _HANDLERS[type(node)](self, node)

    def _literal(self, node: Literal) -> Any:
        return node.value

    def _array(self, node: ArrayLiteral) -> list[Any]:
        return [self.eval(item) for item in node.items]

    def _object(self, node: ObjectLiteral) -> dict[str, Any]:
        return {key: self.eval(value) for key, value in node.entries}

    def _variable(self, node: Variable) -> Any:
        return VARIABLES[node.name](self.runtime)

    def _global(self, node: GlobalName) -> Any:
        return GLOBALS[node.name]

    def _legacy(self, node: LegacyField) -> Any:
        data = self.runtime.scope.json
        return data.get(node.name) if isinstance(data, Mapping) else None

    def _unary(self, node: Unary) -> Any:
        value = self.eval(node.operand)
        for op in reversed(node.ops):
            value = apply_unary(op, value)
        return value

    def _binary(self, node: Binary) -> Any:
        operands = node.operands
        first_op = node.ops[0]
        value = self.eval(operands[0])
        if first_op in ("&&", "||", "??"):
            return self._logical(first_op, value, operands)
        for op, operand in zip(node.ops, operands[1:], strict=True):
            value = apply_binary(self.runtime, op, value, self.eval(operand))
        return value

    def _logical(self, op: str, value: Any, operands: tuple[Node, ...]) -> Any:
        for operand in operands[1:]:
            if op == "&&" and not truthy(value):
                return value
            if op == "||" and truthy(value):
                return value
            if op == "??" and value is not None:
                return value
            value = self.eval(operand)
        return value

    def _conditional(self, node: Conditional) -> Any:
        return self.eval(node.then if truthy(self.eval(node.test)) else node.otherwise)

    def _chain(self, node: Chain) -> Any:
        value = self.eval(node.base)
        links = node.links
        position = 0
        while position < len(links):
            link = links[position]
            self.runtime.step()
            if link.optional and value is None:
                return None
            if isinstance(link, Member):
                following = links[position + 1] if position + 1 < len(links) else None
                if isinstance(following, Call) and not following.optional:
                    args = [self.eval(arg) for arg in following.args]
                    value = call_method(self.runtime, value, link.name, args)
                    position += 2
                    continue
                value = get_member(value, link.name)
            elif isinstance(link, Index):
                value = get_index(value, self.eval(link.key))
            else:
                value = call_value(self.runtime, value, [self.eval(arg) for arg in link.args])
            position += 1
        return value


_HANDLERS: dict[type[Node], Callable[[Evaluator, Any], Any]] = {
    Literal: Evaluator._literal,
    ArrayLiteral: Evaluator._array,
    ObjectLiteral: Evaluator._object,
    Variable: Evaluator._variable,
    GlobalName: Evaluator._global,
    LegacyField: Evaluator._legacy,
    Unary: Evaluator._unary,
    Binary: Evaluator._binary,
    Conditional: Evaluator._conditional,
    Chain: Evaluator._chain,
}
