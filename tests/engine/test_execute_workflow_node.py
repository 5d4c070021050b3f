"""The Execute Workflow node against a fake ``WorkflowRunner`` (the worker's one is in
tests/workers/test_subworkflows.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from fluxolab.egress import Egress, EgressPolicy
from fluxolab.engine import RunContext, run
from fluxolab.engine.context import Item
from fluxolab.engine.credentials import Credential
from fluxolab.engine.errors import NodeError
from fluxolab.engine.subworkflows import SubRunResult
from tests.engine.helpers import chain, items, jsons, node
from tests.fake_http import serving


@dataclass
class FakeRunner:
    """Records every call and answers with ``result`` (or raises ``error``)."""

    result: SubRunResult = field(
        default_factory=lambda: SubRunResult("child-1", "succeeded", [{"json": {"done": 1}}])
    )
    error: NodeError | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def run(
        self, workflow_id: str, items: list[Item], *, wait: bool, timeout_s: float | None = None
    ) -> SubRunResult:
        self.calls.append(
            {"workflow_id": workflow_id, "items": items, "wait": wait, "timeout_s": timeout_s}
        )
        if self.error is not None:
            raise self.error
        return self.result


def execute(**params: Any) -> dict[str, Any]:
    return node("x", "execute-workflow", **{"workflowId": "wf-child", **params})


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def sub_ctx(make_ctx: Callable[..., RunContext], runner: FakeRunner) -> RunContext:
    return make_ctx(services={"workflows": runner})


def test_wait_mode_outputs_the_child_items_and_logs_its_id(
    sub_ctx: RunContext, runner: FakeRunner
) -> None:
    result = run(chain(node("t", "manual"), execute()), items({"a": 1}, {"a": 2}), sub_ctx)
    assert result.status == "succeeded"
    assert jsons(result.output) == [{"done": 1}]
    assert runner.calls == [
        {
            "workflow_id": "wf-child",
            "items": items({"a": 1}, {"a": 2}),
            "wait": True,
            "timeout_s": pytest.approx(300.0, abs=1.0),
        }
    ]
    assert result.steps[-1].logs == ["Sub-execution child-1: succeeded"]


def test_fire_and_forget_outputs_the_queued_id(sub_ctx: RunContext, runner: FakeRunner) -> None:
    runner.result = SubRunResult("child-2", "queued")
    result = run(chain(node("t", "manual"), execute(mode="fireAndForget")), [], sub_ctx)
    assert jsons(result.output) == [{"executionId": "child-2", "status": "queued"}]
    assert runner.calls[0]["wait"] is False


def test_fixed_json_input_replaces_the_node_input(sub_ctx: RunContext, runner: FakeRunner) -> None:
    definition = chain(
        node("t", "manual"), execute(inputSource="json", inputData=[{"k": 1}, {"k": 2}])
    )
    run(definition, items({"ignored": True}), sub_ctx)
    assert runner.calls[0]["items"] == items({"k": 1}, {"k": 2})


def test_fixed_json_object_is_one_item(sub_ctx: RunContext, runner: FakeRunner) -> None:
    run(chain(node("t", "manual"), execute(inputSource="json", inputData={"k": 1})), [], sub_ctx)
    assert runner.calls[0]["items"] == items({"k": 1})


def test_workflow_id_may_be_an_expression(sub_ctx: RunContext, runner: FakeRunner) -> None:
    definition = chain(node("t", "manual"), execute(workflowId="{{ $json.target }}"))
    run(definition, items({"target": "wf-9"}), sub_ctx)
    assert runner.calls[0]["workflow_id"] == "wf-9"


def test_a_failed_child_fails_the_step_with_its_message_and_id(
    sub_ctx: RunContext, runner: FakeRunner
) -> None:
    runner.result = SubRunResult("child-3", "failed", error={"message": "boom"})
    result = run(chain(node("t", "manual"), execute()), [], sub_ctx)
    assert result.status == "failed"
    error = result.steps[-1].error or {}
    assert error["message"] == "Sub-workflow execution child-3 failed: boom"
    assert error["executionId"] == "child-3"
    assert error["type"] == "SubWorkflowError"


def test_runner_refusal_fails_the_step(sub_ctx: RunContext, runner: FakeRunner) -> None:
    runner.error = NodeError("Workflow nope not found", "SubWorkflowError")
    result = run(chain(node("t", "manual"), execute()), [], sub_ctx)
    assert result.status == "failed"
    assert (result.steps[-1].error or {})["message"] == "Workflow nope not found"


def test_without_a_runner_the_step_fails_clearly(ctx: RunContext) -> None:
    result = run(chain(node("t", "manual"), execute()), [], ctx)
    assert result.status == "failed"
    assert "sub-workflows cannot run here" in (result.error or {})["message"]


def test_node_is_checkpointed_after_it_ran(sub_ctx: RunContext, checkpoints: list[Any]) -> None:
    run(chain(node("t", "manual"), execute(), node("n", "no-op")), [], sub_ctx)
    assert any(step.node_type == "execute-workflow" for c in checkpoints for step in c.steps)


def test_workflow_id_is_required() -> None:
    from fluxolab.engine import validate_definition

    issues = validate_definition(chain(node("t", "manual"), node("x", "execute-workflow")))
    assert [issue.message for issue in issues] == [
        "Node \"x\" (id x): Required field 'workflowId' is missing"
    ]


def test_a_child_that_pauses_fails_the_step_in_wait_mode(
    sub_ctx: RunContext, runner: FakeRunner
) -> None:
    runner.result = SubRunResult("child-4", "waiting")
    result = run(chain(node("t", "manual"), execute()), [], sub_ctx)
    assert (result.steps[-1].error or {})["message"] == (
        "Sub-workflow execution child-4 waiting: it paused at a Wait or Approval node; "
        "run such workflows fire and forget"
    )


def test_the_input_items_are_not_changed(sub_ctx: RunContext, runner: FakeRunner) -> None:
    sample = items({"a": {"b": 1}})
    run(chain(node("t", "manual"), execute()), sample, sub_ctx)
    assert sample == items({"a": {"b": 1}})
    assert runner.calls[0]["items"] == sample


def test_the_child_input_never_carries_a_secret_of_the_parent(
    make_ctx: Callable[..., RunContext], runner: FakeRunner
) -> None:
    """The child's input is stored with the child: the parent's secrets are masked in it."""
    secret = "tok-parent-secret-123"
    credential = Credential("c1", "Bearer", "http-bearer", {"token": secret}, (secret,))

    class Credentials:
        def get(self, credential_id: str) -> Credential | None:
            return credential if credential_id == "c1" else None

    with serving("127.0.0.1") as server:  # echoes the request, Authorization header included
        ctx = make_ctx(
            services={
                "workflows": runner,
                "egress": Egress(EgressPolicy(allow=("127.0.0.1",))),
                "credentials": Credentials(),
            }
        )
        fetch = node("h", "http-request", url=server.url("/echo"), credentialId="c1")
        result = run(chain(node("t", "manual"), fetch, execute()), items({}), ctx)
    assert result.status == "succeeded", result.error
    [call] = runner.calls
    assert secret not in repr(call["items"])
    assert call["items"][0]["json"]["headers"]["authorization"] == "Bearer ***"
