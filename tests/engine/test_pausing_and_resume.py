"""Wait, Approval, Respond to Webhook, checkpoints and resuming a run from its state."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from fluxolab.engine import Checkpoint, Limits, Resume, RunContext, run
from tests.engine.conftest import START, FakeClock
from tests.engine.helpers import chain, graph, items, jsons, node

RESPOND = node("r", "respond-to-webhook", status=201, json={"id": "{{ $json.id }}"})


def test_wait_returns_waiting_with_until_and_a_json_state(ctx: RunContext) -> None:
    definition = chain(node("t", "manual"), node("w", "wait", amount=2, unit="hours"))
    result = run(definition, items({"a": 1}), ctx)
    assert result.status == "waiting"
    assert result.wait == {
        "kind": "wait",
        "nodeId": "w",
        "nodeName": "w",
        "until": (START + timedelta(hours=2)).isoformat(),
    }
    assert result.state is not None
    assert json.loads(json.dumps(result.state)) == result.state
    assert [step.node_id for step in result.steps] == ["t"]


def test_resume_after_wait_continues_after_the_wait_node(ctx: RunContext) -> None:
    definition = chain(
        node("t", "manual"),
        node("w", "wait", amount=5, unit="minutes"),
        node("s", "set", fields=[{"name": "done", "value": True}]),
    )
    first = run(definition, items({"a": 1}), ctx)
    assert first.state is not None
    second = run(definition, [], ctx, resume=Resume(first.state))
    assert second.status == "succeeded"
    assert [step.node_id for step in second.steps] == ["w", "s"]
    assert jsons(second.output) == [{"a": 1, "done": True}]


def test_wait_until_a_past_date_does_not_pause(ctx: RunContext) -> None:
    definition = chain(node("t", "manual"), node("w", "wait", until="2020-01-01T00:00:00Z"))
    assert run(definition, [], ctx).status == "succeeded"


def test_wait_until_an_expression_date(ctx: RunContext) -> None:
    definition = chain(node("t", "manual"), node("w", "wait", until="{{ $json.at }}"))
    result = run(definition, items({"at": "2026-02-01T10:00:00+00:00"}), ctx)
    assert result.wait is not None
    assert result.wait["until"] == "2026-02-01T10:00:00+00:00"


def approval_definition() -> dict[str, Any]:
    nodes = [
        node("t", "manual"),
        node("a", "approval", message="Pay {{ $json.amount }}?", approvers=["u1"], timeout=48),
        node("paid", "no-op"),
        node("refused", "no-op"),
    ]
    return graph(nodes, ("t", "a"), ("a", "approved", "paid"), ("a", "rejected", "refused"))


def test_approval_waits_with_until_after_the_timeout(ctx: RunContext) -> None:
    result = run(approval_definition(), items({"amount": 10}), ctx)
    assert result.status == "waiting"
    assert result.wait is not None
    assert result.wait["kind"] == "approval"
    assert result.wait["until"] == (START + timedelta(hours=48)).isoformat()
    assert result.wait["message"] == "Pay 10?"
    assert result.wait["approvers"] == ["u1"]


@pytest.mark.parametrize(
    ("payload", "branch", "approved"),
    [
        ({"approved": True, "by": "u1", "comment": "ok", "reason": "decision"}, "paid", True),
        ({"approved": False, "by": "u1", "comment": "no", "reason": "decision"}, "refused", False),
        ({"approved": True, "by": None, "comment": None, "reason": "timeout"}, "refused", False),
    ],
    ids=["approve", "reject", "timeout-rejects"],
)
def test_approval_resume_routes_by_decision(
    ctx: RunContext, clock: FakeClock, payload: dict[str, Any], branch: str, approved: bool
) -> None:
    first = run(approval_definition(), items({"amount": 10}), ctx)
    assert first.state is not None
    clock.advance(3600)
    second = run(approval_definition(), [], ctx, resume=Resume(first.state, payload))
    assert second.status == "succeeded"
    assert [step.node_id for step in second.steps] == ["a", branch]
    assert second.output[0]["json"]["approval"] == {
        "approved": approved,
        "by": payload["by"],
        "comment": payload["comment"],
        "decidedAt": (START + timedelta(hours=1)).isoformat(),
        "reason": payload["reason"],
    }


def test_approval_resumed_without_payload_fails(ctx: RunContext) -> None:
    first = run(approval_definition(), items({"amount": 10}), ctx)
    assert first.state is not None
    second = run(approval_definition(), [], ctx, resume=Resume(first.state))
    assert second.status == "failed"
    assert second.error is not None
    assert second.error["nodeId"] == "a"


def test_respond_to_webhook_records_the_response(ctx: RunContext) -> None:
    result = run(chain(node("t", "webhook", path="p"), RESPOND), items({"id": 9}), ctx)
    assert result.response == {
        "status": 201,
        "headers": {"Content-Type": "application/json"},
        "body": {"id": 9},
    }
    assert jsons(result.output) == [{"id": 9}]


def test_only_the_first_response_counts(ctx: RunContext) -> None:
    second = node("r2", "respond-to-webhook", status=500, text="late")
    result = run(chain(node("t", "manual"), RESPOND, second), items({"id": 1}), ctx)
    assert result.response is not None
    assert result.response["status"] == 201
    assert result.steps[-1].logs == ["A response was already sent; this one was ignored"]


def test_respond_text_body_defaults_to_plain_text(ctx: RunContext) -> None:
    respond = node("r", "webhook.respond", text="Hi {{ $json.name }}")
    result = run(chain(node("t", "manual"), respond), items({"name": "Ana"}), ctx)
    assert result.response is not None
    assert result.response["body"] == "Hi Ana"
    assert result.response["headers"]["Content-Type"].startswith("text/plain")


def side_effect_definition() -> dict[str, Any]:
    return chain(
        node("t", "webhook", path="p"),
        RESPOND,
        node("s", "set", fields=[{"name": "after", "value": "{{ $node['r'].json.id }}"}]),
        node("n", "no-op"),
    )


def test_checkpoint_follows_each_side_effect_node(
    ctx: RunContext, checkpoints: list[Checkpoint]
) -> None:
    run(side_effect_definition(), items({"id": 5}), ctx)
    [checkpoint] = checkpoints
    assert [step.node_id for step in checkpoint.steps] == ["t", "r"]
    assert json.loads(json.dumps(checkpoint.state)) == checkpoint.state


def test_resume_from_a_checkpoint_does_not_repeat_the_side_effect(
    make_ctx: Callable[..., RunContext], checkpoints: list[Checkpoint]
) -> None:
    """A worker that died after the checkpoint resumes without answering the caller again."""
    run(side_effect_definition(), items({"id": 5}), make_ctx())
    state = checkpoints[0].state
    resumed = run(side_effect_definition(), [], make_ctx(), resume=Resume(state))
    assert resumed.status == "succeeded"
    assert [step.node_id for step in resumed.steps] == ["s", "n"]
    assert resumed.response is not None
    assert resumed.response["body"] == {"id": 5}
    assert jsons(resumed.output) == [{"id": 5, "after": 5}]


def test_result_says_how_many_steps_were_already_checkpointed(
    ctx: RunContext, checkpoints: list[Checkpoint]
) -> None:
    result = run(side_effect_definition(), items({"id": 5}), ctx)
    assert result.checkpointed == 2
    assert [step.node_id for step in result.steps[result.checkpointed :]] == ["s", "n"]


def test_no_checkpoints_without_side_effects(
    ctx: RunContext, checkpoints: list[Checkpoint]
) -> None:
    run(chain(node("t", "manual"), node("n", "no-op")), [], ctx)
    assert checkpoints == []


def test_waiting_run_checkpoints_before_returning(
    ctx: RunContext, checkpoints: list[Checkpoint]
) -> None:
    result = run(chain(node("t", "manual"), node("w", "wait", amount=1)), [], ctx)
    assert [c.state for c in checkpoints] == [result.state]


def test_run_timeout_counts_only_active_time_across_a_resume(
    make_ctx: Callable[..., RunContext], clock: FakeClock
) -> None:
    ctx = make_ctx(limits=Limits(run_timeout_s=60))
    definition = chain(
        node("t", "manual"), node("w", "wait", amount=1, unit="days"), node("n", "no-op")
    )
    first = run(definition, [], ctx)
    assert first.state is not None
    clock.advance(86_400)
    assert run(definition, [], ctx, resume=Resume(first.state)).status == "succeeded"


@pytest.mark.parametrize(
    "state",
    [{}, {"version": 99}, {"version": 1, "pending": {"ghost": {"0": []}}}],
    ids=["empty", "unknown-version", "unknown-node"],
)
def test_resume_with_a_foreign_state_fails_cleanly(ctx: RunContext, state: dict) -> None:
    result = run(chain(node("t", "manual")), [], ctx, resume=Resume(state))
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["type"] == "ResumeError"


def test_wait_inside_a_loop_body_resumes_the_loop(ctx: RunContext) -> None:
    nodes = [
        node("t", "manual"),
        node("l", "loop-over-items", batchSize=1),
        node("w", "wait", amount=1),
        node("end", "no-op"),
    ]
    definition = graph(nodes, ("t", "l"), ("l", "loop", "w"), ("w", "l"), ("l", "done", "end"))
    result = run(definition, items({"n": 1}, {"n": 2}), ctx)
    waits = 0
    while result.status == "waiting" and result.state is not None and waits < 5:
        waits += 1
        result = run(definition, [], ctx, resume=Resume(result.state))
    assert (result.status, waits) == ("succeeded", 2)
    assert jsons(result.output) == [{"n": 1}, {"n": 2}]
