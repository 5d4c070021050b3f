"""Rename Keys: dotted paths, and top-level keys by RE2 regular expression."""

from __future__ import annotations

from typing import Any

from fluxolab.engine import RunContext, run_node
from tests.engine.helpers import items, jsons, node


def run(ctx: RunContext, input_items: list[dict[str, Any]], **params: Any) -> Any:
    return run_node(node("r", "rename-keys", **params), input_items, ctx)


def output(ctx: RunContext, input_items: list[dict[str, Any]], **params: Any) -> list[Any]:
    step = run(ctx, input_items, **params)
    assert step.status == "succeeded", step.error
    return jsons(step.output["main"])


def failure(ctx: RunContext, **params: Any) -> str:
    step = run(ctx, items({"a": 1}), **params)
    assert step.status == "failed" and step.error is not None
    return str(step.error["message"])


def test_renames_paths_in_order_without_touching_the_input(ctx: RunContext) -> None:
    source = items({"user": {"first": "Ana", "id": 3}, "x": 1})
    found = output(
        ctx,
        source,
        keys=[{"from": "user.first", "to": "name"}, {"from": "x", "to": "meta.x"}],
    )
    assert found == [{"user": {"id": 3}, "name": "Ana", "meta": {"x": 1}}]
    assert source == items({"user": {"first": "Ana", "id": 3}, "x": 1})


def test_missing_sources_are_skipped_and_targets_overwritten(ctx: RunContext) -> None:
    found = output(
        ctx,
        items({"a": 1, "b": 2}),
        keys=[{"from": "nope", "to": "z"}, {"from": "a", "to": "b"}],
    )
    assert found == [{"b": 1}]


def test_regex_renames_top_level_keys_with_groups(ctx: RunContext) -> None:
    found = output(
        ctx,
        items({"user_name": "Ana", "user_age": 30, "id": 1}),
        keys=[],
        regex=[
            {"pattern": "^user_(\\w+)$", "replacement": "\\1"},
            {"pattern": "^id$", "replacement": "ID"},
        ],
    )
    assert found == [{"name": "Ana", "age": 30, "ID": 1}]


def test_regex_rules_are_checked_at_validation(ctx: RunContext) -> None:
    message = failure(ctx, regex=[{"pattern": "(?=a)", "replacement": ""}])
    assert "lookahead" in message and "regex.0.pattern" in message


def test_a_bad_group_reference_is_a_readable_error(ctx: RunContext) -> None:
    message = failure(ctx, regex=[{"pattern": "a", "replacement": "\\3"}])
    assert message.startswith("Replacement '\\3':")


def test_something_to_rename_is_required(ctx: RunContext) -> None:
    assert "List the keys to rename" in failure(ctx)


def test_paths_come_from_expressions_per_item(ctx: RunContext) -> None:
    found = output(
        ctx,
        items({"k": "a", "a": 1}, {"k": "b", "b": 2}),
        keys=[{"from": "{{ $json.k }}", "to": "value"}],
    )
    assert found == [{"k": "a", "value": 1}, {"k": "b", "value": 2}]
