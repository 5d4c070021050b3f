"""Literals, operators, precedence, parse errors and the compile cache of expressions."""

from __future__ import annotations

from typing import Any

import pytest

from fluxolab.engine.expressions import (
    ExpressionError,
    ExpressionLimits,
    ExpressionScope,
    builtins,
    compile_expression,
    evaluate,
    names,
)
from fluxolab.engine.expressions.templates import compile_template


def _eval(source: str) -> Any:
    return evaluate(source, ExpressionScope(json={"n": 5, "s": "text", "z": 0}))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("42", 42, id="integer"),
        pytest.param("1.5", 1.5, id="decimal"),
        pytest.param("1e3", 1000, id="exponent"),
        pytest.param(".5", 0.5, id="leading-dot"),
        pytest.param("0xff", 255, id="hex"),
        pytest.param("'single'", "single", id="single-quoted"),
        pytest.param('"double"', "double", id="double-quoted"),
        pytest.param(r"'a\nb\tc'", "a\nb\tc", id="escapes-newline-tab"),
        pytest.param(r"'it\'s'", "it's", id="escaped-quote"),
        pytest.param(r"'\u00e9\x41'", "éA", id="unicode-and-hex-escapes"),
        pytest.param(r"'\ud83d\ude00'", "\U0001f600", id="surrogate-pair"),
        pytest.param(r"'\u{1F600}'", "\U0001f600", id="code-point-escape"),
        pytest.param("true", True, id="true"),
        pytest.param("false", False, id="false"),
        pytest.param("null", None, id="null"),
        pytest.param("undefined", None, id="undefined-is-null"),
        pytest.param("[1, 'a', null]", [1, "a", None], id="array"),
        pytest.param("[1, 2,]", [1, 2], id="array-trailing-comma"),
        pytest.param("[]", [], id="empty-array"),
        pytest.param("{}", {}, id="empty-object"),
        pytest.param(
            "{a: 1, 'b c': 2, \"d\": [3], 4: true}",
            {"a": 1, "b c": 2, "d": [3], "4": True},
            id="object-keys-name-string-number",
        ),
        pytest.param("{a: {b: {c: 1}}}", {"a": {"b": {"c": 1}}}, id="nested-object"),
    ],
)
def test_literal_evaluates_to_its_value(source: str, expected: Any) -> None:
    assert _eval(source) == expected


def test_integral_division_result_is_an_int() -> None:
    assert type(_eval("10 / 2")) is int


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("1 + 2", 3, id="add"),
        pytest.param("'a' + 1", "a1", id="text-plus-number-concatenates"),
        pytest.param("1 + '2'", "12", id="number-plus-text-concatenates"),
        pytest.param("'a' + null", "a", id="text-plus-null-is-text"),
        pytest.param("'x' + true", "xtrue", id="text-plus-boolean"),
        pytest.param("'v' + [1, 2]", "v[1,2]", id="text-plus-array-uses-json"),
        pytest.param("null + 1", 1, id="null-counts-as-zero"),
        pytest.param("true + 1", 2, id="boolean-counts-as-number"),
        pytest.param("9 - 12", -3, id="subtract"),
        pytest.param("'5' * 2", 10, id="numeric-text-multiplies"),
        pytest.param("10 / 4", 2.5, id="divide"),
        pytest.param("7 % 3", 1, id="remainder"),
        pytest.param("-7 % 3", -1, id="remainder-keeps-dividend-sign"),
        pytest.param("5.5 % 2", 1.5, id="float-remainder"),
        pytest.param("0.1 + 0.2", 0.30000000000000004, id="float-add"),
        pytest.param("-$json.n", -5, id="unary-minus"),
        pytest.param("+'3'", 3, id="unary-plus-converts"),
        pytest.param("!0", True, id="not-zero"),
        pytest.param("!!'x'", True, id="double-not"),
        pytest.param("not true", False, id="word-not"),
        pytest.param("1 == '1'", True, id="loose-equal-number-text"),
        pytest.param("1 === '1'", False, id="strict-equal-number-text"),
        pytest.param("1 != 2", True, id="not-equal"),
        pytest.param("1 !== 1", False, id="strict-not-equal"),
        pytest.param("null == undefined", True, id="null-equals-undefined"),
        pytest.param("0 == null", False, id="zero-not-equal-null"),
        pytest.param("true == 1", True, id="loose-boolean-number"),
        pytest.param("true === 1", False, id="strict-boolean-number"),
        pytest.param("[1, {a: 2}] === [1, {a: 2}]", True, id="arrays-compare-by-value"),
        pytest.param("'b' > 'a'", True, id="text-comparison"),
        pytest.param("'2' < '10'", False, id="text-compares-as-text"),
        pytest.param("2 < '10'", True, id="number-text-compares-as-number"),
        pytest.param("3 >= 3", True, id="greater-or-equal"),
        pytest.param("3 <= 2", False, id="less-or-equal"),
        pytest.param("1 && 'x'", "x", id="and-returns-last-operand"),
        pytest.param("0 && 'x'", 0, id="and-short-circuits"),
        pytest.param("0 || 'y'", "y", id="or-returns-first-truthy"),
        pytest.param("1 and 0", 0, id="word-and"),
        pytest.param("0 or 2", 2, id="word-or"),
        pytest.param("null ?? 'd'", "d", id="nullish-on-null"),
        pytest.param("0 ?? 'd'", 0, id="nullish-keeps-zero"),
        pytest.param("true ? 'a' : 'b'", "a", id="ternary-true"),
        pytest.param("'' ? 'a' : 'b'", "b", id="empty-text-is-falsy"),
        pytest.param("[] ? 'a' : 'b'", "a", id="empty-array-is-truthy"),
        pytest.param("{} ? 'a' : 'b'", "a", id="empty-object-is-truthy"),
        pytest.param("$json.z ? 'a' : 'b'", "b", id="zero-is-falsy"),
    ],
)
def test_operator_follows_javascript_rules(source: str, expected: Any) -> None:
    assert _eval(source) == expected


def test_or_does_not_evaluate_the_right_side_when_left_is_truthy() -> None:
    assert _eval("1 || $json.missing.toUpperCase()") == 1


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("1 + 2 * 3", 7, id="multiply-before-add"),
        pytest.param("(1 + 2) * 3", 9, id="parentheses-first"),
        pytest.param("10 - 4 - 3", 3, id="subtract-is-left-associative"),
        pytest.param("100 / 10 / 5", 2, id="divide-is-left-associative"),
        pytest.param("2 * 3 % 4", 2, id="multiply-and-remainder-same-level"),
        pytest.param("'a' + 1 + 2", "a12", id="concatenation-left-to-right"),
        pytest.param("1 + 2 + 'a'", "3a", id="addition-then-concatenation"),
        pytest.param("1 + 2 == 3", True, id="arithmetic-before-equality"),
        pytest.param("1 < 2 == true", True, id="comparison-before-equality"),
        pytest.param("true || false && false", True, id="and-before-or"),
        pytest.param("null ?? 0 || 5", 5, id="or-before-nullish"),
        pytest.param("1 ? 2 : 3 ? 4 : 5", 2, id="ternary-nests-right"),
        pytest.param("0 ? 2 : 0 ? 4 : 5", 5, id="ternary-else-chain"),
        pytest.param("-2 * -3", 6, id="unary-minus-binds-tighter"),
        pytest.param("2 - -1", 3, id="minus-minus"),
        pytest.param("!1 == false", True, id="not-binds-tighter-than-equality"),
        pytest.param("-(2 + 3)", -5, id="minus-parenthesised"),
        pytest.param("$json.n * 2 + 1", 11, id="member-access-binds-tightest"),
        pytest.param("1 + 2 * 3 - 4 / 2 + 5 % 3", 7, id="mixed-chain"),
    ],
)
def test_precedence_and_associativity(source: str, expected: Any) -> None:
    assert _eval(source) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("", "Empty expression", id="empty"),
        pytest.param("1 +", "Unexpected end of expression", id="dangling-operator"),
        pytest.param("(1", "Unexpected end of expression", id="unclosed-parenthesis"),
        pytest.param("1 2", "Unexpected '2' at position 2", id="two-values"),
        pytest.param("'abc", "Unterminated string", id="unterminated-string"),
        pytest.param("a = 1", "Assignment is not supported", id="assignment"),
        pytest.param("x => x", "Arrow functions are not supported", id="arrow-function"),
        pytest.param("2 ** 3", "The '**' operator is not supported", id="power"),
        pytest.param("`t`", "Template literals", id="template-literal"),
        pytest.param("1; 2", "Statements are not supported", id="statement"),
        pytest.param("#", "Unexpected character '#'", id="unknown-character"),
        pytest.param("1abc", "Invalid number", id="number-glued-to-name"),
        pytest.param("$json.", "Expected a property name", id="dot-without-name"),
        pytest.param("{a}", "Unexpected '}'", id="object-shorthand"),
        pytest.param("$nope", "Unknown variable '$nope'", id="unknown-variable"),
        pytest.param("new Date()", "'new' is not supported", id="new"),
        pytest.param("typeof 1", "'typeof' is not supported", id="typeof"),
        pytest.param("foo(1)", "Function 'foo' is not available", id="unknown-function"),
        pytest.param(r"'\u12'", "Invalid escape sequence", id="short-unicode-escape"),
        pytest.param(r"'\ud800'", "Lone surrogate", id="lone-surrogate"),
    ],
)
def test_syntax_error_names_the_problem(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        _eval(source)
    assert message in caught.value.message
    assert caught.value.expression == source


def test_compile_returns_the_same_tree_for_the_same_source() -> None:
    assert compile_expression("$json.a + 1") is compile_expression("$json.a + 1")


def test_compile_ignores_surrounding_whitespace_for_the_cache() -> None:
    assert compile_expression("  $json.b ") is compile_expression("$json.b")


def test_templates_are_compiled_once_per_string() -> None:
    limits = ExpressionLimits()
    text = "Hello {{ $json.name }}"
    assert compile_template(text, limits) is compile_template(text, limits)


def test_compile_keeps_separate_trees_for_different_sources() -> None:
    assert compile_expression("$json.c") != compile_expression("$json.d")


@pytest.mark.parametrize(
    ("depth", "accepted"),
    [
        pytest.param(64, True, id="at-the-limit"),
        pytest.param(65, False, id="one-past-the-limit"),
    ],
)
def test_nesting_is_limited_by_max_depth(depth: int, accepted: bool) -> None:
    source = "[" * (depth - 1) + "1" + "]" * (depth - 1)
    if accepted:
        assert compile_expression(source) is not None
    else:
        with pytest.raises(ExpressionError, match="nested too deeply"):
            compile_expression(source)


def test_long_operator_chains_do_not_count_as_nesting() -> None:
    limits = ExpressionLimits(max_depth=4)
    assert evaluate(" + ".join(["1"] * 500), ExpressionScope(json={}), limits) == 500


def test_source_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(ExpressionError, match="too long"):
        compile_expression("1" * 11, ExpressionLimits(max_source_chars=10))


def test_parser_vocabulary_matches_the_evaluator_tables() -> None:
    assert set(builtins.VARIABLES) == names.VARIABLES
    assert set(builtins.GLOBALS) == names.GLOBAL_FUNCTIONS | names.GLOBAL_NAMESPACES
