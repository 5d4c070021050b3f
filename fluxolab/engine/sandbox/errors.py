"""The one exception a sandboxed run raises."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

ErrorKind = Literal["timeout", "memory", "cpu", "syntax", "runtime", "output", "items", "internal"]


class SandboxError(Exception):
    """A run failed: ``message`` is for humans, ``kind`` for code, ``logs`` are the prints kept."""

    def __init__(self, message: str, kind: ErrorKind, logs: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind
        self.logs = list(logs)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"SandboxError({self.message!r}, kind={self.kind!r})"


class SandboxRefused(SandboxError):
    """Bubblewrap cannot confine runs on this host and isolation is required: nothing ran."""
