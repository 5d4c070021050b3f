"""``ValidationIssue``: one reason a definition cannot run, addressed to a node and a field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ValidationIssue:
    """A definition problem; ``message`` is complete and names the node and field it is about."""

    node_id: str | None
    field: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Return the issue as ``{"nodeId", "field", "message"}``."""
        return {"nodeId": self.node_id, "field": self.field, "message": self.message}


def node_label(name: str, node_id: str) -> str:
    """Return how messages name a node: ``Node "If" (id 3)``."""
    return f'Node "{name}" (id {node_id})'


def node_issue(name: str, node_id: str, field: str | None, message: str) -> ValidationIssue:
    """Return an issue about one node, prefixing the message with the node and field."""
    where = node_label(name, node_id)
    text = f"{where}: field '{field}': {message}" if field else f"{where}: {message}"
    if field and message.startswith("Required field"):
        text = f"{where}: {message}"
    return ValidationIssue(node_id, field, text)
