"""The Approval node (human in the loop): wait for a decision, then route the items.

The run returns "waiting" with ``wait.kind == "approval"`` and ``until`` = now + timeout hours.
The resume payload ``{"approved", "by", "comment", "reason"}`` sends the items to ``approved``
or ``rejected`` with ``json.approval`` set; ``reason == "timeout"`` is always a rejection.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from fluxolab.engine.call import NodeCall
from fluxolab.engine.conditions import non_negative
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import NodeResult, NodeType, WaitRequest
from fluxolab.engine.schemas import array_of, obj, prop


def _decision(call: NodeCall, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ``approval`` record merged into each item; a timeout is a rejection."""
    reason = payload.get("reason") or "decision"
    return {
        "approved": payload.get("approved") is True and reason != "timeout",
        "by": payload.get("by"),
        "comment": payload.get("comment"),
        "decidedAt": call.now.isoformat(),
        "reason": reason,
    }


def run_approval(call: NodeCall) -> NodeResult:
    """Ask for a decision (wait until the timeout); on resume route to approved or rejected."""
    if call.resume is None:
        params = call.params(0)
        hours = non_negative(params.get("timeout"), "timeout")
        details = {"message": params.get("message"), "approvers": params.get("approvers") or []}
        return WaitRequest("approval", call.now + timedelta(hours=hours), details)
    if not call.resume.payload:
        raise NodeError("Approval resumed without a decision", "ApprovalError")
    decision = _decision(call, call.resume.payload)
    items = [
        {**item, "json": {**(item.get("json") or {}), "approval": decision}} for item in call.items
    ]
    return (
        {"approved": items, "rejected": []}
        if decision["approved"]
        else {
            "approved": [],
            "rejected": items,
        }
    )


APPROVAL = NodeType(
    type="approval",
    name="Approval",
    description="Wait for a person to approve or reject",
    category="human",
    icon="user-check",
    run=run_approval,
    config_schema=obj(
        {
            "message": prop("string", "Message"),
            "approvers": array_of("Approvers", {"type": "string"}, default=[]),
            "timeout": prop("number", "Timeout (hours)", exclusiveMinimum=0, default=24),
        },
        required=["message"],
    ),
    outputs=("approved", "rejected"),
)

NODE_TYPES = (APPROVAL,)
