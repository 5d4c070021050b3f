"""Execute Workflow: run another workflow of the workspace as a linked sub-execution."""

from __future__ import annotations

from typing import Any

from fluxolab.engine.call import NodeCall
from fluxolab.engine.context import Item
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.redaction import redact
from fluxolab.engine.schemas import any_value, choice, obj, prop
from fluxolab.engine.subworkflows import SERVICE, WorkflowRunner

WAIT = "wait"
FIRE_AND_FORGET = "fireAndForget"


def _fixed(data: Any) -> list[Item]:
    """Items from the fixed ``inputData``: an object is one item, a list one item per object."""
    if data is None:
        return [{"json": {}}]
    values = data if isinstance(data, list) else [data]
    if not all(isinstance(value, dict) for value in values):
        raise NodeError("Field 'inputData': must be an object or a list of objects")
    return [
        {"json": value["json"]} if isinstance(value.get("json"), dict) else {"json": value}
        for value in values
    ] or [{"json": {}}]


def _input(call: NodeCall, params: Any) -> list[Item]:
    """The child's input: this node's items, or the fixed ``inputData`` JSON."""
    if params.get("inputSource") == "json":
        return _fixed(params.get("inputData"))
    return [dict(item) for item in call.items] or [{"json": {}}]


def run_execute_workflow(call: NodeCall) -> Outputs:
    """Run the workflow once with all input items; output its result or its queued id."""
    params = call.params(0)
    runner: WorkflowRunner | None = call.ctx.services.get(SERVICE)
    if runner is None:
        raise NodeError(
            f"Node '{call.node.name}': sub-workflows cannot run here", "SubWorkflowError"
        )
    workflow_id = str(params.get("workflowId") or "").strip()
    if not workflow_id:
        raise NodeError("Field 'workflowId': no workflow selected")
    wait = params.get("mode", WAIT) == WAIT
    # The child's input is stored with the child, outside this run's redaction: mask the
    # secrets of the credentials this run used before they leave it.
    child_input = redact(_input(call, params), frozenset(call.env.secrets))
    result = runner.run(workflow_id, child_input, wait=wait, timeout_s=call.deadline_s)
    call.logs.append(f"Sub-execution {result.execution_id}: {result.status}")
    if not wait:
        return {"main": [{"json": {"executionId": result.execution_id, "status": "queued"}}]}
    if result.status != "succeeded":
        reason = (result.error or {}).get("message") or result.status
        if result.status == "waiting":
            reason = "it paused at a Wait or Approval node; run such workflows fire and forget"
        raise NodeError(
            f"Sub-workflow execution {result.execution_id} {result.status}: {reason}",
            "SubWorkflowError",
            executionId=result.execution_id,
        )
    return {"main": list(result.items)}


EXECUTE_WORKFLOW = NodeType(
    type="execute-workflow",
    name="Execute Workflow",
    description="Run another workflow of this workspace and use its result",
    category="flow",
    icon="workflow",
    run=run_execute_workflow,
    config_schema=obj(
        {
            "workflowId": prop("string", "Workflow", minLength=1, maxLength=64),
            "mode": choice("Mode", [WAIT, FIRE_AND_FORGET], WAIT),
            "inputSource": choice("Input", ["input", "json"], "input"),
            "inputData": any_value("Fixed input (JSON object or list of objects)"),
        },
        required=["workflowId"],
    ),
    aliases=("executeWorkflow", "workflow.execute"),
    side_effects=True,
)

NODE_TYPES = (EXECUTE_WORKFLOW,)
