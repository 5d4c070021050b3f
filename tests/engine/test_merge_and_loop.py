"""Merge (waiting for its inputs, each strategy) and Loop Over Items (batches, done)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from fluxolab.engine import Limits, RunContext, run
from tests.engine.helpers import graph, items, jsons, node

LEFT = items({"id": 1, "a": "x"}, {"id": 2, "a": "y"})
RIGHT = items({"id": 2, "b": "B2"}, {"id": 1, "b": "B1"}, {"id": 3, "b": "B3"})


def merged(ctx: RunContext, **params: Any) -> list[dict[str, Any]]:
    """Run trigger -> (left set, right set) -> merge and return the merge output JSON."""
    nodes = [
        node("t", "manual"),
        node("left", "set", mode="raw", jsonOutput={"rows": jsons(LEFT)}),
        node("l", "split-out", field="rows"),
        node("right", "set", mode="raw", jsonOutput={"rows": jsons(RIGHT)}),
        node("r", "split-out", field="rows"),
        node("m", "merge", **params),
    ]
    definition = graph(
        nodes,
        ("t", "left"),
        ("left", "l"),
        ("t", "right"),
        ("right", "r"),
        ("l", "main", "m", "0"),
        ("r", "main", "m", "1"),
    )
    result = run(definition, [], ctx)
    assert result.status == "succeeded", result.error
    assert result.steps[-1].node_id == "m"
    return jsons(result.output)


def test_append_concatenates_input_0_then_input_1(ctx: RunContext) -> None:
    assert merged(ctx, mergeStrategy="append") == jsons(LEFT) + jsons(RIGHT)


@pytest.mark.parametrize("strategy", ["combine", "combineByPosition"])
def test_combine_by_position_pairs_items(ctx: RunContext, strategy: str) -> None:
    assert merged(ctx, mergeStrategy=strategy) == [
        {"id": 2, "a": "x", "b": "B2"},
        {"id": 1, "a": "y", "b": "B1"},
    ]


def test_combine_by_position_can_keep_unpaired(ctx: RunContext) -> None:
    found = merged(ctx, mergeStrategy="combineByPosition", includeUnpaired=True)
    assert found[-1] == {"id": 3, "b": "B3"}


def test_combine_by_key_joins_matching_items(ctx: RunContext) -> None:
    assert merged(ctx, mergeStrategy="combineByKey", key="id") == [
        {"id": 1, "a": "x", "b": "B1"},
        {"id": 2, "a": "y", "b": "B2"},
    ]


def test_mode_is_accepted_as_a_spelling_of_merge_strategy(ctx: RunContext) -> None:
    assert merged(ctx, mode="combineByKey", key1="id", key2="id")[0]["b"] == "B1"


def test_replace_outputs_input_1(ctx: RunContext) -> None:
    assert merged(ctx, mergeStrategy="replace") == jsons(RIGHT)


def test_wait_both_passes_both_when_both_arrived(ctx: RunContext) -> None:
    assert merged(ctx, mergeStrategy="waitBoth") == jsons(LEFT) + jsons(RIGHT)


def uneven_definition(strategy: str, right_value: int) -> dict[str, Any]:
    """Input 1 takes a longer path than input 0 and may be filtered away."""
    nodes = [
        node("t", "manual"),
        node("short", "set", fields=[{"name": "side", "value": "short"}]),
        node("f", "filter", condition="n", operator="equals", value=right_value),
        node("long1", "set", fields=[{"name": "side", "value": "long"}]),
        node("long2", "no-op"),
        node("m", "merge", mergeStrategy=strategy),
    ]
    return graph(
        nodes,
        ("t", "short"),
        ("t", "f"),
        ("f", "long1"),
        ("long1", "long2"),
        ("short", "main", "m", "0"),
        ("long2", "main", "m", "1"),
    )


def test_merge_waits_for_the_longer_branch(ctx: RunContext) -> None:
    result = run(uneven_definition("append", right_value=1), items({"n": 1}), ctx)
    assert [step.node_id for step in result.steps][-1] == "m"
    assert [item["side"] for item in jsons(result.output)] == ["short", "long"]
    assert sum(step.node_id == "m" for step in result.steps) == 1


def test_merge_runs_with_one_input_when_the_other_can_no_longer_arrive(ctx: RunContext) -> None:
    result = run(uneven_definition("append", right_value=2), items({"n": 1}), ctx)
    assert [step.node_id for step in result.steps] == ["t", "short", "f", "m"]
    assert [item["side"] for item in jsons(result.output)] == ["short"]


def test_wait_both_emits_nothing_when_one_input_never_arrives(ctx: RunContext) -> None:
    result = run(uneven_definition("waitBoth", right_value=2), items({"n": 1}), ctx)
    assert result.steps[-1].output == {"main": []}


def loop_definition(batch_size: int, body: list[dict[str, Any]]) -> dict[str, Any]:
    """trigger -> loop; loop.loop -> body... -> loop; loop.done -> end."""
    nodes = [node("t", "manual"), node("l", "loop-over-items", batchSize=batch_size), *body]
    nodes.append(node("end", "no-op"))
    edges: list[tuple[str, ...]] = [("t", "l"), ("l", "loop", body[0]["id"])]
    edges += [(a["id"], b["id"]) for a, b in itertools.pairwise(body)]
    edges += [(body[-1]["id"], "l"), ("l", "done", "end")]
    return graph(nodes, *edges)


def test_loop_sends_batches_through_the_body_then_everything_on_done(ctx: RunContext) -> None:
    body = [node("b", "set", fields=[{"name": "seen", "value": "{{ $json.n * 10 }}"}])]
    result = run(loop_definition(2, body), items(*({"n": n} for n in range(5))), ctx)
    assert result.status == "succeeded"
    body_steps = [step for step in result.steps if step.node_id == "b"]
    assert [len(step.input_items) for step in body_steps] == [2, 2, 1]
    assert [item["seen"] for item in jsons(result.output)] == [0, 10, 20, 30, 40]
    assert result.steps[-1].node_id == "end"


def test_loop_body_may_drop_items(ctx: RunContext) -> None:
    body = [node("f", "filter", condition="n", operator="not_equals", value=1)]
    result = run(loop_definition(1, body), items({"n": 0}, {"n": 1}, {"n": 2}), ctx)
    assert jsons(result.output) == [{"n": 0}, {"n": 2}]


def test_loop_with_two_body_branches_advances_once_per_batch(ctx: RunContext) -> None:
    nodes = [
        node("t", "manual"),
        node("l", "loop-over-items", batchSize=1),
        node("i", "if-condition", condition="n", operator="greater", value=0),
        node("pos", "set", fields=[{"name": "sign", "value": "+"}]),
        node("neg", "set", fields=[{"name": "sign", "value": "-"}]),
        node("end", "no-op"),
    ]
    definition = graph(
        nodes,
        ("t", "l"),
        ("l", "loop", "i"),
        ("i", "true", "pos"),
        ("i", "false", "neg"),
        ("pos", "l"),
        ("neg", "l"),
        ("l", "done", "end"),
    )
    result = run(definition, items({"n": 1}, {"n": -1}), ctx)
    assert [item["sign"] for item in jsons(result.output)] == ["+", "-"]
    assert sum(step.node_id == "l" for step in result.steps) == 3


def test_runaway_loop_is_stopped_by_max_node_runs(make_ctx: Callable[..., RunContext]) -> None:
    body = [node("b", "no-op")]
    ctx = make_ctx(limits=Limits(max_node_runs=20))
    result = run(loop_definition(1, body), items(*({"n": n} for n in range(50))), ctx)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["type"] == "LimitExceeded"
    assert len(result.steps) == 20


def test_nested_loops_finish_the_inner_loop_per_outer_batch(ctx: RunContext) -> None:
    nodes = [
        node("t", "manual"),
        node("outer", "loop-over-items", batchSize=2),
        node("inner", "loop-over-items", batchSize=1),
        node("b", "set", fields=[{"name": "v", "value": "{{ $json.n * 10 }}"}]),
        node("end", "no-op"),
    ]
    definition = graph(
        nodes,
        ("t", "outer"),
        ("outer", "loop", "inner"),
        ("inner", "loop", "b"),
        ("b", "inner"),
        ("inner", "done", "outer"),
        ("outer", "done", "end"),
    )
    result = run(definition, items(*({"n": n} for n in range(5))), ctx)
    assert result.status == "succeeded"
    assert [item["v"] for item in jsons(result.output)] == [0, 10, 20, 30, 40]
    assert sum(step.node_id == "outer" for step in result.steps) == 4
