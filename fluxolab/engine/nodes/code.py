"""The Code node: run the user's Python over the items in the process sandbox.

The code is the body of ``def user_code(items, data)`` (``data`` is the same list, so the
builder's default ``return data;`` works). JavaScript is refused at validation time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from fluxolab.engine import deadline
from fluxolab.engine.call import NodeCall
from fluxolab.engine.errors import LimitExceeded, NodeError, NodeTimeout
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.sandbox import SandboxError, SandboxLimits, run_python
from fluxolab.engine.schemas import choice, obj, prop

MIN_WALL_SECONDS = 0.05


def _language_issues(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Refuse languages other than Python with a message pointing to Python."""
    language = params.get("language")
    if language != "python":
        return [("language", f"Language '{language}' is not supported; use python")]
    return []


def _limits(call: NodeCall) -> SandboxLimits:
    """Return the run's sandbox limits: the wall time cut to the node's deadline, and the
    run's per-step item limit (the child refuses a longer result before sending it)."""
    limits = call.ctx.limits.code
    changes: dict[str, Any] = {}
    if limits.max_items != call.ctx.limits.max_items_per_step:
        changes["max_items"] = call.ctx.limits.max_items_per_step
    if call.deadline_s is not None and call.deadline_s < limits.wall_seconds:
        changes["wall_seconds"] = max(call.deadline_s, MIN_WALL_SECONDS)
    return dataclasses.replace(limits, **changes) if changes else limits


def run_code(call: NodeCall) -> Outputs:
    """Run the code on all input items at once; raises NodeError with the sandbox's message."""
    params = call.params(0)
    if params.get("language") != "python":
        raise NodeError(f"Language '{params.get('language')}' is not supported; use python")
    limits = _limits(call)
    try:
        with deadline.shielded():  # the sandbox stops at the same deadline and cleans up
            result = run_python(str(params.get("code") or ""), call.items, limits)
    except SandboxError as exc:
        call.logs.extend(exc.logs)
        if exc.kind == "items":
            raise LimitExceeded(exc.message) from exc
        if exc.kind == "timeout" and limits.wall_seconds < call.ctx.limits.code.wall_seconds:
            raise NodeTimeout(f"Code timed out after {limits.wall_seconds:.1f} s") from exc
        raise NodeError(exc.message, "CodeError", kind=exc.kind) from exc
    call.logs.extend(result.logs)
    return {"main": result.items}


CODE_EXECUTE = NodeType(
    type="code-execute",
    name="Code",
    description="Run Python code over the items",
    category="core",
    icon="code",
    run=run_code,
    config_schema=obj(
        {
            "language": choice("Language", ["python", "javascript"], "python"),
            "code": prop("string", "Code", default="return items"),
        },
        required=["language", "code"],
    ),
    raw_params=frozenset({"code"}),
    check=_language_issues,
)

NODE_TYPES = (CODE_EXECUTE,)
