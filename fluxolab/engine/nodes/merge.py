"""The Merge node: combine the items of inputs "0" and "1".

The runner starts a Merge only when each connected input has received its data or can no
longer receive any, so a strategy sees everything that will ever arrive for this run. Every
strategy takes its items from the step's item budget before building them: a join on a key
shared by many items on both sides stops at the limit instead of building the cross product.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fluxolab.engine.budget import ItemBudget
from fluxolab.engine.call import NodeCall
from fluxolab.engine.context import Item
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.paths import MISSING, get_path
from fluxolab.engine.schemas import choice, obj, prop

STRATEGIES = ("append", "combine", "combineByPosition", "combineByKey", "waitBoth", "replace")


def combine_items(first: Item, second: Item) -> Item:
    """Return one item whose JSON (and binary) is ``first`` overlaid with ``second``."""
    merged: Item = {**first, "json": {**(first.get("json") or {}), **(second.get("json") or {})}}
    if "binary" in first or "binary" in second:
        merged["binary"] = {**(first.get("binary") or {}), **(second.get("binary") or {})}
    return merged


def _by_position(
    first: list[Item], second: list[Item], include_unpaired: bool, budget: ItemBudget
) -> list[Item]:
    """Pair items by index; unpaired tail items are kept only when asked."""
    shorter = min(len(first), len(second))
    budget.take(max(len(first), len(second)) if include_unpaired else shorter)
    paired = [combine_items(a, b) for a, b in zip(first, second, strict=False)]
    if include_unpaired:
        paired.extend(first[shorter:] or second[shorter:])
    return paired


def _key_of(item: Item, path: str) -> Any:
    """Return a hashable join key for an item, or MISSING when the field is absent."""
    value = get_path(item.get("json") or {}, path)
    if value is MISSING or value is None:
        return MISSING
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def _by_key(
    first: list[Item], second: list[Item], params: Mapping[str, Any], budget: ItemBudget
) -> list[Item]:
    """Join input 0 with input 1 on ``key1 == key2`` (inner join, or left join when asked)."""
    key1 = str(params.get("key1") or params.get("key"))
    key2 = str(params.get("key2") or key1)
    index: dict[Any, list[Item]] = {}
    for item in second:
        key = _key_of(item, key2)
        if key is not MISSING:
            index.setdefault(key, []).append(item)
    merged: list[Item] = []
    for item in first:
        key = _key_of(item, key1)
        matches = index.get(key, []) if key is not MISSING else []
        if matches:
            budget.take(len(matches))
            merged.extend(combine_items(item, match) for match in matches)
        elif params.get("joinMode") == "left":
            budget.take()
            merged.append(item)
    return merged


def run_merge(call: NodeCall) -> Outputs:
    """Merge both inputs with the configured strategy."""
    params = call.params(0)
    first, second = call.inputs.get("0") or [], call.inputs.get("1") or []
    strategy = params.get("mergeStrategy")
    budget = call.item_budget()
    if strategy in ("combine", "combineByPosition"):
        items = _by_position(first, second, params.get("includeUnpaired") is True, budget)
    elif strategy == "combineByKey":
        items = _by_key(first, second, params, budget)
    elif strategy == "waitBoth":
        items = _appended(first, second, budget) if first and second else []
    elif strategy == "replace":
        items = second or first
    else:
        items = _appended(first, second, budget)
    return {"main": items}


def _appended(first: list[Item], second: list[Item], budget: ItemBudget) -> list[Item]:
    """Return the items of both inputs, one after the other."""
    budget.take(len(first) + len(second))
    return first + second


def _prepare(params: dict[str, Any]) -> dict[str, Any]:
    """Accept ``mode`` as a spelling of ``mergeStrategy``."""
    if "mode" in params and "mergeStrategy" not in params:
        params["mergeStrategy"] = params.pop("mode")
    return params


def _issues(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Require a key for combineByKey."""
    if params.get("mergeStrategy") == "combineByKey" and not (
        params.get("key") or params.get("key1")
    ):
        return [("key", "Required field 'key' is missing")]
    return []


MERGE = NodeType(
    type="merge",
    name="Merge",
    description="Wait for two inputs and combine their items",
    category="flow",
    icon="merge",
    run=run_merge,
    config_schema=obj(
        {
            "mergeStrategy": choice("Strategy", STRATEGIES, "append"),
            "key": prop("string", "Match field (both inputs)"),
            "key1": prop("string", "Match field in input 1"),
            "key2": prop("string", "Match field in input 2"),
            "joinMode": choice("Keep", ["inner", "left"], "inner"),
            "includeUnpaired": prop("boolean", "Keep unpaired items", default=False),
        },
        required=["mergeStrategy"],
    ),
    inputs=("0", "1"),
    prepare=_prepare,
    check=_issues,
)

NODE_TYPES = (MERGE,)
