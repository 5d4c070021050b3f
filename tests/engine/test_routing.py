"""If, Switch and Filter: which items go where."""

from __future__ import annotations

from typing import Any

import pytest

from fluxolab.engine import RunContext, run, run_node
from tests.engine.helpers import chain, graph, items, jsons, node

NUMBERS = items({"n": 1}, {"n": 5}, {"n": 10})


def routed(ctx: RunContext, node_def: dict[str, Any], input_items: list) -> dict[str, list]:
    """Run one node on the items and return its output JSON by port."""
    step = run_node(node_def, input_items, ctx)
    assert step.status == "succeeded", step.error
    return {port: jsons(found) for port, found in step.output.items()}


def test_if_routes_each_item_to_true_or_false(ctx: RunContext) -> None:
    branch = node("i", "if-condition", condition="n", operator="greater", value=4)
    assert routed(ctx, branch, NUMBERS) == {"true": [{"n": 5}, {"n": 10}], "false": [{"n": 1}]}


@pytest.mark.parametrize(
    "condition",
    ["n", "$json.n", "{{ $json.n }}"],
    ids=["field-path", "bare-expression", "template"],
)
def test_if_condition_accepts_path_expression_or_template(ctx: RunContext, condition: str) -> None:
    branch = node("i", "if-condition", condition=condition, operator="equals", value="5")
    assert routed(ctx, branch, NUMBERS)["true"] == [{"n": 5}]


def test_if_value_may_be_an_expression(ctx: RunContext) -> None:
    branch = node("i", "if-condition", condition="n", operator="less", value="{{ $json.limit }}")
    result = routed(ctx, branch, items({"n": 1, "limit": 2}, {"n": 3, "limit": 2}))
    assert result["true"] == [{"n": 1, "limit": 2}]


def test_if_downstream_runs_only_on_the_branch_that_got_items(ctx: RunContext) -> None:
    nodes = [
        node("t", "manual"),
        node("i", "if-condition", condition="ok", operator="equals", value=True),
        node("yes", "no-op"),
        node("no", "no-op"),
    ]
    definition = graph(nodes, ("t", "i"), ("i", "true", "yes"), ("i", "false", "no"))
    result = run(definition, items({"ok": True}), ctx)
    assert [step.node_id for step in result.steps] == ["t", "i", "yes"]


def test_legacy_if_branch_spelling_runs(ctx: RunContext) -> None:
    legacy = node("i", "if.branch", left="$json.status", operator="notEmpty", right=None)
    result = routed(ctx, legacy, items({"status": "ok"}, {"status": ""}))
    assert result == {"true": [{"status": "ok"}], "false": [{"status": ""}]}


def test_switch_rules_route_to_numbered_outputs(ctx: RunContext) -> None:
    rules = [
        {"operator": "equals", "value": "a", "output": 0},
        {"operator": "equals", "value": "b", "output": 1},
    ]
    switch = node("s", "switch", value="kind", rules=rules)
    result = routed(ctx, switch, items({"kind": "b"}, {"kind": "a"}, {"kind": "c"}))
    assert result == {"0": [{"kind": "a"}], "1": [{"kind": "b"}]}


def test_switch_fallback_output_gets_unmatched_items(ctx: RunContext) -> None:
    rules = [{"operator": "equals", "value": "a"}]
    switch = node("s", "switch", value="kind", rules=rules, fallbackOutput="extra")
    result = routed(ctx, switch, items({"kind": "a"}, {"kind": "z"}))
    assert result == {"0": [{"kind": "a"}], "fallback": [{"kind": "z"}]}


def test_switch_sends_to_first_match_unless_all_matching(ctx: RunContext) -> None:
    rules = [{"operator": "greater", "value": 1}, {"operator": "greater", "value": 2}]
    first = routed(ctx, node("s", "switch", value="n", rules=rules), items({"n": 5}))
    every = routed(
        ctx, node("s", "switch", value="n", rules=rules, allMatching=True), items({"n": 5})
    )
    assert first == {"0": [{"n": 5}], "1": []}
    assert every == {"0": [{"n": 5}], "1": [{"n": 5}]}


def test_switch_expression_mode_picks_output_by_index(ctx: RunContext) -> None:
    switch = node("s", "switch", mode="expression", numberOutputs=3, output="{{ $json.to }}")
    result = routed(ctx, switch, items({"to": 2}, {"to": 0}))
    assert result == {"0": [{"to": 0}], "1": [], "2": [{"to": 2}]}


def test_switch_expression_out_of_range_fails(ctx: RunContext) -> None:
    switch = node("s", "switch", mode="expression", numberOutputs=2, output="{{ $json.to }}")
    step = run_node(switch, items({"to": 7}), ctx)
    assert step.status == "failed"
    assert step.error is not None
    assert "out of range" in step.error["message"]


def test_switch_connections_use_numbered_outputs(ctx: RunContext) -> None:
    rules = [{"operator": "equals", "value": "a"}, {"operator": "equals", "value": "b"}]
    nodes = [node("t", "manual"), node("s", "switch", value="k", rules=rules), node("b", "no-op")]
    result = run(graph(nodes, ("t", "s"), ("s", "1", "b")), items({"k": "b"}), ctx)
    assert jsons(result.output) == [{"k": "b"}]


def test_filter_keeps_matching_items(ctx: RunContext) -> None:
    kept = routed(ctx, node("f", "data-filter", condition="n", operator="less", value=6), NUMBERS)
    assert kept == {"main": [{"n": 1}, {"n": 5}]}


def test_filter_sends_dropped_items_to_discarded_when_enabled(ctx: RunContext) -> None:
    kept = routed(
        ctx,
        node("f", "filter", condition="n", operator="less", value=6, discardedOutput=True),
        NUMBERS,
    )
    assert kept == {"main": [{"n": 1}, {"n": 5}], "discarded": [{"n": 10}]}


def test_filter_regex_operator_matches_anywhere(ctx: RunContext) -> None:
    filtered = node("f", "filter", condition="email", operator="regex", value=r"@acme\.com$")
    data = items({"email": "ana@acme.com"}, {"email": "bob@other.org"})
    assert routed(ctx, filtered, data) == {"main": [{"email": "ana@acme.com"}]}


@pytest.mark.parametrize(
    ("combinator", "expected"),
    [("and", [{"n": 5, "ok": True}]), ("or", [{"n": 5, "ok": True}, {"n": 1, "ok": True}])],
    ids=["and", "or"],
)
def test_filter_conditions_list_combines(
    ctx: RunContext, combinator: str, expected: list[dict[str, Any]]
) -> None:
    conditions = [
        {"condition": "n", "operator": "greater", "value": 2},
        {"condition": "{{ $json.ok }}", "operator": "equals", "value": True},
    ]
    filtered = node("f", "filter", conditions=conditions, combinator=combinator)
    data = items({"n": 5, "ok": True}, {"n": 1, "ok": True}, {"n": 0, "ok": False})
    assert routed(ctx, filtered, data)["main"] == expected


def test_filter_invalid_dynamic_regex_fails_the_node(ctx: RunContext) -> None:
    filtered = node("f", "filter", condition="s", operator="regex", value="{{ $json.pattern }}")
    step = run_node(filtered, items({"s": "a", "pattern": "("}), ctx)
    assert step.status == "failed"
    assert step.error is not None
    assert "Invalid regular expression" in step.error["message"]


def test_chained_filters_stop_the_branch_when_everything_is_dropped(ctx: RunContext) -> None:
    definition = chain(
        node("t", "manual"),
        node("f", "filter", condition="n", operator="greater", value=100),
        node("after", "no-op"),
    )
    assert [s.node_id for s in run(definition, NUMBERS, ctx).steps] == ["t", "f"]
