"""Per-render() budget: counts evaluation steps, watches the wall clock and bounds built sizes.

Sizes are checked twice: helpers that can grow their input estimate the size of their result
and call `check_size` before building it, and every value a helper, operator or `$jmespath`
call returns passes `produced`, which checks it against the per-value bound and charges it to
the per-call total (`max_built_chars`). A value returned unchanged (the receiver or an
argument itself) was not built and costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .errors import ExpressionError, ExpressionLimits
from .scope import ExpressionScope

CLOCK_INTERVAL = 256
"""How many steps may pass between two wall-clock checks."""


class Runtime:
    """Holds the scope and limits of one render() call and raises when a budget runs out."""

    __slots__ = ("_clock_at", "_deadline", "built", "limits", "scope", "steps")

    def __init__(self, scope: ExpressionScope, limits: ExpressionLimits) -> None:
        self.scope = scope
        self.limits = limits
        self.steps = 0
        self.built = 0
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

    def charge(self, size: int) -> None:
        """Add `size` built characters or items to the call's total; raise past max_built_chars."""
        self.built += size
        if self.built > self.limits.max_built_chars:
            raise ExpressionError(
                f"Expression exceeds the size limit: it built more than "
                f"{self.limits.max_built_chars} characters or items in total"
            )

    def text(self, value: str) -> str:
        """Return `value` after checking its length against max_result_chars."""
        self.check_size(len(value))
        return value

    def produced(self, value: Any, receiver: Any = None, args: list[Any] | None = None) -> Any:
        """Return a helper's result after checking and charging its size (strings included).

        The receiver or an argument handed back unchanged is not charged: nothing was built.
        """
        if not isinstance(value, str | list | tuple | Mapping):
            return value
        if value is receiver or (args and any(value is arg for arg in args)):
            return value
        size = len(value)
        self.check_size(size)
        self.charge(size)
        return value
