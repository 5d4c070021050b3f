"""The form validator: every field type, required, length caps, unknown fields (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from fluxolab.forms.validation import Field, parse_fields, validate


def field(kind: str, required: bool = False, options: tuple[str, ...] = ()) -> list[Field]:
    return [Field(name="f", label="F", type=kind, required=required, options=options)]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("text", "  Ana  ", "Ana"),
        ("textarea", "linha 1\nlinha 2 ", "linha 1\nlinha 2 "),
        ("number", 42, 42),
        ("number", 2.5, 2.5),
        ("number", "17", 17),
        ("number", " -3.25 ", -3.25),
        ("number", "1e3", 1000.0),
        ("email", "ana@example.com.br", "ana@example.com.br"),
        ("date", "2026-02-28", "2026-02-28"),
        ("select", "pro", "pro"),
        ("checkbox", True, True),
        ("checkbox", False, False),
        ("text", "{{ $json.secret }}", "{{ $json.secret }}"),
        ("text", "__proto__", "__proto__"),
    ],
)
def test_valid_values_come_out_typed(kind: str, value: Any, expected: Any) -> None:
    outcome = validate(field(kind, options=("free", "pro")), {"f": value})
    assert outcome.ok, outcome.errors
    assert outcome.values == {"f": expected}
    assert type(outcome.values["f"]) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        ("number", "doze", "invalid_number"),
        ("number", True, "invalid_number"),
        ("number", "1" * 65, "too_long"),
        ("number", "1e999", "invalid_number"),
        ("number", "NaN", "invalid_number"),
        ("email", "ana@", "invalid_email"),
        ("email", "ana example@x.com", "invalid_email"),
        ("email", "ana@localhost", "invalid_email"),
        ("email", "a" * 250 + "@x.com", "too_long"),
        ("date", "2026-02-30", "invalid_date"),
        ("date", "03/12/2026", "invalid_date"),
        ("date", "2026-2-3", "invalid_date"),
        ("select", "gold", "invalid_option"),
        ("checkbox", "yes", "invalid_boolean"),
        ("text", "x" * 1001, "too_long"),
        ("textarea", "x" * 10_001, "too_long"),
        ("text", 12, "invalid_type"),
        ("text", ["a"], "invalid_type"),
        ("text", {"__proto__": 1}, "invalid_type"),
    ],
)
def test_invalid_values_are_refused_with_a_code(kind: str, value: Any, code: str) -> None:
    outcome = validate(field(kind, options=("free", "pro")), {"f": value})
    assert outcome.errors == {"f": [code]}
    assert outcome.values == {}


@pytest.mark.parametrize("kind", ["text", "textarea", "number", "email", "date", "select"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_required_fields_refuse_missing_and_blank_values(kind: str, value: Any) -> None:
    submitted = {} if value is None else {"f": value}
    assert validate(field(kind, required=True), submitted).errors == {"f": ["required"]}
    optional = validate(field(kind), submitted)
    assert optional.ok and optional.values == {"f": None}


def test_a_required_checkbox_must_be_ticked() -> None:
    assert validate(field("checkbox", required=True), {"f": False}).errors == {"f": ["required"]}
    assert validate(field("checkbox", required=True), {}).errors == {"f": ["required"]}
    assert validate(field("checkbox"), {}).values == {"f": False}


def test_html_checkboxes_are_ticked_when_present() -> None:
    assert validate(field("checkbox"), {"f": "on"}, html=True).values == {"f": True}
    assert validate(field("checkbox"), {}, html=True).values == {"f": False}
    assert validate(field("checkbox", required=True), {}, html=True).errors == {"f": ["required"]}


def test_unknown_fields_are_refused_by_name() -> None:
    outcome = validate(field("text"), {"f": "ok", "__proto__": "x", "constructor": "y"})
    assert outcome.errors == {"__proto__": ["unknown_field"], "constructor": ["unknown_field"]}


def test_many_unknown_fields_are_reported_only_in_part() -> None:
    outcome = validate(field("text"), {f"x{i}": "v" for i in range(500)})
    assert len(outcome.errors) == 20


def test_parse_fields_defaults_and_skips_broken_entries() -> None:
    params = {
        "fields": [
            {"name": "a"},
            {"name": "a", "type": "number"},
            {"label": "sem nome"},
            "nao e objeto",
            {"name": "b", "type": "weird", "required": "yes", "options": "x"},
            {"name": "c", "type": "select", "options": ["1", 2], "required": True},
        ]
    }
    assert parse_fields(params) == [
        Field("a", "a", "text", False, ()),
        Field("b", "b", "text", False, ()),
        Field("c", "c", "select", True, ("1", "2")),
    ]
