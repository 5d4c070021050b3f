"""``redact``: exact substring masking of secret values, sharing what holds none."""

from __future__ import annotations

from fluxolab.engine.redaction import MASK, redact, redact_text


def test_nothing_is_walked_without_secrets() -> None:
    value = {"a": ["secret-value"]}
    assert redact(value, set()) is value


def test_values_keys_and_nested_lists_are_masked() -> None:
    value = {"k": "x secret-value y", "secret-value": [("secret-value", 1)], "n": 5}
    assert redact(value, {"secret-value"}) == {
        "k": f"x {MASK} y",
        MASK: [(MASK, 1)],
        "n": 5,
    }


def test_unchanged_containers_are_shared() -> None:
    clean = {"deep": [1, 2, {"x": "y"}]}
    value = {"clean": clean, "dirty": "secret-value"}
    result = redact(value, {"secret-value"})
    assert result["clean"] is clean
    assert value["dirty"] == "secret-value"  # the input is not mutated


def test_short_secrets_are_ignored_and_the_longest_match_wins() -> None:
    assert redact_text("abc abcdef abcdefgh", {"abc", "abcdef", "abcdefgh"}) == "abc *** ***"


def test_regex_characters_are_literal() -> None:
    assert redact_text("a+b(c)*d and a.b", {"a+b(c)*d"}) == "*** and a.b"
