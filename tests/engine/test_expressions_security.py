"""Sandbox-escape and resource-bomb payloads: each fails with ExpressionError or stays data."""

from __future__ import annotations

import json
import string
import time
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluxolab.engine.expressions import (
    ExpressionError,
    ExpressionLimits,
    ExpressionScope,
    check_syntax,
    render,
)

DATA = {"name": "Ann", "secret": "s3cr3t", "list": [1, 2], "config": {"debug": True}}
DOUBLING = "|".join(["[@,@]"] * 40)
NOW = datetime(2024, 5, 6, 9, 8, 7, tzinfo=UTC)


def _scope(json_value: Any = None) -> ExpressionScope:
    return ExpressionScope(
        json=DATA if json_value is None else json_value,
        input_items=[{"json": DATA}],
        node_outputs={"Fetch": [{"json": DATA}]},
        now=NOW,
    )


def _assert_json_data(value: Any) -> None:
    json.dumps(value, allow_nan=False)


REFUSED = [
    pytest.param("{{ $json.__class__ }}", "Access to '__class__' is not allowed", id="dunder"),
    pytest.param("{{ $json['__class__'] }}", "Access to '__class__'", id="dunder-index"),
    pytest.param("{{ ''.__class__.__mro__ }}", "Access to '__class__'", id="str-mro"),
    pytest.param("{{ [].__class__.__base__.__subclasses__() }}", "Access to", id="subclasses"),
    pytest.param("{{ $json._private }}", "Access to '_private'", id="underscore-member"),
    pytest.param("{{ _secret }}", "Access to '_secret'", id="underscore-name"),
    pytest.param("{{ __import__('os') }}", "Access to '__import__'", id="dunder-import"),
    pytest.param("{{ __builtins__ }}", "Access to '__builtins__'", id="builtins"),
    pytest.param("{{ $json['__pro' + 'to__'] }}", "Access to '__proto__'", id="computed-proto"),
    pytest.param("{{ $json.__proto__.polluted }}", "Access to '__proto__'", id="proto"),
    pytest.param("{{ {__proto__: {admin: true}} }}", "Key '__proto__'", id="proto-literal"),
    pytest.param("{{ $json.constructor.prototype }}", "Access to 'constructor'", id="ctor-proto"),
    pytest.param("{{ $json.toString.constructor }}", "Access to 'constructor'", id="fn-ctor"),
    pytest.param(
        "{{ constructor.constructor('return process')() }}", "'constructor'", id="ctor-ctor"
    ),
    pytest.param("{{ [].prototype }}", "Access to 'prototype'", id="prototype"),
    pytest.param("{{ this }}", "'this' is not supported", id="this"),
    pytest.param("{{ globalThis }}", "'globalThis' is not supported", id="globalThis"),
    pytest.param("{{ window.location }}", "'window' is not supported", id="window"),
    pytest.param("{{ process.env }}", "'process' is not supported", id="process"),
    pytest.param("{{ require('child_process') }}", "'require' is not supported", id="require"),
    pytest.param("{{ import('os') }}", "'import' is not supported", id="import"),
    pytest.param("{{ eval('1') }}", "'eval' is not supported", id="eval"),
    pytest.param("{{ Function('return 1')() }}", "'Function' is not supported", id="Function"),
    pytest.param("{{ new Function('x') }}", "'new' is not supported", id="new"),
    pytest.param("{{ exec('x') }}", "Function 'exec' is not available", id="exec"),
    pytest.param("{{ open('/etc/passwd') }}", "Function 'open' is not available", id="open"),
    pytest.param("{{ getattr($json, 'x') }}", "Function 'getattr' is not available", id="getattr"),
    pytest.param("{{ compile('1', 'f', 'eval') }}", "Function 'compile'", id="compile"),
    pytest.param("{{ globals() }}", "Function 'globals' is not available", id="globals"),
    pytest.param("{{ $env.HOME }}", "Unknown variable '$env'", id="env"),
    pytest.param("{{ config.items() }}", "Unknown method 'items' for object", id="jinja-config"),
    pytest.param("{{ self.__init__.__globals__ }}", "Access to '__init__'", id="jinja-self"),
    pytest.param("{{ lipsum.__globals__ }}", "Access to '__globals__'", id="jinja-lipsum"),
    pytest.param("{{ cycler.__init__ }}", "Access to '__init__'", id="jinja-cycler"),
    pytest.param("{{ ''.format.__globals__ }}", "Access to '__globals__'", id="format-globals"),
    pytest.param("{{ '{0.__class__}'.format($json) }}", "Unknown method 'format'", id="str-format"),
    pytest.param("{{ '%s' % $json.secret }}", "Cannot apply '%'", id="percent-format"),
    pytest.param("{{ $json.name.__len__() }}", "Access to '__len__'", id="dunder-method"),
    pytest.param("{{ $input.__dict__ }}", "Access to '__dict__'", id="proxy-dict"),
    pytest.param("{{ $input.scope }}", "$input has no property 'scope'", id="proxy-internals"),
    pytest.param("{{ $node.Fetch.items }}", "has no property 'items'", id="node-internals"),
    pytest.param("{{ Math.fn }}", "Math.fn is not available", id="namespace-member"),
    pytest.param("{{ JSON.parse.name }}", "Cannot read 'name' of function", id="function-attr"),
    pytest.param("{{ $jmespath }}", "$jmespath() is not a value", id="function-as-value"),
    pytest.param("{{ $jmespath($input, '@') }}", "$input is not a value", id="jmespath-proxy"),
    pytest.param("{{ x => x }}", "Arrow functions are not supported", id="arrow"),
    pytest.param("{{ a = 1 }}", "Assignment is not supported", id="assignment"),
    pytest.param("{{ 1; 2 }}", "Statements are not supported", id="statement"),
    pytest.param("{{ `${1}` }}", "Template literals", id="template-literal"),
]


@pytest.mark.parametrize(("payload", "message"), REFUSED)
def test_escape_payload_is_refused(payload: str, message: str | None) -> None:
    with pytest.raises(ExpressionError) as caught:
        render(payload, _scope())
    if message is not None:
        assert message in caught.value.message


HARMLESS = [
    pytest.param("{{ $json['con' + 'structor'] }}", None, id="computed-constructor-is-a-key"),
    pytest.param("{{ $jmespath($json, '__class__') }}", None, id="jmespath-dunder-is-a-key"),
    pytest.param("{{ $now.format('{0.__class__}') }}", "{0.__clAM07__}", id="date-format-text"),
    pytest.param("{{ JSON.parse('{\"__class__\": 1}') }}", {"__class__": 1}, id="parsed-data"),
    pytest.param("{{ $json['_id'] }}", None, id="single-underscore-key-is-data"),
    pytest.param("{{ self }}", None, id="jinja-self-is-a-missing-field"),
    pytest.param("{{ request.application }}{% if 1 %}", "{% if 1 %}", id="jinja-block-is-text"),
    pytest.param("{{ config }}", {"debug": True}, id="jinja-config-is-a-field"),
]


@pytest.mark.parametrize(("payload", "expected"), HARMLESS)
def test_lookalike_payload_stays_plain_data(payload: str, expected: Any) -> None:
    result = render(payload, _scope())
    assert result == expected
    _assert_json_data(result)


BOMBS = [
    pytest.param("{{ 9**9**9 }}", "'**' operator is not supported", id="power-tower"),
    pytest.param("{{ 'a'.padStart(1e12) }}", "size limit", id="padStart"),
    pytest.param("{{ 'a'.padEnd(2e6, 'xy') }}", "size limit", id="padEnd"),
    pytest.param("{{ 'a'.repeat(1e9) }}", "size limit", id="repeat"),
    pytest.param(
        "{{ [1,2].join('x'.padStart(900000)) + [1,2].join('x'.padStart(900000)) }}",
        "size limit",
        id="join-then-concatenate",
    ),
    pytest.param(
        "{{ 'x'.repeat(600000).replaceAll('x', 'yy') }}", "size limit", id="replaceAll-growth"
    ),
    pytest.param(
        "{{ 'ab'.padStart(600000).split('').join('--') }}", "step limit", id="split-join-growth"
    ),
    pytest.param(
        "{{ JSON.stringify(['x'.padStart(600000), 'x'.padStart(600000)]) }}",
        "size limit",
        id="stringify-growth",
    ),
    pytest.param(
        "{{ 'x'.padStart(600000) }}{{ 'y'.padStart(600000) }}", "size limit", id="interpolation"
    ),
    pytest.param(
        f"{{{{ $jmespath($json, '{DOUBLING}|to_string(@)') }}}}",
        "size limit",
        id="jmespath-doubling-pipes",
    ),
    pytest.param(
        f"{{{{ $jmespath($json.list, '{'|'.join(['[@,@][]'] * 40)}') }}}}",
        "limit",
        id="jmespath-doubling-flatten",
    ),
    pytest.param(
        f"{{{{ $jmespath($json, '{'a' * 2000}') }}}}", "query is too long", id="jmespath-long"
    ),
    pytest.param("{{ " + "(" * 10_000 + "1" + ")" * 10_000 + " }}", "too long", id="parens-10k"),
    pytest.param("{{ " + "1+" * 10_000 + "1 }}", "too long", id="source-20k"),
    pytest.param("{{ " + "+".join(["1"] * 200_000) + " }}", "too long", id="additions-200k"),
    pytest.param("{{ " + "[" * 4_000 + "]" * 4_000 + " }}", "nested too deeply", id="arrays-4k"),
    pytest.param("{{ " + "{a:" * 2_000 + "1" + "}" * 2_000 + " }}", "nested", id="objects-2k"),
    pytest.param("{{ " + "-" * 9_000 + "$json.list }}", "Cannot apply '-' to array", id="unary-9k"),
    pytest.param("{{ " + "a ? " * 100 + "1" + " : 2" * 100 + " }}", "nested", id="ternaries"),
]


@pytest.mark.parametrize(("payload", "message"), BOMBS)
def test_resource_bomb_fails_with_a_limit_error(payload: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        render(payload, _scope())
    assert message in caught.value.message


MEMORY_CAP_BYTES = 50 * 1024 * 1024
DEEP_NUMBERS = "JSON.parse('['.repeat(200) + '1,'.repeat(30000) + '1' + ']'.repeat(200))"
GROWING = [
    pytest.param(
        "{{ $jmespath({sep: 'x'.repeat(900000), parts: 'a,'.repeat(200).split(',')},"
        " 'join(sep, parts)') }}",
        "size limit",
        id="jmespath-join-long-separator",
    ),
    pytest.param(
        "{{ $jmespath({nul: JSON.parse('\"' + '\\\\u0000'.repeat(150000) + '\"')},"
        " 'to_string([nul, nul, nul])') }}",
        "size limit",
        id="jmespath-to-string-escapes",
    ),
    pytest.param("{{ 'İ'.repeat(1e6).toLowerCase() }}", "size limit", id="toLowerCase-growth"),
    pytest.param("{{ 'ﬃ'.repeat(4e5).toUpperCase() }}", "size limit", id="toUpperCase-growth"),
    pytest.param(
        "{{ [" + ", ".join(["'x'.repeat(999999)"] * 60) + "] }}",
        "size limit",
        id="many-values-each-under-the-bound",
    ),
    pytest.param(
        "{{ JSON.stringify(" + DEEP_NUMBERS + ", null, 10) }}", "size limit", id="indent-growth"
    ),
    pytest.param("{{ 'x'.repeat(999999).split('') }}", "step limit", id="split-into-characters"),
    pytest.param(
        "{{ 'a'.padStart(10, 'x'.repeat(999999)) + 'b'.padEnd(10, 'y'.repeat(999999)) }}",
        None,
        id="pad-with-a-long-fill",
    ),
]


@pytest.mark.parametrize(("payload", "message"), GROWING)
def test_growing_helper_fails_fast_with_bounded_memory(payload: str, message: str | None) -> None:
    """Helpers and $jmespath functions that multiply their input stop before building it all."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        if message is None:
            result = render(payload, _scope())
            assert isinstance(result, str)
            assert len(result) == 20
        else:
            with pytest.raises(ExpressionError) as caught:
                render(payload, _scope())
            assert message in caught.value.message
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < MEMORY_CAP_BYTES, f"peak {peak / 1e6:.0f} MB"


def test_jmespath_join_result_is_bounded_by_the_size_limit() -> None:
    scope = _scope({"sep": "-" * 50, "parts": ["a"] * 100})
    limits = ExpressionLimits(max_result_chars=1_000)
    assert len(render("{{ $jmespath($json, 'join(sep, parts[:10])') }}", scope, limits)) == 460
    with pytest.raises(ExpressionError, match="size limit"):
        render("{{ $jmespath($json, 'join(sep, parts)') }}", scope, limits)


def test_jmespath_string_results_count_against_the_size_limit() -> None:
    scope = _scope({"text": "x" * 2_000})
    limits = ExpressionLimits(max_result_chars=1_000)
    with pytest.raises(ExpressionError, match="size limit"):
        render("{{ $jmespath($json, 'to_string([text])') }}", scope, limits)


def test_texts_built_inside_jmespath_count_against_the_total() -> None:
    scope = _scope({"rows": [[n] * 300 for n in range(3)]})
    limits = ExpressionLimits(max_result_chars=1_000, max_built_chars=1_500)
    assert len(render("{{ $jmespath($json, 'map(&to_string(@), rows[:2])') }}", scope, limits)) == 2
    with pytest.raises(ExpressionError, match="in total"):
        render("{{ $jmespath($json, 'map(&to_string(@), rows)') }}", scope, limits)


def test_values_built_by_one_render_call_share_one_total() -> None:
    limits = ExpressionLimits(max_result_chars=1_000, max_built_chars=3_000)
    assert len(render("{{ ['x'.repeat(900), 'y'.repeat(900)] }}", _scope(), limits)) == 2
    with pytest.raises(ExpressionError, match="in total"):
        render(
            "{{ ['x'.repeat(900), 'y'.repeat(900), 'z'.repeat(900), 'w'.repeat(900)] }}",
            _scope(),
            limits,
        )


def test_data_passed_through_a_helper_unchanged_is_not_charged() -> None:
    scope = _scope({"text": "x" * 2_000})
    limits = ExpressionLimits(max_result_chars=1_000)
    assert render("{{ $json.text.trim() }}", scope, limits) == "x" * 2_000
    with pytest.raises(ExpressionError, match="size limit"):
        render("{{ $json.text.toUpperCase() }}", scope, limits)


def test_split_keeps_javascript_limits() -> None:
    assert render("{{ 'a,b,c'.split(',', 2) }}", _scope()) == ["a", "b"]
    assert render("{{ 'a,b,c'.split(',') }}", _scope()) == ["a", "b", "c"]
    assert render("{{ 'abc'.split('', 2) }}", _scope()) == ["a", "b"]
    assert render("{{ 'abc'.split(null, 0) }}", _scope()) == []
    assert render("{{ ''.split(',') }}", _scope()) == [""]


def test_deep_parentheses_fail_at_parse_time_even_with_a_large_source_limit() -> None:
    limits = ExpressionLimits(max_source_chars=1_000_000)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        render("{{ " + "(" * 10_000 + "1" + ")" * 10_000 + " }}", _scope(), limits)


def test_long_addition_chain_runs_out_of_steps() -> None:
    limits = ExpressionLimits(max_source_chars=1_000_000, max_steps=10_000, timeout_s=60)
    with pytest.raises(ExpressionError, match="Expression exceeded its step limit"):
        render("{{ " + "+".join(["1"] * 20_000) + " }}", _scope(), limits)


def test_step_limit_counts_every_operation() -> None:
    with pytest.raises(ExpressionError, match="step limit"):
        render("{{ [" + "1," * 60 + "] }}", _scope(), ExpressionLimits(max_steps=50))


def test_step_budget_is_shared_by_one_render_call() -> None:
    params = {f"k{i}": "{{ 1 + 1 }}" for i in range(20)}
    with pytest.raises(ExpressionError, match="step limit"):
        render(params, _scope(), ExpressionLimits(max_steps=50))


def test_time_limit_is_checked_with_the_step_counter() -> None:
    with pytest.raises(ExpressionError, match="time limit"):
        render("{{ [" + "1," * 1_000 + "] }}", _scope(), ExpressionLimits(timeout_s=0))


def test_size_limit_applies_to_concatenation() -> None:
    with pytest.raises(ExpressionError, match="size limit"):
        render("{{ 'abcdef' + 'ghijkl' }}", _scope(), ExpressionLimits(max_result_chars=10))


def test_repeated_references_to_the_same_data_count_against_the_size_limit() -> None:
    scope = _scope({"big": list(range(300))})
    limits = ExpressionLimits(max_result_chars=1_000)
    assert len(render("{{ $json.big }}", scope, limits)) == 300
    with pytest.raises(ExpressionError, match="size limit"):
        render("{{ [$json.big, $json.big, $json.big, $json.big] }}", scope, limits)


def test_self_referencing_scope_data_is_refused() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(ExpressionError, match="reference cycle"):
        render("{{ $json }}", _scope(loop))


def test_deeply_nested_scope_data_is_refused_without_recursion_error() -> None:
    deep: Any = 1
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(ExpressionError, match="nested too deeply"):
        render("{{ $json }}", _scope({"deep": deep}))


def test_payload_naming_a_secret_is_rendered_literally() -> None:
    scope = _scope({"secret": "s3cr3t", "comment": "{{ $json.secret }}"})
    assert render("Comment: {{ $json.comment }}", scope) == "Comment: {{ $json.secret }}"


def test_check_syntax_reports_refused_access_without_running_anything() -> None:
    assert check_syntax("{{ $json.__class__ }}") == [
        "Access to '__class__' is not allowed in '{{ $json.__class__ }}'"
    ]


_EXPRESSION_CHARS = string.ascii_letters[:8] + string.digits + "$._'\"()[]{}+-*/%!?:<>=&|,. "


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.text(alphabet=string.printable, max_size=80))
def test_random_printable_text_renders_or_raises_expression_error(text: str) -> None:
    try:
        result = render(text, _scope())
    except ExpressionError:
        return
    _assert_json_data(result)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.text(alphabet=_EXPRESSION_CHARS, max_size=60))
def test_random_expression_text_renders_or_raises_expression_error(body: str) -> None:
    try:
        result = render("{{ " + body + " }}", _scope())
    except ExpressionError:
        return
    _assert_json_data(result)
