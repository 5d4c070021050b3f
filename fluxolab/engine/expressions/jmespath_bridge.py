"""`$jmespath(value, "expr")`: the jmespath library run under the evaluator's budgets.

Each visited node costs a step, and every intermediate value is measured (repeated references
counted in full, strings by their length), so pipes such as `[@,@]|[@,@]|...` cannot expand
past the size limit. The two functions that build text from many values, `join` and
`to_string`, are replaced by versions that compute the size of their result before building
it: `join(sep, list)` repeats the separator once per element, so a short list and a long
separator could otherwise make gigabytes inside a query that passes every other check. The
texts they build also count against the render() call's total, so `map(&join(...), ...)`
cannot pile up many texts each under the bound.
"""

from __future__ import annotations

import json
from typing import Any

import jmespath
from jmespath import functions
from jmespath.exceptions import JMESPathError
from jmespath.visitor import Options, TreeInterpreter

from .callables import text_arg
from .convert import MAX_DATA_DEPTH, Converter
from .errors import ExpressionError
from .runtime import Runtime

MAX_QUERY_CHARS = 1_000


class _Sizes:
    """Measures JSON values (a lower bound of their compact JSON length), memoised by identity."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[Any, int]] = {}

    def of(self, value: Any, depth: int = 0) -> int:
        """Return the measured size of `value`; raise ExpressionError when nested too deeply."""
        if isinstance(value, str):
            return len(value) + 1
        if not isinstance(value, list | dict):
            return 1
        known = self._known.get(id(value))
        if known is not None:
            return known[1]
        if depth > MAX_DATA_DEPTH:
            raise ExpressionError("$jmespath() result is nested too deeply")
        items = value.values() if isinstance(value, dict) else value
        size = 1 + sum(self.of(item, depth + 1) for item in items)
        self._known[id(value)] = (value, size)
        return size


class _BoundedFunctions(functions.Functions):
    """JMESPath's functions, with `join` and `to_string` sized before they build their text."""

    def __init__(self, runtime: Runtime, sizes: _Sizes) -> None:
        self._runtime = runtime
        self._sizes = sizes

    def _built(self, text: str) -> str:
        """Check a new text against the per-value bound and charge it to the call's total."""
        self._runtime.check_size(len(text))
        self._runtime.charge(len(text))
        return text

    @functions.signature({"types": ["string"]}, {"types": ["array-string"]})
    def _func_join(self, separator: str, array: list[str]) -> str:
        gaps = max(len(array) - 1, 0)
        self._runtime.step(len(array))
        self._runtime.check_size(sum(map(len, array)) + len(separator) * gaps)
        return self._built(separator.join(array))

    @functions.signature({"types": []})
    def _func_to_string(self, arg: Any) -> str:
        if isinstance(arg, str):
            return arg
        self._runtime.check_size(self._sizes.of(arg))
        return self._built(json.dumps(arg, separators=(",", ":"), default=str))


class _BoundedInterpreter(TreeInterpreter):
    """A TreeInterpreter that charges a step per node and bounds the size of every result."""

    def __init__(self, runtime: Runtime, allowance: int) -> None:
        sizes = _Sizes()
        super().__init__(Options(custom_functions=_BoundedFunctions(runtime, sizes)))
        self._runtime = runtime
        self._allowance = allowance
        self._sizes = sizes

    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        """Visit one query node, then refuse results larger than the allowance."""
        self._runtime.step()
        result = super().visit(node, *args, **kwargs)
        if isinstance(result, str | list | dict) and self._sizes.of(result) > self._allowance:
            raise ExpressionError("$jmespath() result exceeds the size limit")
        return result


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
