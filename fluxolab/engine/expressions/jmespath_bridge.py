"""`$jmespath(value, "expr")`: the jmespath library run under the evaluator's budgets.

Each visited node costs a step, and every intermediate list/dict is measured (repeated references
counted in full), so pipes such as `[@,@]|[@,@]|...` cannot expand past the size limit.
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.visitor import TreeInterpreter

from .callables import text_arg
from .convert import MAX_DATA_DEPTH, Converter
from .errors import ExpressionError
from .runtime import Runtime

MAX_QUERY_CHARS = 1_000


class _BoundedInterpreter(TreeInterpreter):
    """A TreeInterpreter that charges a step per node and bounds the size of every result."""

    def __init__(self, runtime: Runtime, allowance: int) -> None:
        super().__init__()
        self._runtime = runtime
        self._allowance = allowance
        self._sizes: dict[int, tuple[Any, int]] = {}

    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        """Visit one query node, then refuse results larger than the allowance."""
        self._runtime.step()
        result = super().visit(node, *args, **kwargs)
        if isinstance(result, list | dict) and self._size(result, 0) > self._allowance:
            raise ExpressionError("$jmespath() result exceeds the size limit")
        return result

    def _size(self, value: Any, depth: int) -> int:
        if isinstance(value, str):
            return len(value) + 1
        if not isinstance(value, list | dict):
            return 1
        known = self._sizes.get(id(value))
        if known is not None:
            return known[1]
        if depth > MAX_DATA_DEPTH:
            raise ExpressionError("$jmespath() result is nested too deeply")
        items = value.values() if isinstance(value, dict) else value
        size = 1 + sum(self._size(item, depth + 1) for item in items)
        self._sizes[id(value)] = (value, size)
        return size


def jmespath_search(rt: Runtime, receiver: Any, args: list[Any]) -> Any:
    """Run a JMESPath query over a JSON copy of args[0]; raise ExpressionError on any failure."""
    query = text_arg(args, 1, "$jmespath()")
    if len(query) > MAX_QUERY_CHARS:
        raise ExpressionError(f"$jmespath() query is too long (limit {MAX_QUERY_CHARS} characters)")
    data, size = Converter(rt).plain(args[0])
    try:
        parsed = jmespath.compile(query)
        interpreter = _BoundedInterpreter(rt, size + rt.limits.max_result_chars)
        return interpreter.visit(parsed.parsed, data)
    except JMESPathError as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ExpressionError(f"$jmespath(): {first_line}") from None
    except RecursionError:
        raise ExpressionError("$jmespath() query is nested too deeply") from None
