"""The `$input`, `$node` / `$("Name")` objects: read-only views of the run's items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .callables import Builtin, Scripted, define
from .errors import ExpressionError
from .runtime import Runtime
from .scope import ExpressionScope

Items = Sequence[Mapping[str, Any]]
_ITEM_METHODS: dict[str, Builtin] = {}


def _item_at(items: Items, index: int) -> Mapping[str, Any] | None:
    """Return the item paired with `index`: same position, or the only item when there is one."""
    if 0 <= index < len(items):
        return items[index]
    return items[0] if len(items) == 1 else None


def _first_json(items: Items) -> Any:
    return items[0].get("json") if items else None


class ItemsView(Scripted):
    """A list of items with .all(), .first(), .last(), .item and .json."""

    __slots__ = ("items", "name", "scope")
    methods: ClassVar[Mapping[str, Builtin]] = _ITEM_METHODS

    def __init__(self, name: str, items: Items, scope: ExpressionScope) -> None:
        self.name = name
        self.items = items
        self.scope = scope

    @property
    def label(self) -> str:
        """Return the variable spelling, e.g. `$node["Name"]`."""
        return self.name

    def get(self, name: str) -> Any:
        """Return `.item` (the paired item) or `.json` (the first item's json)."""
        if name == "item":
            return _item_at(self.items, self.scope.item_index)
        if name == "json":
            return _first_json(self.items)
        raise ExpressionError(f"{self.name} has no property '{name}'")


@define(_ITEM_METHODS, "all")
def _all(rt: Runtime, view: ItemsView, args: list[Any]) -> list[Mapping[str, Any]]:
    return list(view.items)


@define(_ITEM_METHODS, "first")
def _first(rt: Runtime, view: ItemsView, args: list[Any]) -> Mapping[str, Any] | None:
    return view.items[0] if view.items else None


@define(_ITEM_METHODS, "last")
def _last(rt: Runtime, view: ItemsView, args: list[Any]) -> Mapping[str, Any] | None:
    return view.items[-1] if view.items else None


def node_view(scope: ExpressionScope, name: Any) -> ItemsView:
    """Return the output items of node `name`; raise ExpressionError if it has no output."""
    if not isinstance(name, str):
        raise ExpressionError('A node must be referenced by its name, e.g. $node["HTTP Request"]')
    items = scope.node_outputs.get(name)
    if items is None:
        raise ExpressionError(f"Node '{name}' has no output (it did not run or does not exist)")
    return ItemsView(f'$node["{name}"]', items, scope)


class NodesView(Scripted):
    """`$node`: `$node["Name"]` or `$node.Name` gives that node's items."""

    __slots__ = ("scope",)

    def __init__(self, scope: ExpressionScope) -> None:
        self.scope = scope

    @property
    def label(self) -> str:
        """Return `$node`."""
        return "$node"

    def get(self, name: str) -> Any:
        """Return the named node's items view."""
        return node_view(self.scope, name)
