"""Per-render() budget: counts evaluation steps, watches the wall clock and bounds built sizes."""

from __future__ import annotations

import time

from .errors import ExpressionError, ExpressionLimits
from .scope import ExpressionScope

CLOCK_INTERVAL = 256
"""How many steps may pass between two wall-clock checks."""


class Runtime:
    """Holds the scope and limits of one render() call and raises when a budget runs out."""

    __slots__ = ("_clock_at", "_deadline", "limits", "scope", "steps")

    def __init__(self, scope: ExpressionScope, limits: ExpressionLimits) -> None:
        self.scope = scope
        self.limits = limits
        self.steps = 0
        self._deadline = time.monotonic() + limits.timeout_s
        self._clock_at = min(CLOCK_INTERVAL, limits.max_steps + 1)

    def step(self, count: int = 1) -> None:
        """Count `count` operations; raise ExpressionError past the step or time limit."""
        self.steps += count
        if self.steps >= self._clock_at:
            if self.steps > self.limits.max_steps:
                raise ExpressionError("Expression exceeded its step limit")
            self.check_clock()
            self._clock_at = min(self.steps + CLOCK_INTERVAL, self.limits.max_steps + 1)

    def check_clock(self) -> None:
        """Raise ExpressionError when the render() call has run past its wall-clock bound."""
        if time.monotonic() > self._deadline:
            raise ExpressionError(
                f"Expression exceeded its time limit ({self.limits.timeout_s:g} s)"
            )

    def check_size(self, size: int) -> None:
        """Raise ExpressionError when a string/list/dict of `size` would exceed max_result_chars."""
        if size > self.limits.max_result_chars:
            raise ExpressionError(
                f"Expression result exceeds the size limit "
                f"({self.limits.max_result_chars} characters or items)"
            )

    def text(self, value: str) -> str:
        """Return `value` after checking its length against max_result_chars."""
        self.check_size(len(value))
        return value
