"""The worker's ``WorkflowRunner``: Execute Workflow nodes start linked sub-executions.

A child is an ordinary execution row of the same workspace (mode ``subworkflow``, its
``parent_execution_id`` and ``depth`` set), created with ``create_execution``: the child runs
the workflow's current (latest saved) version, is checked for runnability and counts against
the plan's execution quota like any run.

- **wait**: the child is claimed and run *inline*, in the parent's worker and thread, inside
  the parent's concurrency slot and with what is left of the parent's time; its steps and
  outcome are persisted as for any run. A single worker never waits for a queued child it
  would have to run itself. Should the worker die meanwhile, the child's lease lapses and the
  sweeper hands the child to another worker like any abandoned run.
- **fire and forget**: the child is committed ``queued`` and ``executions.run`` is published
  after the commit.

The parent's session holds no uncommitted writes between nodes (its checkpoints and lease
renewals commit), so creating and running the child in the same session commits nothing of
the parent's; each statement of the child is a short transaction of its own.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import current_app

from fluxolab.engine.context import Item
from fluxolab.engine.errors import NodeError
from fluxolab.engine.subworkflows import SubRunResult
from fluxolab.errors import FluxoError, NotFound
from fluxolab.executions.claim import claim_inline
from fluxolab.executions.service import create_execution
from fluxolab.extensions import db
from fluxolab.models import SUBWORKFLOW_MODE

# Time the parent keeps for itself after an inline child returns (persisting its step).
PARENT_MARGIN_S = 0.5
ERROR_TYPE = "SubWorkflowError"
PARENT_STOPPED = "The run that started this sub-execution stopped while it ran"
log = logging.getLogger(__name__)


class SubWorkflows:
    """Runs workflows of ``workspace_id`` as children of execution ``parent_id``."""

    def __init__(self, workspace_id: uuid.UUID, parent_id: uuid.UUID, depth: int) -> None:
        self.workspace_id = workspace_id
        self.parent_id = parent_id
        self.depth = depth

    def run(
        self, workflow_id: str, items: list[Item], *, wait: bool, timeout_s: float | None = None
    ) -> SubRunResult:
        """Start the child; with ``wait`` run it here to its end. Raises ``NodeError``."""
        limit = int(current_app.config["SUBWORKFLOW_MAX_DEPTH"])
        if self.depth >= limit:
            raise NodeError(f"Sub-workflow depth limit ({limit}) reached", ERROR_TYPE)
        child_id = self._create(workflow_id, items, publish=not wait)
        if not wait:
            return SubRunResult(str(child_id), "queued")
        return _run_inline(child_id, timeout_s)

    def _create(self, workflow_id: str, items: list[Item], *, publish: bool) -> uuid.UUID:
        """Persist the child row (committed); raises ``NodeError`` when it cannot run."""
        try:
            target = uuid.UUID(workflow_id)
        except ValueError:
            raise NodeError(f"Workflow {workflow_id} not found", ERROR_TYPE) from None
        try:
            child = create_execution(
                self.workspace_id,
                target,
                items,
                mode=SUBWORKFLOW_MODE,
                user_id=None,
                parent_id=self.parent_id,
                depth=self.depth + 1,
                publish_now=publish,
            )
        except NotFound:
            db.session.rollback()
            raise NodeError(f"Workflow {workflow_id} not found", ERROR_TYPE) from None
        except FluxoError as exc:
            db.session.rollback()
            raise NodeError(f"Workflow {workflow_id}: {exc.message}", ERROR_TYPE) from None
        return child.id


def _run_inline(child_id: uuid.UUID, timeout_s: float | None) -> SubRunResult:
    """Claim and run the child in this worker; its outcome, or a failed result when lost."""
    from fluxolab.executions.runner import fail_running, run_claimed  # it builds this runner

    claimed = claim_inline(child_id)
    if claimed is None:
        return SubRunResult(str(child_id), "failed", error=_lost())
    budget = None if timeout_s is None else max(0.001, timeout_s - PARENT_MARGIN_S)
    try:
        result = run_claimed(claimed, timeout_s=budget)
    except BaseException:  # the parent stops too (worker time limit, database gone ...)
        try:
            fail_running(child_id, "failed", PARENT_STOPPED, "parent_stopped")
        except Exception:
            log.exception("could not end sub-execution %s", child_id)
        raise
    if result is None:
        return SubRunResult(str(child_id), "failed", error=_lost())
    return SubRunResult(
        str(child_id),
        result.status,
        items=list(result.output) if result.status == "succeeded" else [],
        error=result.error,
    )


def _lost() -> dict[str, Any]:
    return {"message": "the sub-execution was taken over by another worker", "type": "lost"}
