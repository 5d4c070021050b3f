"""Nodes that multiply items stop at the per-step item limit while they build, not after."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from fluxolab.engine import Limits, RunContext, RunResult, run
from fluxolab.engine.call import NodeCall, RunEnv
from fluxolab.engine.errors import LimitExceeded
from fluxolab.engine.spec import compile_node
from tests.engine.helpers import chain, graph, items, jsons, node

MEMORY_CAP_BYTES = 50 * 1024 * 1024
LIMIT_MESSAGE = "Node produced more than 10000 items; the limit is 10000 per step"


def _run_node_bounded(raw: dict[str, Any], inputs: dict[str, list[Any]], ctx: RunContext) -> str:
    """Call one node's function directly; return its LimitExceeded message.

    Asserts that the call took under 5 s and allocated under 50 MB (measured with tracemalloc
    around the node function alone, so storing the large inputs is not part of the figure).
    """
    compiled, issues = compile_node(raw, 0)
    assert compiled is not None and not issues
    call = NodeCall(compiled, inputs, RunEnv(ctx), ctx.now())
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(LimitExceeded) as caught:
            compiled.type.run(call)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < MEMORY_CAP_BYTES, f"peak {peak / 1e6:.0f} MB"
    return caught.value.message


def _join(rows_left: list[Any], rows_right: list[Any], **params: Any) -> dict[str, Any]:
    """Return trigger -> (set + split-out) x 2 -> merge, with the given rows on each side."""
    nodes = [
        node("t", "manual"),
        node("left", "set", mode="raw", jsonOutput={"rows": rows_left}),
        node("l", "split-out", field="rows"),
        node("right", "set", mode="raw", jsonOutput={"rows": rows_right}),
        node("r", "split-out", field="rows"),
        node("m", "merge", **params),
    ]
    return graph(
        nodes,
        ("t", "left"),
        ("left", "l"),
        ("t", "right"),
        ("right", "r"),
        ("l", "main", "m", "0"),
        ("r", "main", "m", "1"),
    )


def _assert_limit_failure(result: RunResult, node_id: str) -> None:
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["nodeId"] == node_id
    assert result.error["message"] == LIMIT_MESSAGE
    step = result.steps[-1]
    assert step.node_id == node_id
    assert step.status == "failed"
    assert step.error == {"message": LIMIT_MESSAGE, "type": "LimitExceeded"}


def test_combine_by_key_of_many_matching_keys_stops_at_the_item_limit(ctx: RunContext) -> None:
    inputs = {
        "0": items(*({"k": 1, "a": n} for n in range(1000))),
        "1": items(*({"k": 1, "b": n} for n in range(1000))),
    }
    merge = node("m", "merge", mergeStrategy="combineByKey", key="k")
    assert _run_node_bounded(merge, inputs, ctx) == LIMIT_MESSAGE


def test_combine_by_key_past_the_limit_fails_the_run_with_a_step_error(ctx: RunContext) -> None:
    left = [{"k": 1, "a": n} for n in range(200)]
    right = [{"k": 1, "b": n} for n in range(200)]
    result = run(_join(left, right, mergeStrategy="combineByKey", key="k"), [], ctx)
    _assert_limit_failure(result, "m")


def test_combine_by_key_within_the_limit_still_builds_every_pair(
    make_ctx: Callable[..., RunContext],
) -> None:
    left = [{"k": 1, "a": n} for n in range(3)]
    right = [{"k": 1, "b": n} for n in range(3)]
    definition = _join(left, right, mergeStrategy="combineByKey", key="k")
    ctx = make_ctx(limits=Limits(max_items_per_step=9))
    result = run(definition, [], ctx)
    assert result.status == "succeeded", result.error
    assert len(result.output) == 9
    ctx = make_ctx(limits=Limits(max_items_per_step=8))
    assert run(definition, [], ctx).error["message"] == (  # type: ignore[index]
        "Node produced more than 8 items; the limit is 8 per step"
    )


def test_split_out_of_a_huge_list_stops_before_splitting(ctx: RunContext) -> None:
    inputs = {"0": items({"rows": [0] * 1_000_000})}
    split = node("s", "split-out", field="rows", include="all")
    assert _run_node_bounded(split, inputs, ctx) == LIMIT_MESSAGE


def test_split_out_chain_fails_the_run_at_the_node_past_the_limit(ctx: RunContext) -> None:
    rows = [{"inner": list(range(200))} for _ in range(200)]
    definition = chain(
        node("t", "manual"),
        node("outer", "split-out", field="rows"),
        node("inner", "split-out", field="inner"),
    )
    _assert_limit_failure(run(definition, items({"rows": rows}), ctx), "inner")


def test_merge_append_counts_both_inputs(make_ctx: Callable[..., RunContext]) -> None:
    definition = _join([{"a": 1}] * 3, [{"b": 1}] * 3, mergeStrategy="append")
    result = run(definition, [], make_ctx(limits=Limits(max_items_per_step=5)))
    assert result.error is not None
    assert result.error["nodeId"] == "m"
    assert result.error["message"] == "Node produced more than 5 items; the limit is 5 per step"


def test_switch_sending_items_to_every_matching_output_counts_each_copy(
    make_ctx: Callable[..., RunContext],
) -> None:
    rules = [{"operator": "not_empty", "value": ""} for _ in range(4)]
    switch = node("w", "switch", mode="rules", value="n", rules=rules)
    switch["params"]["allMatching"] = True
    definition = chain(node("t", "manual"), switch)
    ctx = make_ctx(limits=Limits(max_items_per_step=10))
    result = run(definition, items(*({"n": n} for n in range(3))), ctx)
    assert result.error is not None
    assert result.error["nodeId"] == "w"
    assert result.error["message"] == "Node produced more than 10 items; the limit is 10 per step"


def test_loop_stops_collecting_once_done_would_pass_the_limit(
    make_ctx: Callable[..., RunContext],
) -> None:
    nodes = [
        node("t", "manual"),
        node("loop", "loop-over-items", batchSize=1),
        node("twice", "split-out", field="pair"),
        node("end", "no-op"),
    ]
    definition = graph(
        [*nodes[:2], {**node("pair", "set", mode="raw", jsonOutput={"pair": [1, 2]})}, *nodes[2:]],
        ("t", "loop"),
        ("loop", "loop", "pair"),
        ("pair", "twice"),
        ("twice", "loop"),
        ("loop", "done", "end"),
    )
    ctx = make_ctx(limits=Limits(max_items_per_step=7))
    result = run(definition, items(*({"n": n} for n in range(6))), ctx)
    assert result.error is not None
    assert result.error["nodeId"] == "loop"
    assert result.error["message"] == "Node produced more than 7 items; the limit is 7 per step"
    ok = run(definition, items(*({"n": n} for n in range(3))), ctx)
    assert ok.status == "succeeded", ok.error
    assert jsons(ok.output) == [{"pair": 1}, {"pair": 2}] * 3
