"""What the engine hands back: one record per node run and the result of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fluxolab.engine.context import Item

SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"  # a disabled node: its input passed through untouched
CANCELED = "canceled"
TIMED_OUT = "timed_out"
WAITING = "waiting"


@dataclass
class StepRecord:
    """One run of one node; items are stored copies, already truncated to the step byte limit."""

    node_id: str
    node_name: str
    node_type: str
    status: str  # "succeeded" | "failed" | "skipped"
    attempt: int  # 1-based; the number of the last attempt made
    started_at: datetime
    finished_at: datetime
    input_items: list[Item]
    output: dict[str, list[Item]]  # by output name: "main", "true"/"false", "0".."n", "error"...
    error: dict[str, Any] | None = None  # {"message": str, "type": str}
    truncated: bool = False
    logs: list[str] = field(default_factory=list)  # what a Code node printed

    @property
    def duration_ms(self) -> float:
        """Return the wall time of the step in milliseconds."""
        return (self.finished_at - self.started_at).total_seconds() * 1000.0

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a JSON-ready dict keyed like the fields, with ISO timestamps."""
        return {
            "node_id": self.node_id,
            "node_name": self.node_name,
            "node_type": self.node_type,
            "status": self.status,
            "attempt": self.attempt,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "input_items": self.input_items,
            "output": self.output,
            "error": self.error,
            "truncated": self.truncated,
            "logs": self.logs,
        }


@dataclass
class RunResult:
    """The outcome of one ``run`` call; ``steps`` holds only the steps executed by that call."""

    status: str  # "succeeded" | "failed" | "canceled" | "timed_out" | "waiting"
    steps: list[StepRecord] = field(default_factory=list)
    error: dict[str, Any] | None = None  # {"message", "nodeId", "nodeName", "type"}
    state: dict[str, Any] | None = None  # set when status == "waiting"
    wait: dict[str, Any] | None = None  # {"kind", "nodeId", "nodeName", "until"}
    response: dict[str, Any] | None = None  # the first Respond-to-Webhook answer
    output: list[Item] = field(default_factory=list)  # what the last executed node emitted
    checkpointed: int = 0  # how many of ``steps`` (from the start) were already checkpointed
