"""The node catalog the builder reads (contract 8.1-8.3), generated from the registry.

Templates carry ``inputs``/``outputs`` as port counts (numbers), as the contract's "1→2"
notation reads: If is 1→2, Merge 2→1, a trigger 0→1. Every call returns fresh copies.
"""

from __future__ import annotations

import copy
from typing import Any

from fluxolab.engine.nodetype import NodeType
from fluxolab.engine.registry import registry

CATEGORIES: tuple[dict[str, Any], ...] = (
    {
        "id": "ai",
        "name": "AI",
        "description": "Build autonomous agents, summarize or search documents",
        "icon": "brain",
        "order": 1,
    },
    {
        "id": "action",
        "name": "Action in an app",
        "description": "Do something in an app (Google Sheets, Telegram, Notion)",
        "icon": "zap",
        "order": 2,
    },
    {
        "id": "data",
        "name": "Data transformation",
        "description": "Manipulate, filter or convert data",
        "icon": "shuffle",
        "order": 3,
    },
    {
        "id": "flow",
        "name": "Flow",
        "description": "Branch, merge or loop the flow",
        "icon": "git-branch",
        "order": 4,
    },
    {
        "id": "core",
        "name": "Core",
        "description": "Run code, make HTTP requests, set webhooks",
        "icon": "code",
        "order": 5,
    },
    {
        "id": "human",
        "name": "Human in the loop",
        "description": "Wait for approval or human input",
        "icon": "user-check",
        "order": 6,
    },
)
_ORDER = {category["id"]: category["order"] for category in CATEGORIES}
TRIGGER_ORDER = ("manual", "schedule", "webhook", "form")


def categories() -> list[dict[str, Any]]:
    """Return the six categories ``{id, name, description, icon, order}`` sorted by order."""
    return sorted((dict(category) for category in CATEGORIES), key=lambda c: c["order"])


def _template(node_type: NodeType) -> dict[str, Any]:
    """Return one template in the contract's shape (``id == type``)."""
    return {
        "id": node_type.type,
        "name": node_type.name,
        "description": node_type.description,
        "category": node_type.category,
        "icon": node_type.icon,
        "type": node_type.type,
        "inputs": len(node_type.inputs),
        "outputs": len(node_type.output_names(node_type.defaults)),
        "configSchema": copy.deepcopy(dict(node_type.config_schema)),
        "defaultConfig": copy.deepcopy(node_type.defaults),
    }


def templates() -> list[dict[str, Any]]:
    """Return a template for every registered node type, grouped by category order."""
    node_types = sorted(registry.all(), key=lambda node_type: _ORDER[node_type.category])
    return [_template(node_type) for node_type in node_types]


def _trigger_rank(node_type: NodeType) -> tuple[int, str]:
    """Order triggers as the contract lists them, unknown ones after, by id."""
    if node_type.type in TRIGGER_ORDER:
        return TRIGGER_ORDER.index(node_type.type), node_type.type
    return len(TRIGGER_ORDER), node_type.type


def triggers() -> list[dict[str, Any]]:
    """Return the trigger types ``{id, name, description, icon, configSchema, defaultConfig}``."""
    found = sorted((t for t in registry.all() if t.is_trigger), key=_trigger_rank)
    return [
        {
            "id": node_type.type,
            "name": node_type.name,
            "description": node_type.description,
            "icon": node_type.icon,
            "configSchema": copy.deepcopy(dict(node_type.config_schema)),
            "defaultConfig": copy.deepcopy(node_type.defaults),
        }
        for node_type in found
    ]


def config_schema(type_name: str) -> dict[str, Any] | None:
    """Return the config schema of a node type id or alias, or None when unknown."""
    node_type = registry.get(type_name)
    return copy.deepcopy(dict(node_type.config_schema)) if node_type else None
