"""The error type and the resource limits shared by every part of the evaluator."""

from __future__ import annotations

from dataclasses import dataclass


class ExpressionError(Exception):
    """Raised for syntax errors, forbidden access, limit breaches and runtime type errors."""

    def __init__(self, message: str, expression: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ExpressionLimits:
    """Bounds on one expression (source, depth) and on one render() call (steps, sizes, time).

    ``max_result_chars`` bounds every single string, array or object an expression builds;
    ``max_built_chars`` bounds everything one render() call builds, added up, so that many
    values each under the first bound cannot together exhaust memory.
    """

    max_source_chars: int = 10_000
    max_depth: int = 64
    max_steps: int = 100_000
    max_result_chars: int = 1_000_000
    max_built_chars: int = 4_000_000
    timeout_s: float = 1.0


DEFAULT_LIMITS = ExpressionLimits()
