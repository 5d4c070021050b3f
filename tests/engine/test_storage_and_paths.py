"""Stored step copies (JSON-safe, truncated) and copy-on-write field paths."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxolab.engine.paths import MISSING, get_path, remove_path, set_path, split_path
from fluxolab.engine.storage import TRUNCATED_KEY, storable_json, store_items

STORABLE = [
    pytest.param("\ud800\u0000", "\ufffd\ufffd", id="lone-surrogate-and-nul"),
    pytest.param({"k\u0000": ["\udfff"]}, {"k\ufffd": ["\ufffd"]}, id="keys-and-nested-values"),
    pytest.param("\udc00\ud800", "\ufffd\ufffd", id="reversed-pair-is-two-lone-halves"),
    pytest.param("\ud83d\ude00 \U0001f600", "\U0001f600 \U0001f600", id="pairs-are-kept"),
    pytest.param("\\u0000 \\ud800", "\\u0000 \\ud800", id="escaped-backslash-is-text"),
    pytest.param("\\\u0000", "\\\ufffd", id="backslash-then-nul"),
    pytest.param('é\n"\t', 'é\n"\t', id="other-text-unchanged"),
]


@pytest.mark.parametrize(("value", "stored"), STORABLE)
def test_storable_json_replaces_nul_and_lone_surrogates(value: Any, stored: Any) -> None:
    text = storable_json(value)
    assert text.isascii()
    assert json.loads(text) == stored


def _expected(value: Any) -> Any:
    """Return ``value`` as the rule stores it: pairs joined, NUL and lone halves U+FFFD."""
    if isinstance(value, str):
        text = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return text.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_expected(key): _expected(item) for key, item in value.items()}
    return value


_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.recursive(_ANY_TEXT, lambda inner: st.dictionaries(_ANY_TEXT, inner, max_size=3)))
def test_storable_json_stores_valid_unicode_and_keeps_other_text(value: Any) -> None:
    loaded = json.loads(storable_json(value))
    json.dumps(loaded, ensure_ascii=False).encode("utf-8")  # no lone surrogate is left
    assert loaded == _expected(value)


def test_small_plain_lists_are_stored_as_they_are() -> None:
    data = [{"json": {"a": 1}}]
    stored, size, truncated = store_items(data, 1000)
    assert stored is data
    assert (size, truncated) == (len(json.dumps(data, separators=(",", ":"))), False)


def test_non_json_values_are_stored_as_json_text() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    stored, _, _ = store_items([{"json": {"at": moment, "x": math.nan, "t": (1, 2)}}], 1000)
    assert stored == [{"json": {"at": "2026-01-01T00:00:00+00:00", "x": None, "t": [1, 2]}}]


def test_oversized_lists_keep_leading_items_and_a_marker() -> None:
    data = [{"json": {"i": i, "pad": "x" * 100}} for i in range(50)]
    stored, size, truncated = store_items(data, 1000)
    assert truncated is True
    assert size <= 1000
    assert len(json.dumps(stored, separators=(",", ":"))) <= 1000
    marker = stored[-1]["json"][TRUNCATED_KEY]
    assert marker["items"] == 50 - (len(stored) - 1)
    assert stored[:-1] == data[: len(stored) - 1]


def test_a_single_huge_item_leaves_only_the_marker() -> None:
    item = {"json": {"blob": "x" * 5000}}
    stored, _, truncated = store_items([item], 500)
    assert truncated is True
    size = len(json.dumps(item, separators=(",", ":")))
    assert stored == [{"json": {TRUNCATED_KEY: {"items": 1, "bytes": size}}}]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.b", ("a", "b")),
        ("a.b[0].c", ("a", "b", "0", "c")),
        ("  x  ", ("x",)),
        ("", ()),
    ],
)
def test_split_path(path: str, expected: tuple[str, ...]) -> None:
    assert split_path(path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [("a.list.1", 20), ("a.list[-1]", 20), ("a.missing", MISSING), ("a.list.5", MISSING)],
)
def test_get_path(path: str, expected: Any) -> None:
    assert get_path({"a": {"list": [10, 20]}}, path) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(derandomize=True, database=None, max_examples=100)
@given(data=st.dictionaries(st.sampled_from("abc"), json_values, max_size=3), value=json_values)
def test_set_and_remove_path_never_change_the_original(data: dict, value: Any) -> None:
    before = json.dumps(data, sort_keys=True)
    copy = dict(data)
    set_path(copy, ("a", "b", "c"), value)
    assert get_path(copy, "a.b.c") == value
    remove_path(copy, ("a", "b"))
    assert json.dumps(data, sort_keys=True) == before
