"""Small builders for node config schemas (JSON Schema 2020-12) and their validation messages.

A property's ``default`` is the single source of a node's default config. A value holding an
expression (``{{ ... }}``) satisfies any schema at validation time: it is checked after rendering.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from fluxolab.engine.expressions import has_expression

Schema = dict[str, Any]


def prop(kind: str | list[str], title: str, **keywords: Any) -> Schema:
    """Return a property schema of JSON type ``kind`` with a UI ``title`` and extra keywords."""
    return {"type": kind, "title": title, **keywords}


def choice(title: str, options: Sequence[str], default: str | None = None) -> Schema:
    """Return a string property limited to ``options`` (an enum), with an optional default."""
    schema: Schema = {"type": "string", "title": title, "enum": list(options)}
    if default is not None:
        schema["default"] = default
    return schema


def any_value(title: str, **keywords: Any) -> Schema:
    """Return a property that accepts any JSON value (operands, templates, literals)."""
    return {"title": title, **keywords}


def obj(properties: Mapping[str, Schema], required: Iterable[str] = (), **keywords: Any) -> Schema:
    """Return an object schema with the given properties and required names."""
    schema: Schema = {"type": "object", "properties": dict(properties), **keywords}
    schema["required"] = list(required)
    return schema


def array_of(title: str, items: Schema, **keywords: Any) -> Schema:
    """Return an array property whose elements follow ``items``."""
    return {"type": "array", "title": title, "items": items, **keywords}


def defaults_of(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ``default`` of every top-level property that declares one."""
    properties = schema.get("properties", {})
    return {name: spec["default"] for name, spec in properties.items() if "default" in spec}


def make_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """Check ``schema`` itself once and return a reusable validator for it."""
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _field(error: ValidationError) -> str:
    """Return the dotted path of the field an error is about (the missing name for required)."""
    parts = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        required = error.validator_value
        missing = [name for name in required if name not in error.instance]
        if missing:
            parts.append(missing[0])
    return ".".join(parts)


def _message(error: ValidationError, field: str) -> str:
    """Return a human message for one schema error."""
    if error.validator == "required":
        return f"Required field '{field}' is missing"
    return error.message


def schema_errors(validator: Draft202012Validator, params: Any) -> Iterator[tuple[str, str]]:
    """Yield ``(field, message)`` for each schema violation, ignoring expression values."""
    errors = sorted(
        validator.iter_errors(params), key=lambda error: [str(part) for part in error.path]
    )
    for error in errors:
        if isinstance(error.instance, str) and has_expression(error.instance):
            continue
        field = _field(error)
        yield field, _message(error, field)
