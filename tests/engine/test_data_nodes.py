"""Set, Transform, Sort, Limit, Aggregate, Split Out and Remove Duplicates."""

from __future__ import annotations

from typing import Any

import pytest

from fluxolab.engine import RunContext, run_node
from tests.engine.helpers import items, jsons, node


def output(ctx: RunContext, node_def: dict[str, Any], input_items: list) -> list[Any]:
    """Run one node and return its main output JSON (asserting success)."""
    step = run_node(node_def, input_items, ctx)
    assert step.status == "succeeded", step.error
    return jsons(step.output["main"])


def failure(ctx: RunContext, node_def: dict[str, Any], input_items: list) -> str:
    step = run_node(node_def, input_items, ctx)
    assert step.status == "failed"
    assert step.error is not None
    return str(step.error["message"])


def set_fields(*fields: dict[str, Any], **params: Any) -> dict[str, Any]:
    return node("s", "set", fields=list(fields), **params)


def test_set_adds_fields_and_keeps_the_rest(ctx: RunContext) -> None:
    found = output(ctx, set_fields({"name": "b", "value": "{{ $json.a + 1 }}"}), items({"a": 1}))
    assert found == [{"a": 1, "b": 2}]


def test_set_dot_notation_nests_without_touching_the_input(ctx: RunContext) -> None:
    source = items({"user": {"name": "Ana", "tags": ["x"]}})
    found = output(ctx, set_fields({"name": "user.age", "value": 30}), source)
    assert found == [{"user": {"name": "Ana", "tags": ["x"], "age": 30}}]
    assert source == items({"user": {"name": "Ana", "tags": ["x"]}})


def test_set_without_dot_notation_uses_literal_keys(ctx: RunContext) -> None:
    found = output(ctx, set_fields({"name": "a.b", "value": 1}, dotNotation=False), items({}))
    assert found == [{"a.b": 1}]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("string", 12, "12"),
        ("string", {"a": 1}, '{"a": 1}'),
        ("number", "12", 12),
        ("number", "1.5", 1.5),
        ("boolean", "yes", True),
        ("boolean", 0, False),
        ("json", '{"a": [1]}', {"a": [1]}),
        ("auto", "12", "12"),
    ],
)
def test_set_converts_declared_types(ctx: RunContext, kind: str, value: Any, expected: Any) -> None:
    found = output(ctx, set_fields({"name": "v", "value": value, "type": kind}), items({}))
    assert found == [{"v": expected}]


def test_set_reports_an_impossible_conversion(ctx: RunContext) -> None:
    message = failure(ctx, set_fields({"name": "v", "value": "abc", "type": "number"}), items({}))
    assert message == "Field 'v': 'abc' is not a number"


def test_set_keep_only_set_drops_other_fields(ctx: RunContext) -> None:
    found = output(ctx, set_fields({"name": "b", "value": 2}, keepOnlySet=True), items({"a": 1}))
    assert found == [{"b": 2}]


def test_set_renames_and_removes_fields(ctx: RunContext) -> None:
    edit = node("s", "set", rename=[{"from": "a.x", "to": "y"}], remove=["b"])
    found = output(ctx, edit, items({"a": {"x": 1, "z": 2}, "b": 3}))
    assert found == [{"a": {"z": 2}, "y": 1}]


@pytest.mark.parametrize(
    ("keep_original", "expected"),
    [(True, {"a": 1, "greeting": "hi 1"}), (False, {"greeting": "hi 1"})],
    ids=["keep-original", "replace"],
)
def test_set_legacy_assign_form(ctx: RunContext, keep_original: bool, expected: dict) -> None:
    legacy = node("s", "set", assign={"greeting": "hi {{ $json.a }}"}, keepOriginal=keep_original)
    assert output(ctx, legacy, items({"a": 1})) == [expected]


def test_set_raw_mode_merges_a_json_object(ctx: RunContext) -> None:
    raw = node("s", "set", mode="raw", jsonOutput='{"b": 2}')
    assert output(ctx, raw, items({"a": 1})) == [{"a": 1, "b": 2}]


def test_transform_maps_fields_from_expressions(ctx: RunContext) -> None:
    transform = node(
        "d", "data-transform", mapping={"full": "{{ $json.first }} {{ $json.last }}", "n.x": 1}
    )
    found = output(ctx, transform, items({"first": "Ana", "last": "Lima"}))
    assert found == [{"full": "Ana Lima", "n": {"x": 1}}]


def test_transform_default_transformation_is_a_no_op(ctx: RunContext) -> None:
    transform = node("d", "data-transform", transformation="return data;", outputFormat="json")
    assert output(ctx, transform, items({"a": 1})) == [{"a": 1}]


def test_transform_csv_output_is_one_item(ctx: RunContext) -> None:
    transform = node("d", "data-transform", outputFormat="csv")
    found = output(ctx, transform, items({"a": 1, "b": "x,y"}, {"a": 2, "c": [1]}))
    assert found == [{"data": 'a,b,c\n1,"x,y",\n2,,[1]\n'}]


def test_sort_orders_by_fields_stably_with_mixed_types(ctx: RunContext) -> None:
    data = items(
        {"g": "b", "n": 2, "i": 0},
        {"g": "a", "n": "x", "i": 1},
        {"g": "a", "i": 2},
        {"g": "a", "n": 1, "i": 3},
        {"g": "b", "n": 2, "i": 4},
    )
    sort = node("o", "sort", fields=[{"field": "g"}, {"field": "n", "order": "desc"}])
    assert [row["i"] for row in output(ctx, sort, data)] == [1, 3, 2, 0, 4]


@pytest.mark.parametrize(
    ("keep", "expected"), [("first", [0, 1]), ("last", [3, 4])], ids=["first", "last"]
)
def test_limit_keeps_first_or_last(ctx: RunContext, keep: str, expected: list[int]) -> None:
    data = items(*({"i": i} for i in range(5)))
    found = output(ctx, node("l", "limit", maxItems=2, keep=keep), data)
    assert [row["i"] for row in found] == expected


SALES = items(
    {"region": "n", "amount": 10, "who": "ana"},
    {"region": "s", "amount": "5", "who": "bob"},
    {"region": "n", "amount": 2.5, "who": "ana"},
    {"region": "n", "who": "cid"},
)


def test_aggregate_summarises_all_items(ctx: RunContext) -> None:
    fields = [
        {"field": "amount", "operation": "sum"},
        {"field": "amount", "operation": "count"},
        {"field": "amount", "operation": "avg", "outputField": "mean"},
        {"field": "amount", "operation": "max"},
        {"field": "who", "operation": "unique"},
        {"field": "who", "operation": "concat"},
    ]
    [summary] = output(ctx, node("a", "aggregate", fields=fields), SALES)
    assert summary == {
        "sum_amount": 17.5,
        "count_amount": 3,
        "mean": 17.5 / 3,
        "max_amount": 10,
        "unique_who": ["ana", "bob", "cid"],
        "concat_who": "ana, bob, ana, cid",
    }


def test_aggregate_groups_by_field_in_first_seen_order(ctx: RunContext) -> None:
    fields = [{"field": "amount", "operation": "sum"}]
    found = output(ctx, node("a", "aggregate", fields=fields, groupBy="region"), SALES)
    assert found == [{"region": "n", "sum_amount": 12.5}, {"region": "s", "sum_amount": 5}]


def test_aggregate_all_items_into_one_list(ctx: RunContext) -> None:
    found = output(
        ctx, node("a", "aggregate", mode="allItems", outputField="rows"), items({"a": 1})
    )
    assert found == [{"rows": [{"a": 1}]}]


def test_aggregate_sum_of_text_fails_clearly(ctx: RunContext) -> None:
    fields = [{"field": "who", "operation": "sum"}]
    assert failure(ctx, node("a", "aggregate", fields=fields), SALES) == (
        "Field 'who': 'ana' is not a number"
    )


def test_split_out_emits_one_item_per_element(ctx: RunContext) -> None:
    data = items({"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": []}, {"id": 3})
    found = output(ctx, node("s", "split-out", field="tags", include="all"), data)
    assert found == [{"id": 1, "tags": "a"}, {"id": 1, "tags": "b"}]


def test_split_out_spreads_objects(ctx: RunContext) -> None:
    data = items({"order": 7, "lines": [{"sku": "A"}, {"sku": "B"}]})
    split = node("s", "split-out", field="lines", include="selected", fields=["order"])
    assert output(ctx, split, data) == [{"order": 7, "sku": "A"}, {"order": 7, "sku": "B"}]


@pytest.mark.parametrize(
    ("params", "expected"),
    [({"compare": "all"}, [0, 1, 3]), ({"compare": "fields", "fields": ["k"]}, [0, 1])],
    ids=["all-fields", "listed-fields"],
)
def test_remove_duplicates_keeps_first_occurrences(
    ctx: RunContext, params: dict[str, Any], expected: list[int]
) -> None:
    data = items({"k": 1, "v": 1}, {"k": 2, "v": 1}, {"v": 1, "k": 1}, {"k": 1, "v": 2})
    found = run_node(node("d", "remove-duplicates", **params), data, ctx).output["main"]
    assert [next(i for i, row in enumerate(data) if row is item) for item in found] == expected
