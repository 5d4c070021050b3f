"""``run_node``: run one node on sample items (``POST /api/workflows/nodes/test``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fluxolab.engine.call import RunEnv
from fluxolab.engine.context import Item, RunContext
from fluxolab.engine.executor import Executor
from fluxolab.engine.issues import ValidationIssue
from fluxolab.engine.records import FAILED, SUCCEEDED, StepRecord
from fluxolab.engine.runner import normalize_items
from fluxolab.engine.spec import compile_node
from fluxolab.engine.storage import store_items


def _text(raw: Mapping[str, Any], key: str, default: str = "") -> str:
    """Return ``raw[key]`` as text for the record of a node that did not compile."""
    value = raw.get(key) if isinstance(raw, Mapping) else None
    return str(value) if value not in (None, "") else default


def run_node(node: Mapping[str, Any], input_items: list[Item], ctx: RunContext) -> StepRecord:
    """Run one node definition on ``input_items`` and return its step; never raises for it.

    Invalid params give a failed step with the validation messages. A Wait or Approval node
    does not pause here: its step succeeds with no output and a log line saying why.
    """
    started = ctx.now()
    items = normalize_items(input_items)
    compiled, issues = compile_node(node, 0)
    if compiled is None or issues:
        return _invalid_step(node, items, issues, ctx, started)
    executor = Executor(RunEnv(ctx))  # its record masks the credential secrets it used
    outcome = executor.execute(compiled, {"0": items})
    if outcome.step is not None:
        return outcome.step
    wait = outcome.wait
    until = wait.until.isoformat() if wait and wait.until else "a decision"
    step = executor.record(compiled, {"0": items}, {}, started, SUCCEEDED, 1)
    kind = wait.kind if wait else "wait"
    step.logs.append(f"In a run this node would wait ({kind}) until {until}")
    return step


def _invalid_step(
    node: Mapping[str, Any],
    items: list[Item],
    issues: list[ValidationIssue],
    ctx: RunContext,
    started: datetime,
) -> StepRecord:
    """Return the failed step of a node definition that does not validate."""
    error = {
        "message": "; ".join(issue.message for issue in issues),
        "type": "ValidationError",
        "issues": [issue.to_dict() for issue in issues],
    }
    node_id = _text(node, "id")
    stored, _, truncated = store_items(items, ctx.limits.max_step_bytes)
    return StepRecord(
        node_id=node_id,
        node_name=_text(node, "name", node_id),
        node_type=_text(node, "type"),
        status=FAILED,
        attempt=1,
        started_at=started,
        finished_at=ctx.now(),
        input_items=stored,
        output={},
        error=error,
        truncated=truncated,
    )
