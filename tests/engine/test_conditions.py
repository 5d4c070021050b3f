"""The comparison operators shared by If, Filter and Switch."""

from __future__ import annotations

import time
from typing import Any

import pytest

from fluxolab.engine import RunContext, regex, run_node, validate_definition
from fluxolab.engine.conditions import compare
from fluxolab.engine.errors import NodeError
from fluxolab.engine.paths import MISSING
from tests.engine.helpers import chain, items, node


@pytest.mark.parametrize(
    ("operator", "left", "right", "expected"),
    [
        ("equals", 10, "10", True),
        ("equals", "a", "a", True),
        ("equals", True, "true", True),
        ("equals", 1, True, False),
        ("equals", None, "", False),
        ("not_equals", 1, 2, True),
        ("greater", "10", 9, True),
        ("greater", "b", "a", True),
        ("greater", {"a": 1}, 1, False),
        ("less", 2, 3, True),
        ("greater_equal", 3, 3, True),
        ("less_equal", 4, 3, False),
        ("contains", "hello world", "world", True),
        ("contains", [1, 2], "2", True),
        ("contains", {"k": 1}, "k", True),
        ("contains", None, "x", False),
        ("not_contains", "abc", "z", True),
        ("is_empty", "", None, True),
        ("is_empty", [], None, True),
        ("is_empty", MISSING, None, True),
        ("is_empty", 0, None, False),
        ("not_empty", "x", None, True),
        ("notEmpty", "x", None, True),
        ("regex", "order-123", r"\d+$", True),
        ("regex", None, "x", False),
        ("starts_with", "fluxolab", "flux", True),
        ("ends_with", 1234, 34, True),
        ("starts_with", ["a"], "a", False),
    ],
    ids=lambda value: repr(value)[:20],
)
def test_operator(operator: str, left: Any, right: Any, expected: bool) -> None:
    assert compare(operator, left, right) is expected


def test_unknown_operator_is_a_node_error() -> None:
    with pytest.raises(NodeError, match="Unknown operator 'bigger'"):
        compare("bigger", 1, 2)


def test_invalid_regex_is_a_node_error() -> None:
    with pytest.raises(NodeError, match="Invalid regular expression"):
        compare("regex", "a", "(")


def test_catastrophic_backtracking_pattern_answers_at_once() -> None:
    started = time.monotonic()
    assert compare("regex", "a" * 32 + "!", r"^(a+)+$") is False
    assert compare("regex", "a" * 100_000, r"^(a+)+$") is True
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        (r"(a)\1", "backreferences"),
        (r"(?P<x>a)(?P=x)", "named backreferences"),
        (r"foo(?=bar)", "lookahead"),
        (r"(?<!x)y", "negative lookbehind"),
    ],
)
def test_unsupported_syntax_is_a_node_error_naming_the_field(pattern: str, construct: str) -> None:
    with pytest.raises(NodeError) as caught:
        compare("regex", "aa", pattern, "rules.2.value")
    assert caught.value.message.startswith("Field 'rules.2.value': Regular expression")
    assert f"uses {construct}" in caught.value.message
    assert caught.value.to_dict()["field"] == "rules.2.value"


def test_over_long_pattern_is_refused() -> None:
    with pytest.raises(NodeError, match=f"the limit is {regex.MAX_PATTERN_CHARS}"):
        compare("regex", "a", "a" * (regex.MAX_PATTERN_CHARS + 1))


def test_over_long_text_is_refused() -> None:
    text = "a" * (regex.MAX_SUBJECT_CHARS + 1)
    with pytest.raises(NodeError, match="Text to match is 1000001 characters long"):
        compare("regex", text, "a")


def test_pattern_too_large_once_compiled_is_refused() -> None:
    with pytest.raises(NodeError, match="too large once compiled"):
        compare("regex", "a", r"\pL{1000}" * 50)


@pytest.mark.parametrize("value", [r"(a)\1", "a" * (regex.MAX_PATTERN_CHARS + 1), "("])
def test_static_pattern_that_cannot_run_is_a_validation_issue(value: str) -> None:
    bad = node("f", "filter", condition="name", operator="regex", value=value)
    [issue] = validate_definition(chain(node("t", "manual"), bad))
    assert issue.node_id == "f"
    assert issue.field == "value"
    assert issue.message.startswith("Node \"f\" (id f): field 'value': ")


def test_switch_rule_with_a_lookahead_fails_the_step_naming_node_and_rule(
    ctx: RunContext,
) -> None:
    switch = node(
        "s",
        "switch",
        value="{{ $json.text }}",
        rules=[
            {"operator": "equals", "value": "x"},
            {"operator": "regex", "value": "{{ $json.p }}"},
        ],
    )
    step = run_node(switch, items({"text": "ab", "p": "a(?=b)"}), ctx)
    assert step.status == "failed"
    assert step.node_id == "s"
    assert step.error is not None
    assert step.error["field"] == "rules.1.value"
    assert "uses lookahead" in step.error["message"]
