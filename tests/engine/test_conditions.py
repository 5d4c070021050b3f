"""The comparison operators shared by If, Filter and Switch."""

from __future__ import annotations

from typing import Any

import pytest

from fluxolab.engine.conditions import compare
from fluxolab.engine.errors import NodeError
from fluxolab.engine.paths import MISSING


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
