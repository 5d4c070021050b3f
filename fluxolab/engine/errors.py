"""Errors raised inside the engine; ``run`` turns every one of them into a failed result.

NodeError            a node could not do its work (bad parameter value, failed expression ...)
├── NodeTimeout      the node ran past its ``timeoutMs`` setting (the run ends ``timed_out``)
├── RunTimeout       the run's time ran out while the node ran; never retried, never continued
└── LimitExceeded    a per-step limit was broken; never retried, never continued
"""

from __future__ import annotations

from typing import Any


class NodeError(Exception):
    """A node failed; ``message`` is shown to the user, ``type`` names the kind of failure."""

    retryable = True

    def __init__(self, message: str, type: str = "NodeError", **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.type = type
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """Return the error as the JSON-ready ``{"message", "type", ...details}`` dict."""
        return {"message": self.message, "type": self.type, **self.details}


class NodeTimeout(NodeError):
    """The node ran longer than its ``timeoutMs`` setting allows."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="NodeTimeout")


class RunTimeout(NodeError):
    """The run's overall timeout passed while this node was running; the run ends timed out."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message, type="Timeout")


class LimitExceeded(NodeError):
    """A per-step limit was exceeded; the step fails whatever its error settings say."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message, type="LimitExceeded")
