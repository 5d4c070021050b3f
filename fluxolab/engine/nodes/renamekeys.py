"""The Rename Keys node: rename fields by dotted path, or top-level keys by regular expression.

``keys`` is a list of ``{from, to}`` dotted paths (``user.name`` -> ``name``), applied in
order; a missing ``from`` is skipped, an existing ``to`` is overwritten. ``regex`` is a list
of ``{pattern, replacement}`` applied afterwards to every top-level key (replacement groups
as ``\\1`` or ``\\g<name>``); patterns are matched by RE2 in linear time
(``fluxolab.engine.regex``). Items are copied, never changed in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import re2

from fluxolab.engine import regex
from fluxolab.engine.call import NodeCall
from fluxolab.engine.context import Item
from fluxolab.engine.errors import NodeError
from fluxolab.engine.expressions import has_expression
from fluxolab.engine.nodes.rendered import checked_params
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.paths import MISSING, get_path, remove_path, set_path, split_path
from fluxolab.engine.schemas import array_of, obj, prop


def _renamed_paths(data: dict[str, Any], pairs: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``from`` path moved to its ``to`` path."""
    result = dict(data)
    for pair in pairs:
        source, target = split_path(str(pair["from"])), split_path(str(pair["to"]))
        value = get_path(result, source)
        if value is MISSING or not source or not target or source == target:
            continue
        remove_path(result, source)
        set_path(result, target, value)
    return result


def _renamed_by_regex(data: dict[str, Any], rules: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Return a copy of ``data`` whose top-level keys went through every rule in order."""
    compiled = []
    for position, rule in enumerate(rules):
        try:
            compiled.append((regex.compile_pattern(str(rule["pattern"])), rule))
        except regex.RegexError as exc:
            raise NodeError(f"Field 'regex.{position}.pattern': {exc}") from None
    result: dict[str, Any] = {}
    for key, value in data.items():
        name = key
        for pattern, rule in compiled:
            try:
                name = pattern.sub(str(rule.get("replacement") or ""), name)
            except (re2.error, IndexError) as exc:
                raise NodeError(f"Replacement '{rule.get('replacement')}': {exc}") from None
        result[name] = value
    return result


def _renamed(item: Item, params: Mapping[str, Any]) -> Item:
    """Return the item with its keys renamed."""
    data = item.get("json")
    result = dict(data) if isinstance(data, dict) else {}
    result = _renamed_paths(result, list(params.get("keys") or ()))
    if params.get("regex"):
        result = _renamed_by_regex(result, list(params["regex"]))
    return {**item, "json": result}


def run_rename_keys(call: NodeCall) -> Outputs:
    """Rename the keys of every item."""
    return {
        "main": [
            _renamed(item, checked_params(call, index)) for index, item in enumerate(call.items)
        ]
    }


def _issues(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Require something to rename and refuse static patterns RE2 cannot use."""
    rules = params.get("regex") or []
    if not params.get("keys") and not rules:
        return [("keys", "List the keys to rename (or regex rules)")]
    issues = []
    for position, rule in enumerate(rules):
        pattern = rule.get("pattern") if isinstance(rule, Mapping) else None
        if isinstance(pattern, str) and not has_expression(pattern):
            problem = regex.pattern_problem(pattern)
            if problem:
                issues.append((f"regex.{position}.pattern", problem))
    return issues


PAIR = obj(
    {"from": prop("string", "From", minLength=1), "to": prop("string", "To", minLength=1)},
    required=["from", "to"],
)
RULE = obj(
    {
        "pattern": prop("string", "Pattern", minLength=1),
        "replacement": prop("string", "Replacement"),
    },
    required=["pattern"],
)

RENAME_KEYS = NodeType(
    type="rename-keys",
    name="Rename Keys",
    description="Rename fields of each item by path or by regular expression",
    category="data",
    icon="replace",
    run=run_rename_keys,
    config_schema=obj(
        {
            "keys": array_of("Keys to rename", PAIR, default=[]),
            "regex": array_of("Rename top-level keys by regular expression", RULE),
        },
        required=["keys"],
    ),
    check=_issues,
)

NODE_TYPES = (RENAME_KEYS,)
