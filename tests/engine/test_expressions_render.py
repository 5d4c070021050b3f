"""render(), evaluate(), has_expression() and check_syntax(): templates, variables, legacy forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from fluxolab.engine.expressions import (
    ExpressionError,
    ExpressionScope,
    check_syntax,
    evaluate,
    has_expression,
    render,
)

NOW = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
DATA = {
    "name": "Ann",
    "count": 3,
    "price": 2.5,
    "active": True,
    "nothing": None,
    "a": {"b": {"c": "deep"}},
    "tags": ["x", "y"],
    "payload": "{{ 7 * 7 }}",
    "secret": "s3cr3t",
    "leak": "{{ $json.secret }}",
    "field": "__class__",
}
INPUT = [{"json": {"n": 1}}, {"json": {"n": 2}}, {"json": {"n": 3}}]
OUTPUTS = {"Fetch": [{"json": {"id": 7}}, {"json": {"id": 8}}], "Empty": []}


def _scope(item_index: int = 0, json_value: Any = None) -> ExpressionScope:
    return ExpressionScope(
        json=DATA if json_value is None else json_value,
        item_index=item_index,
        input_items=INPUT,
        node_outputs=OUTPUTS,
        execution={"id": "exec-1", "mode": "manual"},
        workflow={"id": "wf-1", "name": "Orders"},
        vars={"region": "eu"},
        now=NOW,
    )


def _render(value: Any, item_index: int = 0) -> Any:
    return render(value, _scope(item_index))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ 42 }}", 42, id="number"),
        pytest.param("{{ $json.price }}", 2.5, id="float"),
        pytest.param("{{ $json.active }}", True, id="boolean"),
        pytest.param("{{ $json.nothing }}", None, id="null"),
        pytest.param("{{ $json.tags }}", ["x", "y"], id="list"),
        pytest.param("{{ $json.a }}", {"b": {"c": "deep"}}, id="dict"),
        pytest.param("  {{ $json.count }}\n", 3, id="surrounding-whitespace"),
        pytest.param("{{$json.count}}", 3, id="no-inner-spaces"),
    ],
)
def test_single_expression_keeps_the_result_type(template: str, expected: Any) -> None:
    assert _render(template) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("Hi {{ $json.name }}!", "Hi Ann!", id="text"),
        pytest.param("n={{ $json.nothing }}", "n=", id="null-is-empty"),
        pytest.param("{{ $json.a }}!", '{"b":{"c":"deep"}}!', id="dict-is-compact-json"),
        pytest.param("{{ $json.tags }};", '["x","y"];', id="list-is-compact-json"),
        pytest.param("{{ true }}/{{ false }}", "true/false", id="booleans"),
        pytest.param("{{ 2.0 }}x", "2x", id="integral-float-without-point-zero"),
        pytest.param("{{ $json.price }}x", "2.5x", id="float"),
        pytest.param("{{ 1e21 }}", 1e21, id="big-float-alone-keeps-type"),
        pytest.param("[{{ 1e21 }}]", "[1e+21]", id="big-float-uses-exponent"),
        pytest.param("at {{ $now }}", "at 2024-05-06T07:08:09.123+00:00", id="date-is-iso"),
        pytest.param("a {{ 1 }} b {{ 2 }} c", "a 1 b 2 c", id="several-expressions"),
        pytest.param("{{ 1 }}{{ 2 }}", "12", id="two-adjacent-expressions"),
        pytest.param("{{ Number('x') }}!", "NaN!", id="nan-spelled-out"),
    ],
)
def test_mixed_text_interpolates(template: str, expected: Any) -> None:
    assert _render(template) == expected


def test_string_without_braces_is_returned_unchanged() -> None:
    text = "plain text with { single } braces"
    assert _render(text) is text


def test_unclosed_braces_are_literal_text() -> None:
    assert _render("{{ oops") == "{{ oops"


def test_braces_inside_an_expression_do_not_end_it() -> None:
    assert _render("{{ {a: {b: '}}'}} }}") == {"a": {"b": "}}"}}


def test_render_walks_dicts_and_lists_into_a_new_structure() -> None:
    params = {"a": "{{ $json.count }}", "b": ["{{ $json.name }}", 3, None], "c": {"d": "x"}}
    result = _render(params)
    assert result == {"a": 3, "b": ["Ann", 3, None], "c": {"d": "x"}}
    assert result["c"] is not params["c"]
    assert params["a"] == "{{ $json.count }}"


def test_render_does_not_evaluate_keys() -> None:
    assert _render({"{{ 1 }}": "v"}) == {"{{ 1 }}": "v"}


def test_rendered_result_is_a_copy_of_the_data() -> None:
    result = _render("{{ $json.a }}")
    result["b"]["c"] = "changed"
    assert DATA["a"] == {"b": {"c": "deep"}}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ $json.payload }}", "{{ 7 * 7 }}", id="payload-with-braces"),
        pytest.param(
            "Got {{ $json.leak }}", "Got {{ $json.secret }}", id="payload-naming-a-secret"
        ),
        pytest.param("{{ $json.field }}", "__class__", id="payload-with-dunder"),
        pytest.param("{{ '{{ 1 }}' }}", "{{ 1 }}", id="string-literal-with-braces"),
    ],
)
def test_expression_results_are_data_and_never_evaluated_again(
    template: str, expected: str
) -> None:
    assert _render(template) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ $json.a.b.c }}", "deep", id="json-path"),
        pytest.param("{{ $json }}", DATA, id="whole-json-alone"),
        pytest.param("Body: {{ $json.a }}", 'Body: {"b":{"c":"deep"}}', id="json-interpolated"),
        pytest.param("{{ name }}", "Ann", id="bare-name-means-json-field"),
        pytest.param("Hi {{ missing }}!", "Hi !", id="missing-bare-name-is-empty"),
        pytest.param("{{ a.b.c }}", "deep", id="bare-name-path"),
    ],
)
def test_legacy_templates_still_work(template: str, expected: Any) -> None:
    assert _render(template) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ $now }}", "2024-05-06T07:08:09.123+00:00", id="date"),
        pytest.param("{{ Number('x') }}", None, id="nan"),
        pytest.param("{{ [Math.max()] }}", [None], id="infinity-inside-list"),
        pytest.param(
            "{{ {when: $today} }}", {"when": "2024-05-06T00:00:00.000+00:00"}, id="nested"
        ),
    ],
)
def test_results_are_always_json_compatible(template: str, expected: Any) -> None:
    result = _render(template)
    assert result == expected
    json.dumps(result, allow_nan=False)


def test_non_json_scope_values_are_converted() -> None:
    scope = _scope(json_value={"pair": (1, 2), "at": NOW})
    assert render("{{ $json }}", scope) == {"pair": [1, 2], "at": "2024-05-06T07:08:09.123+00:00"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ $json.name }}", "Ann", id="json"),
        pytest.param("{{ $input.all().length }}", 3, id="input-all"),
        pytest.param("{{ $input.first().json.n }}", 1, id="input-first"),
        pytest.param("{{ $input.last().json.n }}", 3, id="input-last"),
        pytest.param("{{ $input.item.json.n }}", 2, id="input-item-follows-item-index"),
        pytest.param("{{ $node['Fetch'].json.id }}", 7, id="node-json-is-first-item"),
        pytest.param("{{ $node.Fetch.all().length }}", 2, id="node-dot-name"),
        pytest.param("{{ $node['Fetch'].first().json.id }}", 7, id="node-first"),
        pytest.param("{{ $node['Fetch'].last().json.id }}", 8, id="node-last"),
        pytest.param("{{ $node['Fetch'].item.json.id }}", 8, id="node-item"),
        pytest.param("{{ $('Fetch').json.id }}", 7, id="dollar-function"),
        pytest.param("{{ $('Empty').json }}", None, id="node-without-items"),
        pytest.param("{{ $now }}", "2024-05-06T07:08:09.123+00:00", id="now"),
        pytest.param("{{ $today }}", "2024-05-06T00:00:00.000+00:00", id="today"),
        pytest.param("{{ $execution.id }}/{{ $execution.mode }}", "exec-1/manual", id="execution"),
        pytest.param("{{ $workflow.id }}:{{ $workflow.name }}", "wf-1:Orders", id="workflow"),
        pytest.param("{{ $vars.region }}", "eu", id="vars"),
        pytest.param("{{ $itemIndex }}", 1, id="item-index"),
        pytest.param("{{ $jmespath($json, 'a.b.c') }}", "deep", id="jmespath"),
    ],
)
def test_variable_resolves_from_the_scope(template: str, expected: Any) -> None:
    assert _render(template, item_index=1) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param("{{ $node['Nope'].json }}", "Node 'Nope' has no output", id="unknown-node"),
        pytest.param(
            "{{ $input.foo }}", "$input has no property 'foo'", id="unknown-input-property"
        ),
        pytest.param("{{ $input }}", "$input is not a value", id="proxy-as-result"),
        pytest.param("{{ Math }}", "Math is not a value", id="namespace-as-result"),
        pytest.param("{{ $env }}", "Unknown variable '$env'", id="env-is-not-exposed"),
    ],
)
def test_variable_misuse_is_an_expression_error(template: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("$", r"\$")):
        _render(template)


def test_naive_now_is_taken_as_utc() -> None:
    scope = ExpressionScope(json={}, now=datetime(2024, 1, 2, 3, 4, 5))
    assert render("{{ $now }}", scope) == "2024-01-02T03:04:05.000+00:00"


def test_evaluate_reads_a_bare_expression() -> None:
    assert evaluate("$json.a.b.c", _scope()) == "deep"


def test_evaluate_returns_json_safe_values() -> None:
    assert evaluate("$today", _scope()) == "2024-05-06T00:00:00.000+00:00"


def test_error_carries_the_failing_expression() -> None:
    with pytest.raises(ExpressionError) as caught:
        _render("Hi {{ $json.nothing.toUpperCase() }}")
    assert caught.value.expression == "$json.nothing.toUpperCase()"
    assert "Cannot call toUpperCase() on a missing value" in caught.value.message


def test_optional_chaining_allows_a_missing_receiver() -> None:
    assert _render("{{ $json.nothing?.toUpperCase() }}") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("plain", False, id="plain-text"),
        pytest.param("a {{ b }}", True, id="text-with-expression"),
        pytest.param("{ {", False, id="spaced-braces"),
        pytest.param({"k": ["x", {"y": "{{ z }}"}]}, True, id="nested-structure"),
        pytest.param({"k": 1, "l": [2, None]}, False, id="structure-without-text"),
        pytest.param(None, False, id="none"),
    ],
)
def test_has_expression_finds_braces_anywhere(value: Any, expected: bool) -> None:
    assert has_expression(value) is expected


def test_check_syntax_reports_each_broken_expression() -> None:
    params = {
        "a": "{{ 1 + }}",
        "b": ["ok {{ $json.x }}", "{{ $json.__class__ }}"],
        "c": 5,
    }
    errors = check_syntax(params)
    assert len(errors) == 2
    assert "Unexpected end of expression" in errors[0]
    assert "Access to '__class__' is not allowed" in errors[1]


def test_check_syntax_accepts_valid_templates() -> None:
    assert check_syntax({"a": "{{ $json.x }} and {{ $now.toISO() }}", "b": "plain"}) == []
