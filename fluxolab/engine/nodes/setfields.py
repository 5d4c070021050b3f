"""The Set node ("Edit Fields"): assign, rename and remove fields, copy-on-write.

Two spellings run unchanged: the builder's ``{"mode": "manual", "fields": [...], "rename",
"remove", "keepOnlySet", "dotNotation"}`` (plus ``mode: "raw"`` with a ``jsonOutput`` object),
and the original engine's ``{"assign": {key: value}, "keepOriginal": true}`` (literal keys).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from fluxolab.engine.call import NodeCall
from fluxolab.engine.conditions import to_number
from fluxolab.engine.context import Item
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.paths import MISSING, get_path, remove_path, set_path, split_path
from fluxolab.engine.schemas import any_value, array_of, choice, obj, prop

FIELD_TYPES = ("auto", "string", "number", "boolean", "json")
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


def _as_string(value: Any) -> str:
    """Convert a value to text: objects and lists as JSON, booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _as_number(name: str, value: Any) -> int | float:
    """Convert a value to an int (integral text/ints) or a float; raises NodeError."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    number = to_number(value)
    if number is None:
        raise NodeError(f"Field '{name}': {value!r} is not a number")
    return number


def _as_boolean(name: str, value: Any) -> bool:
    """Convert a value to a boolean (true/false/yes/no/1/0/on/off); raises NodeError."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise NodeError(f"Field '{name}': {value!r} is not a boolean")


def _as_json(name: str, value: Any) -> Any:
    """Parse JSON text (other values pass through); raises NodeError on invalid JSON."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise NodeError(f"Field '{name}': invalid JSON: {exc}") from exc


def convert(name: str, value: Any, kind: str) -> Any:
    """Convert a field value to its declared type (``auto`` keeps it as rendered)."""
    if kind == "string":
        return _as_string(value)
    if kind == "number":
        return _as_number(name, value)
    if kind == "boolean":
        return _as_boolean(name, value)
    if kind == "json":
        return _as_json(name, value)
    return value


def _keys(name: Any, dot_notation: bool) -> tuple[str, ...]:
    """Return the path segments of a field name, or the name as one literal key."""
    text = str(name)
    return split_path(text) if dot_notation else (text,)


def _rename_and_remove(result: dict[str, Any], params: Mapping[str, Any], dot: bool) -> None:
    """Apply the ``rename`` then ``remove`` lists to ``result`` (a fresh dict)."""
    for entry in params.get("rename") or ():
        source, target = _keys(entry.get("from"), dot), _keys(entry.get("to"), dot)
        value = get_path(result, source)
        if value is not MISSING and source and target:
            remove_path(result, source)
            set_path(result, target, value)
    for name in params.get("remove") or ():
        remove_path(result, _keys(name, dot))


def _raw_json(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ``jsonOutput`` object of raw mode; raises NodeError when it is not one."""
    value = _as_json("jsonOutput", params.get("jsonOutput") or {})
    if not isinstance(value, dict):
        raise NodeError("Field 'jsonOutput': must be a JSON object")
    return value


def edit_item(item: Item, params: Mapping[str, Any]) -> Item:
    """Return a new item with the edits applied; the input item is left untouched."""
    source = item.get("json")
    source = source if isinstance(source, dict) else {}
    legacy = "assign" in params
    keep_only = params.get("keepOnlySet") or (legacy and params.get("keepOriginal") is False)
    result: dict[str, Any] = {} if keep_only else dict(source)
    dot = params.get("dotNotation", True) is not False
    _rename_and_remove(result, params, dot)
    if params.get("mode") == "raw":
        result.update(_raw_json(params))
    for entry in params.get("fields") or ():
        name = entry.get("name")
        value = convert(str(name), entry.get("value"), entry.get("type") or "auto")
        set_path(result, _keys(name, dot), value)
    assign = params.get("assign")
    if isinstance(assign, dict):
        result.update(assign)
    return {**item, "json": result}


def run_set(call: NodeCall) -> Outputs:
    """Edit every input item with its own rendered params."""
    return {"main": [edit_item(item, call.params(index)) for index, item in enumerate(call.items)]}


SET_FIELD = obj(
    {
        "name": prop("string", "Name", minLength=1),
        "value": any_value("Value"),
        "type": choice("Type", FIELD_TYPES),
    },
    required=["name"],
)
RENAME = obj({"from": prop("string", "From"), "to": prop("string", "To")}, required=["from", "to"])

SET = NodeType(
    type="set",
    name="Edit Fields (Set)",
    description="Add, change, rename or remove fields of each item",
    category="data",
    icon="pen-square",
    run=run_set,
    config_schema=obj(
        {
            "mode": choice("Mode", ["manual", "raw"], "manual"),
            "fields": array_of("Fields to set", SET_FIELD, default=[]),
            "rename": array_of("Fields to rename", RENAME),
            "remove": array_of("Fields to remove", {"type": "string"}),
            "keepOnlySet": prop("boolean", "Keep only set fields", default=False),
            "dotNotation": prop("boolean", "Support dot notation", default=True),
            "jsonOutput": any_value("JSON (raw mode)"),
            "assign": prop("object", "Assign (original engine)"),
            "keepOriginal": prop("boolean", "Keep original fields (original engine)"),
        }
    ),
)

NODE_TYPES = (SET,)
