"""What the Execute Workflow node needs from its caller: a ``WorkflowRunner``.

The engine never reaches the database: a worker puts a runner in ``ctx.services["workflows"]``
that creates the linked sub-execution and either runs it to the end (``wait``) or queues it.
A runner raises ``NodeError`` when it cannot start the child (unknown workflow, depth limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from fluxolab.engine.context import Item

SERVICE = "workflows"  # the key of the runner in ``RunContext.services``


@dataclass(frozen=True)
class SubRunResult:
    """The child run: its id, its status, and (when waited for) its output or error."""

    execution_id: str
    status: str  # queued (fire and forget) | succeeded | failed | canceled | timed_out ...
    items: list[Item] = field(default_factory=list)
    error: dict[str, Any] | None = None


class WorkflowRunner(Protocol):
    """Starts another workflow of the run's workspace as a sub-execution of the run."""

    def run(
        self, workflow_id: str, items: list[Item], *, wait: bool, timeout_s: float | None = None
    ) -> SubRunResult:
        """Run ``workflow_id`` on ``items``; with ``wait`` until it ends, within ``timeout_s``."""
        ...
