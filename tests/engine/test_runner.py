"""run(): start, ordering, outputs, failures and what a run never does."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from fluxolab.engine import RunContext, run
from tests.engine.helpers import chain, graph, items, jsons, node

BUILDER_DEFINITION = {"nodes": [{"id": "1", "type": "trigger", "params": {}}], "connections": []}


def set_node(node_id: str, **fields: Any) -> dict[str, Any]:
    return node(node_id, "set", fields=[{"name": k, "value": v} for k, v in fields.items()])


def test_builder_definition_runs_and_emits_one_empty_item(ctx: RunContext) -> None:
    result = run(BUILDER_DEFINITION, [], ctx)
    assert result.status == "succeeded"
    assert [step.node_type for step in result.steps] == ["manual"]
    assert result.output == [{"json": {}}]


def test_trigger_emits_the_run_input_items(ctx: RunContext) -> None:
    result = run(chain(node("t", "webhook", path="x")), items({"a": 1}, {"a": 2}), ctx)
    assert jsons(result.output) == [{"a": 1}, {"a": 2}]


def test_bare_objects_in_the_input_are_wrapped_as_items(ctx: RunContext) -> None:
    result = run(chain(node("t", "manual")), [{"a": 1}], ctx)
    assert result.output == [{"json": {"a": 1}}]


def test_expressions_see_the_current_item(ctx: RunContext) -> None:
    definition = chain(node("t", "manual"), set_node("s", double="{{ $json.n * 2 }}"))
    result = run(definition, items({"n": 2}, {"n": 5}), ctx)
    assert jsons(result.output) == [{"n": 2, "double": 4}, {"n": 5, "double": 10}]


def test_expressions_read_earlier_nodes_by_name_then_id(ctx: RunContext) -> None:
    first = {**set_node("a", v=1), "name": "First"}
    definition = chain(
        node("t", "manual"),
        first,
        set_node("b", byName='{{ $node["First"].json.v }}', byId='{{ $node["a"].json.v }}'),
    )
    result = run(definition, [], ctx)
    assert result.output[0]["json"]["byName"] == 1
    assert result.output[0]["json"]["byId"] == 1


def test_expressions_see_execution_workflow_and_vars(make_ctx: Callable[..., RunContext]) -> None:
    ctx = make_ctx(vars={"region": "br"}, mode="webhook")
    values = {"e": "{{ $execution.id }}", "w": "{{ $workflow.name }}", "v": "{{ $vars.region }}"}
    result = run(chain(node("t", "manual"), set_node("s", **values)), [], ctx)
    assert result.output[0]["json"] == {"e": "exec-1", "w": "Test workflow", "v": "br"}


def test_steps_record_input_output_attempt_and_times(ctx: RunContext) -> None:
    result = run(chain(node("t", "manual"), set_node("s", a=1)), items({"x": 0}), ctx)
    step = result.steps[1]
    assert (step.node_id, step.node_name, step.node_type) == ("s", "s", "set")
    assert (step.status, step.attempt, step.error, step.truncated) == ("succeeded", 1, None, False)
    assert step.input_items == items({"x": 0})
    assert step.output == {"main": items({"x": 0, "a": 1})}
    assert step.started_at <= step.finished_at


def test_step_to_dict_is_json_ready(ctx: RunContext) -> None:
    result = run(chain(node("t", "manual"), set_node("s", a=1)), [], ctx)
    data = result.steps[1].to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["started_at"].startswith("2026-01-05T12:00:00")


def test_node_whose_input_got_no_items_does_not_run(ctx: RunContext) -> None:
    definition = chain(
        node("t", "manual"),
        node("f", "filter", condition="keep", operator="equals", value=True),
        set_node("after", seen=True),
    )
    result = run(definition, items({"keep": False}), ctx)
    assert result.status == "succeeded"
    assert [step.node_id for step in result.steps] == ["t", "f"]


def test_disabled_node_passes_its_input_through_as_skipped(ctx: RunContext) -> None:
    disabled = {**node("s", "stop-and-error", message="boom"), "disabled": True}
    result = run(chain(node("t", "manual"), disabled, node("n", "no-op")), items({"a": 1}), ctx)
    assert result.status == "succeeded"
    assert result.steps[1].status == "skipped"
    assert jsons(result.output) == [{"a": 1}]


def test_node_failure_fails_the_run_naming_the_node(ctx: RunContext) -> None:
    stop = {**node("s", "stop-and-error", message="Bad input"), "name": "Stop here"}
    result = run(chain(node("t", "manual"), stop, node("n", "no-op")), [], ctx)
    assert result.status == "failed"
    assert result.error == {
        "message": "Bad input",
        "nodeId": "s",
        "nodeName": "Stop here",
        "type": "StopAndError",
    }
    assert [step.status for step in result.steps] == ["succeeded", "failed"]


def test_expression_error_fails_the_run_with_the_field(ctx: RunContext) -> None:
    definition = chain(node("t", "manual"), set_node("s", a="{{ $json.a.toFixed(1) }}"))
    result = run(definition, items({"a": "text"}), ctx)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["type"] == "ExpressionError"
    assert "field 'fields'" in result.error["message"]


def test_invalid_definition_gives_a_failed_result_not_an_exception(ctx: RunContext) -> None:
    result = run(chain(node("t", "manual"), node("x", "nope")), [], ctx)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["type"] == "ValidationError"
    assert "Unknown node type 'nope'" in result.error["message"]
    assert result.steps == []


def test_run_starts_at_the_chosen_trigger(make_ctx: Callable[..., RunContext]) -> None:
    nodes = [node("m", "manual"), node("w", "webhook", path="p"), set_node("s", via="x")]
    definition = graph(nodes, ("m", "s"), ("w", "s"))
    result = run(definition, items({"from": "hook"}), make_ctx(trigger_node_id="w"))
    assert [step.node_id for step in result.steps] == ["w", "s"]


def test_unknown_trigger_node_id_fails_the_run(make_ctx: Callable[..., RunContext]) -> None:
    result = run(BUILDER_DEFINITION, [], make_ctx(trigger_node_id="ghost"))
    assert result.status == "failed"
    assert result.error is not None
    assert "ghost" in result.error["message"]


def test_without_a_trigger_the_first_root_node_starts(ctx: RunContext) -> None:
    result = run(chain(set_node("a", x=1), set_node("b", y=2)), items({}), ctx)
    assert jsons(result.output) == [{"x": 1, "y": 2}]


def test_fan_in_node_runs_once_with_everything_upstream_sent(ctx: RunContext) -> None:
    nodes = [
        node("t", "manual"),
        node("i", "if-condition", condition="n", operator="greater", value=1),
        set_node("big", size="big"),
        set_node("small", size="small"),
        node("end", "no-op"),
    ]
    definition = graph(
        nodes,
        ("t", "i"),
        ("i", "true", "big"),
        ("i", "false", "small"),
        ("big", "end"),
        ("small", "end"),
    )
    result = run(definition, items({"n": 1}, {"n": 2}), ctx)
    assert [step.node_id for step in result.steps] == ["t", "i", "big", "small", "end"]
    assert jsons(result.output) == [{"n": 2, "size": "big"}, {"n": 1, "size": "small"}]


def test_runs_are_deterministic(ctx: RunContext) -> None:
    nodes = [node("t", "manual"), set_node("b", b=1), set_node("a", a=1), node("z", "no-op")]
    definition = graph(nodes, ("t", "b"), ("t", "a"), ("b", "z"), ("a", "z"))
    orders = {tuple(s.node_id for s in run(definition, [], ctx).steps) for _ in range(5)}
    assert orders == {("t", "b", "a", "z")}


def test_run_never_mutates_the_definition_or_the_input(ctx: RunContext) -> None:
    definition = chain(
        node("t", "manual"),
        node("s", "set", fields=[{"name": "a.b", "value": "{{ $json.a.c }}"}]),
        node("srt", "sort", fields=[{"field": "a.b"}]),
    )
    input_items = items({"a": {"c": 2}}, {"a": {"c": 1}})
    definition_before, input_before = copy.deepcopy(definition), copy.deepcopy(input_items)
    result = run(definition, input_items, ctx)
    assert result.status == "succeeded"
    assert definition == definition_before
    assert input_items == input_before


@pytest.mark.parametrize("bad_input", [None, 5, "text"], ids=["none", "number", "text"])
def test_odd_input_is_normalised_to_items(ctx: RunContext, bad_input: Any) -> None:
    result = run(BUILDER_DEFINITION, bad_input, ctx)
    assert result.status == "succeeded"
    assert all(isinstance(item["json"], dict) for item in result.output)


def test_a_failing_checkpoint_hook_propagates_to_the_caller(
    make_ctx: Callable[..., RunContext],
) -> None:
    def broken(checkpoint: object) -> None:
        raise ConnectionError("database is down")

    respond = node("r", "respond-to-webhook")
    with pytest.raises(ConnectionError, match="database is down"):
        run(chain(node("t", "manual"), respond), [], make_ctx(on_checkpoint=broken))


def test_an_engine_defect_gives_a_failed_result(
    ctx: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def defect(*args: object) -> None:
        raise KeyError("bug")

    monkeypatch.setattr("fluxolab.engine.runner.visible_output", defect)
    result = run(BUILDER_DEFINITION, [], ctx)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["type"] == "InternalError"
