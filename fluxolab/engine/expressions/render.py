"""The public entry points: render(), evaluate(), has_expression() and check_syntax()."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from .convert import MAX_DATA_DEPTH, to_plain, to_text
from .errors import DEFAULT_LIMITS, ExpressionError, ExpressionLimits
from .evaluator import Evaluator
from .parser import compile_expression
from .runtime import Runtime
from .scope import ExpressionScope
from .templates import Segment, compile_template, split_template


def _guarded(action: Callable[[], Any], source: str) -> Any:
    """Run `action`, turning every failure into an ExpressionError that names `source`."""
    try:
        return action()
    except ExpressionError as error:
        if not error.expression:
            error.expression = source
        raise
    except RecursionError:
        raise ExpressionError("Expression is nested too deeply", source) from None
    except Exception as error:
        message = f"Expression failed ({type(error).__name__}: {str(error)[:200]})"
        raise ExpressionError(message, source) from None


def _run(segment: Segment, evaluator: Evaluator, finish: Callable[[Any, Runtime], Any]) -> Any:
    runtime = evaluator.runtime
    return _guarded(lambda: finish(evaluator.eval(segment.node), runtime), segment.source)


def _render_text(text: str, evaluator: Evaluator) -> Any:
    if "{{" not in text:
        return text
    runtime = evaluator.runtime
    template = _guarded(lambda: compile_template(text, runtime.limits), text)
    if template.single is not None:
        return _run(template.single, evaluator, to_plain)
    pieces: list[str] = []
    total = 0
    for part in template.parts:
        piece = part if isinstance(part, str) else _run(part, evaluator, to_text)
        total += len(piece)
        if total > runtime.limits.max_result_chars:
            _guarded(functools.partial(runtime.check_size, total), text)
        pieces.append(piece)
    return "".join(pieces)


def _render_value(value: Any, evaluator: Evaluator, depth: int) -> Any:
    if isinstance(value, str):
        return _render_text(value, evaluator)
    if depth >= MAX_DATA_DEPTH:
        raise ExpressionError(f"Parameters are nested too deeply (limit {MAX_DATA_DEPTH})")
    if isinstance(value, Mapping):
        return {key: _render_value(item, evaluator, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_render_value(item, evaluator, depth + 1) for item in value]
    return value


def render(value: Any, scope: ExpressionScope, limits: ExpressionLimits = DEFAULT_LIMITS) -> Any:
    """Return a copy of `value` with every `{{ }}` evaluated; raise ExpressionError on failure.

    A string that is exactly one expression keeps the result's type; mixed text interpolates it.
    """
    if isinstance(value, str) and "{{" not in value:
        return value
    evaluator = Evaluator(Runtime(scope, limits))
    return _render_value(value, evaluator, 0)


def evaluate(source: str, scope: ExpressionScope, limits: ExpressionLimits = DEFAULT_LIMITS) -> Any:
    """Evaluate a bare expression (no braces) to a JSON-safe value; raise ExpressionError."""
    node = _guarded(lambda: compile_expression(source, limits), source)
    evaluator = Evaluator(Runtime(scope, limits))
    return _run(Segment(source.strip(), node), evaluator, to_plain)


def _strings(value: Any) -> list[str]:
    """Return every string inside nested dicts/lists, without recursion."""
    found: list[str] = []
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, Mapping | list | tuple) and id(item) not in seen:
            seen.add(id(item))
            children = list(item.values() if isinstance(item, Mapping) else item)
            stack.extend(reversed(children))
    return found


def has_expression(value: Any) -> bool:
    """Return True if any string inside `value` (nested dicts/lists included) contains '{{'."""
    if isinstance(value, str):
        return "{{" in value
    return any("{{" in text for text in _strings(value))


def check_syntax(value: Any, limits: ExpressionLimits = DEFAULT_LIMITS) -> list[str]:
    """Parse every `{{ }}` inside `value` and return one message per broken expression."""
    errors: list[str] = []
    for text in _strings(value):
        if "{{" not in text:
            continue
        for is_expression, piece in split_template(text):
            if not is_expression:
                continue
            try:
                _guarded(functools.partial(compile_expression, piece, limits), piece)
            except ExpressionError as error:
                errors.append(f"{error.message} in '{{{{{piece[:80]}}}}}'")
    return errors
