"""Splits strings into literal text and `{{ ... }}` expressions, and caches compiled templates."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .errors import ExpressionError, ExpressionLimits
from .lexer import read_string
from .nodes import Node
from .parser import compile_expression

CACHEABLE_CHARS = 10_000
"""Longer strings are compiled on every call instead of occupying the cache."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One `{{ ... }}` expression: its source text and compiled tree."""

    source: str
    node: Node


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled string; `single` is set when the string is exactly one expression."""

    parts: tuple[str | Segment, ...]
    single: Segment | None


def _skip_string(text: str, index: int) -> int:
    """Return the index after the quoted string at `index`, or -1 if it is unterminated."""
    try:
        return read_string(text, index)[1]
    except ExpressionError:  # unterminated or malformed: the parser reports it later
        return -1


def _expression_end(text: str, index: int) -> int:
    """Return the index of the `}}` closing an expression that starts at `index`, or -1."""
    depth = 0
    start = index
    while index < len(text):
        char = text[index]
        if char in "'\"":
            after = _skip_string(text, index)
            if after < 0:
                return text.find("}}", start)
            index = after
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0 and text.startswith("}}", index):
                return index
            depth = max(depth - 1, 0)
        index += 1
    return -1


def split_template(text: str) -> list[tuple[bool, str]]:
    """Split text into (is_expression, text) parts; an unclosed `{{` stays literal text."""
    parts: list[tuple[bool, str]] = []
    position = 0
    while (start := text.find("{{", position)) >= 0:
        end = _expression_end(text, start + 2)
        if end < 0:
            break
        if start > position:
            parts.append((False, text[position:start]))
        parts.append((True, text[start + 2 : end]))
        position = end + 2
    if position < len(text):
        parts.append((False, text[position:]))
    return parts


def _build(text: str, limits: ExpressionLimits) -> Template:
    parts: list[str | Segment] = []
    for is_expression, piece in split_template(text):
        if is_expression:
            parts.append(Segment(piece.strip(), compile_expression(piece, limits)))
        else:
            parts.append(piece)
    segments = [part for part in parts if isinstance(part, Segment)]
    alone = len(segments) == 1 and all(isinstance(p, Segment) or not p.strip() for p in parts)
    return Template(tuple(parts), segments[0] if alone else None)


@functools.lru_cache(maxsize=1024)
def _build_cached(text: str, limits: ExpressionLimits) -> Template:
    return _build(text, limits)


def compile_template(text: str, limits: ExpressionLimits) -> Template:
    """Compile a string with `{{ }}` expressions; raise ExpressionError on a syntax error."""
    if len(text) <= CACHEABLE_CHARS:
        return _build_cached(text, limits)
    return _build(text, limits)
