"""validate_definition: what keeps a definition from running, and how it is said."""

from __future__ import annotations

from typing import Any

import pytest

from fluxolab.engine import validate_definition
from tests.engine.helpers import chain, graph, node

BUILDER_DEFINITION = {"nodes": [{"id": "1", "type": "trigger", "params": {}}], "connections": []}


def messages(definition: Any, **options: Any) -> list[str]:
    return [issue.message for issue in validate_definition(definition, **options)]


def test_builder_default_definition_is_valid() -> None:
    assert validate_definition(BUILDER_DEFINITION) == []


def test_unknown_node_type_is_reported_with_its_name() -> None:
    definition = chain(node("t", "manual"), node("x", "http.magic"))
    [issue] = validate_definition(definition)
    assert issue.node_id == "x"
    assert issue.field == "type"
    assert "Unknown node type 'http.magic'" in issue.message


def test_missing_node_type_is_reported() -> None:
    definition = {"nodes": [{"id": "t", "type": "manual"}, {"id": "x"}], "connections": []}
    assert messages(definition) == ['Node "x" (id x): Node type is required']


def test_bad_enum_value_names_node_field_and_choices() -> None:
    bad = {"id": "3", "name": "If", "type": "if-condition", "params": {}}
    bad["params"] = {"condition": "{{ $json.a }}", "operator": "bigger", "value": 1}
    [issue] = validate_definition(chain(node("t", "manual"), bad))
    assert issue.message.startswith(
        "Node \"If\" (id 3): field 'operator': 'bigger' is not one of ["
    )
    assert "'equals'" in issue.message
    assert (issue.node_id, issue.field) == ("3", "operator")


def test_missing_required_field_is_named() -> None:
    definition = chain(node("t", "manual"), node("s", "stop-and-error"))
    [issue] = validate_definition(definition)
    assert issue.message == "Node \"s\" (id s): Required field 'message' is missing"
    assert issue.field == "message"


def test_wrong_param_type_is_reported() -> None:
    definition = chain(node("t", "manual"), node("l", "limit", maxItems="many"))
    [issue] = validate_definition(definition)
    assert issue.field == "maxItems"
    assert "'many' is not of type 'integer'" in issue.message


def test_expression_value_satisfies_a_typed_field() -> None:
    definition = chain(node("t", "manual"), node("l", "limit", maxItems="{{ $json.n }}"))
    assert validate_definition(definition) == []


def test_expression_syntax_error_is_reported() -> None:
    definition = chain(
        node("t", "manual"), node("s", "set", fields=[{"name": "a", "value": "{{ 1 + }}"}])
    )
    [issue] = validate_definition(definition)
    assert issue.field == "fields"
    assert "Expression error" in issue.message


def test_invalid_settings_are_reported() -> None:
    bad = node("n", "no-op")
    bad["settings"] = {"retryOnFail": True, "maxTries": 11}
    [issue] = validate_definition(chain(node("t", "manual"), bad))
    assert issue.field == "settings.maxTries"


def test_javascript_code_is_refused_at_validation() -> None:
    code = node("c", "code-execute", language="javascript", code="return data;")
    [issue] = validate_definition(chain(node("t", "manual"), code))
    assert issue.message.endswith("Language 'javascript' is not supported; use python")


def test_connection_to_unknown_node_is_reported() -> None:
    definition = graph([node("t", "manual")], ("t", "ghost"))
    assert messages(definition) == ["Connection #1: unknown node 'ghost'"]


def test_connection_from_missing_output_port_is_reported() -> None:
    definition = graph(
        [node("t", "manual"), node("i", "if-condition", condition="a", operator="equals")],
        ("t", "main", "i"),
        ("i", "main", "t"),
    )
    found = messages(definition)
    assert any("has no output 'main' (outputs: true, false)" in text for text in found)


def test_connection_into_a_trigger_is_reported() -> None:
    definition = graph([node("t", "manual"), node("n", "no-op")], ("t", "n"), ("n", "t"))
    found = messages(definition)
    assert any("has no input '0' (inputs: none)" in text for text in found)


def test_connection_into_a_missing_input_port_is_reported() -> None:
    definition = graph([node("t", "manual"), node("n", "no-op")], ("t", "main", "n", "1"))
    assert any("has no input '1' (inputs: 0)" in text for text in messages(definition))


def test_legacy_default_output_and_index_outputs_are_accepted() -> None:
    nodes = [
        node("t", "manual"),
        node("i", "if-condition", condition="a", operator="equals"),
        node("n", "no-op"),
    ]
    definition = graph(nodes, ("t", "default", "i"), ("i", "1", "n"))
    assert validate_definition(definition) == []


def test_cycle_without_loop_node_is_reported() -> None:
    nodes = [node("t", "manual"), node("a", "no-op"), node("b", "no-op")]
    definition = graph(nodes, ("t", "a"), ("a", "b"), ("b", "a"))
    [issue] = validate_definition(definition)
    assert "closes a cycle" in issue.message


def test_cycle_back_into_loop_node_is_allowed() -> None:
    nodes = [node("t", "manual"), node("l", "loop-over-items"), node("b", "no-op")]
    definition = graph(nodes, ("t", "l"), ("l", "loop", "b"), ("b", "l"))
    assert validate_definition(definition) == []


def test_activation_needs_a_trigger() -> None:
    definition = chain(node("a", "no-op"), node("b", "no-op"))
    assert messages(definition) == ["The workflow needs a trigger node"]


def test_run_validation_does_not_need_a_trigger() -> None:
    definition = chain(node("a", "no-op"), node("b", "no-op"))
    assert validate_definition(definition, for_activation=False) == []


def test_duplicate_node_ids_are_reported() -> None:
    definition = {"nodes": [node("a", "manual"), node("a", "no-op")], "connections": []}
    assert "Duplicate node id 'a'" in messages(definition)


@pytest.mark.parametrize(
    "definition",
    [None, [], {"nodes": "x"}, {"nodes": [1]}, {"nodes": [], "connections": {}}],
    ids=["none", "list", "nodes-not-list", "node-not-object", "connections-not-list"],
)
def test_malformed_definitions_give_issues_not_exceptions(definition: Any) -> None:
    assert validate_definition(definition, for_activation=False)


def test_disabled_node_params_are_not_validated() -> None:
    broken = {"id": "s", "type": "stop-and-error", "params": {}, "disabled": True}
    assert validate_definition(chain(node("t", "manual"), broken)) == []


def test_issue_to_dict_has_node_field_and_message() -> None:
    [issue] = validate_definition(chain(node("t", "manual"), node("x", "nope")))
    assert issue.to_dict() == {"nodeId": "x", "field": "type", "message": issue.message}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
    ids=["bad-cron", "bad-timezone"],
)
def test_schedule_checks_cron_and_timezone(params: dict[str, Any], field: str) -> None:
    [issue] = validate_definition({"nodes": [node("s", "schedule", **params)], "connections": []})
    assert issue.field == field


def test_transform_refuses_javascript_transformation() -> None:
    transform = node("d", "data-transform", transformation="return data.map(x => x);")
    [issue] = validate_definition(chain(node("t", "manual"), transform))
    assert "code-execute" in issue.message


def test_filter_refuses_invalid_static_regex() -> None:
    bad = node("f", "filter", condition="name", operator="regex", value="(")
    [issue] = validate_definition(chain(node("t", "manual"), bad))
    assert issue.field == "value"
    assert "invalid regular expression" in issue.message.lower()
