"""run_node: testing one node with sample items."""

from __future__ import annotations

from fluxolab.engine import RunContext, run_node
from tests.engine.helpers import items, jsons, node


def test_run_node_returns_the_step_of_that_node(ctx: RunContext) -> None:
    step = run_node(node("s", "set", fields=[{"name": "b", "value": 2}]), items({"a": 1}), ctx)
    assert (step.node_id, step.node_type, step.status) == ("s", "set", "succeeded")
    assert jsons(step.output["main"]) == [{"a": 1, "b": 2}]


def test_run_node_with_no_items_uses_one_empty_item(ctx: RunContext) -> None:
    step = run_node(node("s", "set", fields=[{"name": "b", "value": 2}]), [], ctx)
    assert jsons(step.output["main"]) == [{"b": 2}]


def test_run_node_reports_invalid_params_as_a_failed_step(ctx: RunContext) -> None:
    step = run_node(node("l", "limit", maxItems=-1), [], ctx)
    assert step.status == "failed"
    assert step.error is not None
    assert step.error["type"] == "ValidationError"
    assert step.error["issues"][0]["field"] == "maxItems"


def test_run_node_reports_an_unknown_type(ctx: RunContext) -> None:
    step = run_node({"id": "x", "type": "teleport"}, [], ctx)
    assert step.status == "failed"
    assert step.node_type == "teleport"
    assert step.error is not None
    assert "Unknown node type 'teleport'" in step.error["message"]


def test_run_node_on_a_wait_node_does_not_pause(ctx: RunContext) -> None:
    step = run_node(node("w", "wait", amount=1, unit="hours"), items({"a": 1}), ctx)
    assert step.status == "succeeded"
    assert step.output == {}
    assert "would wait" in step.logs[0]


def test_run_node_of_a_trigger_emits_the_sample_items(ctx: RunContext) -> None:
    step = run_node(node("t", "trigger"), items({"a": 1}), ctx)
    assert jsons(step.output["main"]) == [{"a": 1}]
