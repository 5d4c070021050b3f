"""Data nodes that order or summarise items: Sort and Aggregate.

Ordering never fails on mixed types: values sort by kind first (booleans, numbers, text, other
JSON), and missing values always come last, in both directions. Sorting is stable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fluxolab.engine.call import NodeCall
from fluxolab.engine.conditions import to_number
from fluxolab.engine.context import Item
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.paths import MISSING, get_path, set_path, split_path
from fluxolab.engine.schemas import array_of, choice, obj, prop

OPERATIONS = ("sum", "count", "min", "max", "avg", "list", "concat", "unique")


def sort_key(value: Any, descending: bool = False) -> tuple[int, Any]:
    """Return a key that orders any JSON values: by kind, then value; missing sorts last."""
    if value is MISSING or value is None:
        return (-1 if descending else 5, 0)
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (1, value) if value == value else (2, 0)  # NaN after every number
    if isinstance(value, str):
        return (3, value)
    return (4, json.dumps(value, sort_keys=True, default=str))


def run_sort(call: NodeCall) -> Outputs:
    """Sort items by each listed field in turn (the first field decides first)."""
    items = list(call.items)
    for entry in reversed(call.params(0).get("fields") or ()):
        descending = entry.get("order") == "desc"
        items.sort(key=_item_key(str(entry.get("field") or ""), descending), reverse=descending)
    return {"main": items}


def _item_key(field: str, descending: bool) -> Callable[[Item], tuple[int, Any]]:
    """Return the sort key function of one field."""
    keys = split_path(field)

    def key(item: Item) -> tuple[int, Any]:
        """Return the sort key of the item's value at ``field``."""
        return sort_key(get_path(item.get("json"), keys), descending)

    return key


def _numbers(values: list[Any], field: str) -> list[float | int]:
    """Return the values as numbers (ints stay ints); raises NodeError on other values."""
    numbers: list[float | int] = []
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            numbers.append(value)
            continue
        number = to_number(value)
        if number is None:
            raise NodeError(f"Field '{field}': {value!r} is not a number")
        numbers.append(number)
    return numbers


def _unique(values: list[Any]) -> list[Any]:
    """Return the distinct values in first-seen order (objects compared by content)."""
    seen: set[str] = set()
    distinct = []
    for value in values:
        key = json.dumps(value, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            distinct.append(value)
    return distinct


def _text(value: Any) -> str:
    """Return the text of a value for concatenation."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def _average(values: list[Any], field: str) -> float | None:
    """Return the mean of the values, or None when there are none."""
    numbers = _numbers(values, field)
    return sum(numbers) / len(numbers) if numbers else None


def _extreme(values: list[Any], pick: Callable[..., Any]) -> Any:
    """Return the min/max value: numerically when all are numeric, else by ``sort_key``."""
    if not values:
        return None
    if all(to_number(value) is not None for value in values):
        return pick(values, key=to_number)
    return pick(values, key=sort_key)


Operation = Callable[[list[Any], str, Mapping[str, Any]], Any]

_OPERATIONS: Mapping[str, Operation] = {
    "sum": lambda values, field, params: sum(_numbers(values, field)),
    "count": lambda values, field, params: len(values),
    "avg": lambda values, field, params: _average(values, field),
    "min": lambda values, field, params: _extreme(values, min),
    "max": lambda values, field, params: _extreme(values, max),
    "list": lambda values, field, params: values,
    "concat": lambda values, field, params: str(params.get("separator", ", ")).join(
        _text(value) for value in values
    ),
    "unique": lambda values, field, params: _unique(values),
}


def _summary(items: list[Item], params: Mapping[str, Any]) -> dict[str, Any]:
    """Return the aggregated fields of one group of items."""
    result: dict[str, Any] = {}
    for entry in params.get("fields") or ():
        field = str(entry.get("field") or "")
        operation = entry.get("operation") or "list"
        keys = split_path(field)
        values = [get_path(item.get("json"), keys) for item in items]
        present = [value for value in values if value is not MISSING and value is not None]
        function = _OPERATIONS.get(operation)
        if function is None:
            raise NodeError(f"Field '{field}': unknown operation {operation!r}")
        name = entry.get("outputField") or f"{operation}_{field}"
        result[str(name)] = function(present, field, params)
    return result


def _groups(items: list[Item], fields: list[str]) -> dict[str, tuple[list[Any], list[Item]]]:
    """Group items by the values of ``fields``, in first-seen order."""
    groups: dict[str, tuple[list[Any], list[Item]]] = {}
    for item in items:
        values = [get_path(item.get("json"), field) for field in fields]
        values = [None if value is MISSING else value for value in values]
        key = json.dumps(values, sort_keys=True, default=str)
        groups.setdefault(key, (values, []))[1].append(item)
    return groups


def run_aggregate(call: NodeCall) -> Outputs:
    """Summarise the items into one item (or one item per ``groupBy`` group)."""
    params = call.params(0)
    items = call.items
    if params.get("mode") == "allItems":
        name = str(params.get("outputField") or "data")
        return {"main": [{"json": {name: [item.get("json") for item in items]}}]}
    group_by = params.get("groupBy") or []
    fields = [group_by] if isinstance(group_by, str) else [str(field) for field in group_by]
    if not fields:
        return {"main": [{"json": _summary(items, params)}]}
    out = []
    for values, members in _groups(items, fields).values():
        data: dict[str, Any] = {}
        for field, value in zip(fields, values, strict=True):
            set_path(data, split_path(field), value)
        out.append({"json": {**data, **_summary(members, params)}})
    return {"main": out}


SORT_FIELD = obj(
    {"field": prop("string", "Field", minLength=1), "order": choice("Order", ["asc", "desc"])},
    required=["field"],
)

SORT = NodeType(
    type="sort",
    name="Sort",
    description="Order items by one or more fields",
    category="data",
    icon="arrow-up-down",
    run=run_sort,
    config_schema=obj({"fields": array_of("Sort by", SORT_FIELD, minItems=1)}, required=["fields"]),
)

AGGREGATE_FIELD = obj(
    {
        "field": prop("string", "Field", minLength=1),
        "operation": choice("Operation", OPERATIONS),
        "outputField": prop("string", "Output field"),
    },
    required=["field", "operation"],
)

AGGREGATE = NodeType(
    type="aggregate",
    name="Aggregate",
    description="Combine many items into one: sums, counts, lists, per group",
    category="data",
    icon="sigma",
    run=run_aggregate,
    config_schema=obj(
        {
            "mode": choice("Aggregate", ["fields", "allItems"], "fields"),
            "fields": array_of("Fields", AGGREGATE_FIELD, default=[]),
            "groupBy": prop(["string", "array"], "Group by", items={"type": "string"}),
            "outputField": prop("string", "Output field (all items)", default="data"),
            "separator": prop("string", "Separator (concat)", default=", "),
        }
    ),
)

NODE_TYPES = (SORT, AGGREGATE)
