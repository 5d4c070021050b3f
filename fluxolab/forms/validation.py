"""Check a form submission against the form node's fields; pure Python, shared by JSON and HTML.

Rules (the same for both entry points):

- ``required``: a missing, empty or blank value is refused; a required checkbox must be ticked.
- ``text`` (up to 1,000 characters), ``textarea`` (10,000), ``email`` (254, ``local@domain.tld``
  shape), ``date`` (ISO ``yyyy-mm-dd``, a real calendar day), ``number`` (an integer or a finite
  decimal; a JSON number or a string that parses), ``select`` (one of ``options``), ``checkbox``
  (JSON ``true``/``false``; in HTML present means ticked).
- Field names the form does not define are refused (``unknown_field``), so a typo in a client
  never silently drops data.

Values are data: they are kept as the text (or number, boolean) they are, never evaluated.
Problems are reported as codes per field; ``fluxolab.forms.texts`` words them per language.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

FIELD_TYPES = ("text", "textarea", "number", "email", "date", "select", "checkbox")
MAX_LENGTH = {"text": 1000, "textarea": 10_000, "email": 254, "number": 64, "date": 10}
MAX_UNKNOWN_REPORTED = 20
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$")
_TICKED = frozenset({"on", "true", "1", "yes", "sim"})


@dataclass(frozen=True)
class Field:
    """One field of a form, read from the node's ``fields[]`` params."""

    name: str
    label: str
    type: str
    required: bool
    options: tuple[str, ...]

    @property
    def max_length(self) -> int | None:
        """Return the longest value this field accepts, in characters."""
        return MAX_LENGTH.get(self.type)


def parse_fields(params: Mapping[str, Any]) -> list[Field]:
    """Return the fields of a form node's params, skipping nameless or repeated ones."""
    found: list[Field] = []
    seen: set[str] = set()
    for raw in params.get("fields") or []:
        if not isinstance(raw, Mapping):
            continue
        name = str(raw.get("name") or "").strip()
        if not name or name in seen:
            continue
        seen.add(name)
        kind = str(raw.get("type") or "text")
        raw_options = raw.get("options")
        options = raw_options if isinstance(raw_options, list) else []
        found.append(
            Field(
                name=name,
                label=str(raw.get("label") or name),
                type=kind if kind in FIELD_TYPES else "text",
                required=raw.get("required") is True,
                options=tuple(str(option) for option in options),
            )
        )
    return found


@dataclass(frozen=True)
class Outcome:
    """The typed values of a valid submission, or the problem codes per field."""

    values: dict[str, Any]
    errors: dict[str, list[str]]

    @property
    def ok(self) -> bool:
        """Tell whether the submission was valid."""
        return not self.errors


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    text = str(value).strip()
    if not _NUMBER.match(text):
        return None
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    number = float(text)
    return number if math.isfinite(number) else None


def _is_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _checkbox(value: Any, html: bool) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if html and isinstance(value, str):
        return value.strip().lower() in _TICKED
    return None


def _check(field: Field, value: Any, html: bool) -> tuple[Any, str | None]:
    """Return ``(typed value, None)`` or ``(None, problem code)`` for one present value."""
    if field.type == "checkbox":
        ticked = _checkbox(value, html)
        if ticked is None:
            return None, "invalid_boolean"
        return ticked, ("required" if field.required and not ticked else None)
    if _blank(value):
        return None, ("required" if field.required else None)
    if field.type == "number":
        if isinstance(value, str) and len(value) > MAX_LENGTH["number"]:
            return None, "too_long"
        number = _number(value)
        return (number, None) if number is not None else (None, "invalid_number")
    if not isinstance(value, str):
        return None, "invalid_type"
    text = value if field.type == "textarea" else value.strip()
    limit = field.max_length
    if limit is not None and len(text) > limit:
        return None, "too_long"
    if field.type == "email" and not _EMAIL.match(text):
        return None, "invalid_email"
    if field.type == "date" and not _is_date(text):
        return None, "invalid_date"
    if field.type == "select" and text not in field.options:
        return None, "invalid_option"
    return text, None


def validate(fields: list[Field], submitted: Mapping[str, Any], *, html: bool = False) -> Outcome:
    """Check ``submitted`` against ``fields``; ``html`` reads urlencoded checkbox values."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    known = {field.name for field in fields}
    unknown = [str(name) for name in submitted if name not in known]
    for name in unknown[:MAX_UNKNOWN_REPORTED]:
        errors[name[:100]] = ["unknown_field"]
    for field in fields:
        value, problem = _check(field, submitted.get(field.name), html)
        if problem is not None:
            errors[field.name] = [problem]
        else:
            values[field.name] = value
    return Outcome(values if not errors else {}, errors)
