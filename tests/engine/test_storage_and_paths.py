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
from fluxolab.engine.storage import TRUNCATED_KEY, store_items


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
