"""Data nodes that reshape item lists: Transform (mapping), Limit, Remove Duplicates, Split Out.

Transform runs no code: the contract's ``transformation`` field is accepted only as the no-op
``return data;``; anything else is a validation error pointing to the Code node. Its
``outputFormat`` is ``json`` (items) or ``csv`` (one item ``{"data": "<csv text>"}``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from fluxolab.engine.call import NodeCall
from fluxolab.engine.context import Item
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.paths import MISSING, get_path, remove_path, set_path, split_path
from fluxolab.engine.schemas import array_of, choice, obj, prop

IDENTITY_CODE = frozenset({"", "return data", "return items"})


def _mapped(item: Item, params: Mapping[str, Any]) -> Item:
    """Return the item with each mapping entry set (dotted names nest)."""
    mapping = params.get("mapping")
    if not mapping:
        return item
    if not isinstance(mapping, dict):
        raise NodeError("Field 'mapping': must be an object of output fields to values")
    source = item.get("json")
    result: dict[str, Any] = dict(source) if params.get("keepOriginal") and source else {}
    for name, value in mapping.items():
        set_path(result, split_path(str(name)), value)
    return {**item, "json": result}


def _cell(value: Any) -> str:
    """Return the CSV text of one value: JSON for objects and lists, empty for missing."""
    if value is None or value is MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def to_csv(items: list[Item]) -> str:
    """Return the items' top-level JSON fields as CSV text (columns in first-seen order)."""
    columns: dict[str, None] = {}
    for item in items:
        columns.update(dict.fromkeys(item.get("json") or {}))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for item in items:
        data = item.get("json") or {}
        writer.writerow(_cell(data.get(column, MISSING)) for column in columns)
    return buffer.getvalue()


def run_transform(call: NodeCall) -> Outputs:
    """Map every item through ``mapping``; with csv output, emit one item holding the CSV."""
    items = [_mapped(item, call.params(index)) for index, item in enumerate(call.items)]
    if call.raw("outputFormat") == "csv":
        return {"main": [{"json": {"data": to_csv(items)}}]}
    return {"main": items}


def _transform_issues(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Refuse JavaScript transformations and the xml output format."""
    issues = []
    code = params.get("transformation")
    if isinstance(code, str) and code.strip().rstrip(";").strip() not in IDENTITY_CODE:
        message = (
            "JavaScript transformations are not executed; use 'mapping' or a code-execute node"
        )
        issues.append(("transformation", message))
    if params.get("outputFormat") == "xml":
        issues.append(("outputFormat", "'xml' is not supported; use json or csv"))
    return issues


def run_limit(call: NodeCall) -> Outputs:
    """Keep the first (or last) ``maxItems`` items."""
    params = call.params(0)
    count = params.get("maxItems")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise NodeError(f"Field 'maxItems': {count!r} is not a non-negative integer")
    items = call.items
    kept = items[:count] if params.get("keep") != "last" else items[len(items) - count :]
    return {"main": kept}


def _identity(value: Any) -> str:
    """Return a canonical text for comparing values (key order does not matter)."""
    return json.dumps(value, sort_keys=True, default=str)


def run_remove_duplicates(call: NodeCall) -> Outputs:
    """Keep the first item of each group of items equal in all fields (or the listed fields)."""
    params = call.params(0)
    fields = [split_path(str(name)) for name in params.get("fields") or ()]
    by_fields = params.get("compare") == "fields"
    if by_fields and not fields:
        raise NodeError("Field 'fields': list the fields to compare")
    seen: set[str] = set()
    kept = []
    for item in call.items:
        data = item.get("json") or {}
        value = [get_path(data, keys) for keys in fields] if by_fields else data
        key = _identity(
            [None if part is MISSING else part for part in value] if by_fields else value
        )
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return {"main": kept}


def _split_base(data: dict[str, Any], params: Mapping[str, Any], keys: tuple[str, ...]) -> dict:
    """Return the fields each split item starts with: none, all but the list, or selected."""
    include = params.get("include")
    if include == "all":
        base = dict(data)
        remove_path(base, keys)
        return base
    base = {}
    if include == "selected":
        for name in params.get("fields") or ():
            value = get_path(data, str(name))
            if value is not MISSING:
                set_path(base, split_path(str(name)), value)
    return base


def run_split_out(call: NodeCall) -> Outputs:
    """Emit one item per element of a list field (objects are spread, others set by name).

    Each item's list is counted against the step's item budget before it is split.
    """
    params = call.params(0)
    keys = split_path(str(params.get("field") or ""))
    if not keys:
        raise NodeError("Field 'field': name the list field to split out")
    destination = params.get("destinationField")
    budget = call.item_budget()
    out: list[Item] = []
    for item in call.items:
        data = item.get("json") or {}
        value = get_path(data, keys)
        if value is MISSING or value is None:
            continue
        elements = value if isinstance(value, list) else [value]
        budget.take(len(elements))
        base = _split_base(data, params, keys)
        for element in elements:
            if isinstance(element, dict) and not destination:
                out.append({"json": {**base, **element}})
            else:
                out.append({"json": {**base, str(destination or keys[-1]): element}})
    return {"main": out}


DATA_TRANSFORM = NodeType(
    type="data-transform",
    name="Transform",
    description="Build new fields from expressions (mapping) and convert to CSV",
    category="data",
    icon="shuffle",
    run=run_transform,
    config_schema=obj(
        {
            "mapping": prop("object", "Output fields (name: value or {{ expression }})"),
            "keepOriginal": prop("boolean", "Keep the original fields", default=False),
            "transformation": prop("string", "Transformation (only 'return data;')"),
            "outputFormat": choice("Output format", ["json", "csv", "xml"], "json"),
        }
    ),
    check=_transform_issues,
)

LIMIT = NodeType(
    type="limit",
    name="Limit",
    description="Keep only the first or last items",
    category="data",
    icon="list-end",
    run=run_limit,
    config_schema=obj(
        {
            "maxItems": prop("integer", "Max items", minimum=0, default=1),
            "keep": choice("Keep", ["first", "last"], "first"),
        },
        required=["maxItems"],
    ),
)

REMOVE_DUPLICATES = NodeType(
    type="remove-duplicates",
    name="Remove Duplicates",
    description="Drop items that repeat an earlier item",
    category="data",
    icon="copy-minus",
    run=run_remove_duplicates,
    config_schema=obj(
        {
            "compare": choice("Compare", ["all", "fields"], "all"),
            "fields": array_of("Fields to compare", {"type": "string"}),
        }
    ),
)

SPLIT_OUT = NodeType(
    type="split-out",
    name="Split Out",
    description="Turn a list inside each item into separate items",
    category="data",
    icon="ungroup",
    run=run_split_out,
    config_schema=obj(
        {
            "field": prop("string", "Field holding the list", minLength=1),
            "include": choice("Include other fields", ["none", "all", "selected"], "none"),
            "fields": array_of("Fields to include", {"type": "string"}),
            "destinationField": prop("string", "Output field name"),
        },
        required=["field"],
    ),
)

NODE_TYPES = (DATA_TRANSFORM, LIMIT, REMOVE_DUPLICATES, SPLIT_OUT)
