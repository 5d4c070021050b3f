"""Definition builders shared by the engine tests (import from tests.engine.helpers)."""

from __future__ import annotations

import itertools
from typing import Any


def node(node_id: str, node_type: str, **params: Any) -> dict[str, Any]:
    """Return a node definition with these params."""
    return {"id": node_id, "type": node_type, "params": params}


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    """Return a definition connecting the nodes one after another on their main outputs."""
    connections = [
        {"from": first["id"], "to": second["id"]} for first, second in itertools.pairwise(nodes)
    ]
    return {"nodes": list(nodes), "connections": connections}


def graph(nodes: list[dict[str, Any]], *edges: tuple[str, ...]) -> dict[str, Any]:
    """Return a definition with edges ``(from, to)``, ``(from, output, to)`` or with input too."""
    connections = []
    for edge in edges:
        if len(edge) == 2:
            connections.append({"from": edge[0], "to": edge[1]})
        elif len(edge) == 3:
            connections.append({"from": edge[0], "output": edge[1], "to": edge[2]})
        else:
            connections.append(
                {"from": edge[0], "output": edge[1], "to": edge[2], "input": edge[3]}
            )
    return {"nodes": nodes, "connections": connections}


def items(*payloads: dict[str, Any]) -> list[dict[str, Any]]:
    """Return items wrapping each JSON payload."""
    return [{"json": payload} for payload in payloads]


def jsons(result_items: list[dict[str, Any]]) -> list[Any]:
    """Return the JSON payloads of items."""
    return [item["json"] for item in result_items]
