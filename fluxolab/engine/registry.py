"""The node registry: the single source of truth for node types, their aliases and the catalog."""

from __future__ import annotations

from collections.abc import Iterable

from fluxolab.engine.nodes import ALL_NODE_TYPES
from fluxolab.engine.nodetype import NodeType


class NodeRegistry:
    """Node types by canonical id and by alias; refuses two types claiming the same name."""

    def __init__(self, node_types: Iterable[NodeType] = ()) -> None:
        self._types: dict[str, NodeType] = {}
        self._lookup: dict[str, NodeType] = {}
        for node_type in node_types:
            self.add(node_type)

    def add(self, node_type: NodeType) -> None:
        """Register a node type under its id and aliases; raises ValueError on a name clash."""
        names = (node_type.type, *node_type.aliases)
        taken = [name for name in names if name in self._lookup]
        if taken:
            raise ValueError(f"Node type name(s) already registered: {', '.join(taken)}")
        self._types[node_type.type] = node_type
        for name in names:
            self._lookup[name] = node_type

    def get(self, name: str) -> NodeType | None:
        """Return the node type for a canonical id or an alias, or None when unknown."""
        return self._lookup.get(name)

    def resolve(self, name: str) -> str | None:
        """Return the canonical id for a type id or alias, or None when unknown."""
        node_type = self._lookup.get(name)
        return node_type.type if node_type else None

    def all(self) -> list[NodeType]:
        """Return every registered node type, in registration order."""
        return list(self._types.values())


registry = NodeRegistry(ALL_NODE_TYPES)
