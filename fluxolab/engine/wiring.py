"""Parse a definition's ``connections`` into wires between node output and input ports.

``output`` defaults to "main" (the legacy "default" means "main"; a digit picks the n-th
output), ``input`` defaults to "0" ("main" means "0"). UI fields (id, label, ports) are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fluxolab.engine.issues import ValidationIssue, node_label
from fluxolab.engine.spec import CompiledNode


@dataclass(frozen=True)
class Wire:
    """One connection: ``source`` node's ``output`` port to ``target`` node's ``input`` port."""

    source: int
    output: str
    target: int
    input: str


def _text(value: Any) -> str | None:
    """Return an id or port name as text (ints allowed), None when absent or unusable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) and value != "" else None


def _output_port(node: CompiledNode, raw: Any) -> str | None:
    """Return the canonical output port name, or None when the node has no such output."""
    name = _text(raw) or "main"
    if name == "default":
        name = "main"
    if name in node.outputs:
        return name
    if name.isdigit() and int(name) < len(node.outputs):
        return node.outputs[int(name)]
    return None


def _input_port(node: CompiledNode, raw: Any) -> str | None:
    """Return the canonical input port name, or None when the node has no such input."""
    name = _text(raw) or "0"
    if name == "main":
        name = "0"
    return name if name in node.type.inputs else None


def _endpoint(
    raw: Mapping[str, Any], key: str, where: str, by_id: Mapping[str, CompiledNode], seen: set[str]
) -> tuple[CompiledNode | None, list[ValidationIssue]]:
    """Return the node a connection end names; unknown ids are issues, broken nodes are not."""
    node_id = _text(raw.get(key))
    if node_id is None:
        return None, [ValidationIssue(None, key, f"{where}: '{key}' is required")]
    node = by_id.get(node_id)
    if node is None and node_id not in seen:
        return None, [ValidationIssue(node_id, key, f"{where}: unknown node '{node_id}'")]
    return node, []


def _ports_issue(where: str, kind: str, node: CompiledNode, raw: Any, names: Sequence[str]) -> str:
    """Return the message for a port the node does not have."""
    available = ", ".join(names) if names else "none"
    return f"{where}: {node_label(node.name, node.id)} has no {kind} '{raw}' ({kind}s: {available})"


def _wire(
    raw: Any, where: str, by_id: Mapping[str, CompiledNode], seen: set[str]
) -> tuple[Wire | None, list[ValidationIssue]]:
    """Parse one connection; returns the wire (None when unusable) and its issues."""
    if not isinstance(raw, Mapping):
        return None, [ValidationIssue(None, None, f"{where} is not an object")]
    source, issues = _endpoint(raw, "from", where, by_id, seen)
    target, more = _endpoint(raw, "to", where, by_id, seen)
    issues += more
    if source is None or target is None:
        return None, issues
    output = _output_port(source, raw.get("output"))
    if output is None:
        message = _ports_issue(where, "output", source, raw.get("output"), source.outputs)
        issues.append(ValidationIssue(source.id, "output", message))
    port = _input_port(target, raw.get("input"))
    if port is None:
        message = _ports_issue(where, "input", target, raw.get("input", "0"), target.type.inputs)
        issues.append(ValidationIssue(target.id, "input", message))
    if issues or output is None or port is None:
        return None, issues
    return Wire(source.index, output, target.index, port), []


def parse_connections(
    raw: Any, nodes: Sequence[CompiledNode], seen_ids: set[str]
) -> tuple[list[Wire], list[ValidationIssue]]:
    """Return the distinct wires of a definition and the issues of its connections."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [ValidationIssue(None, "connections", "Definition 'connections' must be a list")]
    by_id = {node.id: node for node in nodes}
    wires: dict[Wire, None] = {}
    issues: list[ValidationIssue] = []
    for position, connection in enumerate(raw):
        wire, wire_issues = _wire(connection, f"Connection #{position + 1}", by_id, seen_ids)
        issues.extend(wire_issues)
        if wire is not None:
            wires[wire] = None
    return list(wires), issues
