"""Params rendered for one item and checked against the node's schema once more.

Validation accepts any expression where a value is expected; what an expression gives is only
known per item. ``checked_params`` renders the params of item ``index`` and, when some were
expressions, validates the result with the node's own schema, so a node reads values of the
types its schema promises and a bad one fails the step with the field named. A field the
schema types as text takes the text of a number, boolean, list or object an expression gave;
one that gave null counts as not set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fluxolab.engine.call import NodeCall
from fluxolab.engine.errors import LimitExceeded, NodeError
from fluxolab.engine.schemas import schema_errors

MAX_DOCUMENT_CHARS = 10 * 1024 * 1024  # CSV or XML text a data node reads or builds


def checked_params(call: NodeCall, index: int) -> Mapping[str, Any]:
    """Return item ``index``'s rendered params; raises NodeError when one breaks the schema."""
    params = call.params(index)
    if not call.node.dynamic_keys:
        return params
    properties = call.node.type.config_schema.get("properties", {})
    params = dict(params)
    for key in call.node.dynamic_keys:
        if params[key] is None:
            del params[key]  # an expression that gave nothing leaves the field unset
        elif properties.get(key, {}).get("type") == "string":
            params[key] = as_text(params[key])
    problems = [
        message if message.startswith("Required field") else f"Field '{name}': {message}"
        for name, message in schema_errors(call.node.type.validator, params)
    ]
    if problems:
        raise NodeError("; ".join(problems), "ValidationError")
    return params


def as_text(value: Any) -> str:
    """Return a value as text: lists and objects as JSON, booleans as true/false."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def text_param(params: Mapping[str, Any], key: str) -> str:
    """Return a param as text: missing or null is "", other values as ``str``."""
    value = params.get(key)
    return "" if value is None else as_text(value)


def bounded_text(what: str, text: str) -> str:
    """Return ``text``; raises LimitExceeded when it is longer than ``MAX_DOCUMENT_CHARS``."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise LimitExceeded(
            f"{what} is {len(text)} characters long; the limit is {MAX_DOCUMENT_CHARS}"
        )
    return text
