"""Compile a definition into a ``Graph``: nodes, edges by output port, and scheduling masks.

Cycles are allowed only when they return into a ``loop-over-items`` node: a depth-first walk
from the roots (definition order) marks back edges, and every back edge must end at a loop
node. Without its back edges the graph is a DAG; node ``i`` is bit ``1 << i`` in the masks.

``blocking[i]`` holds the nodes that must have nothing pending before node ``i`` may run: its
DAG ancestors, minus the loops whose body contains it; a loop node is also blocked by its own
body, so it runs again only after the whole body has finished with the current batch.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fluxolab.engine.issues import ValidationIssue
from fluxolab.engine.nodetype import LOOP_RETURN
from fluxolab.engine.spec import CompiledNode, compile_node
from fluxolab.engine.wiring import Wire, parse_connections

_NODE_REFERENCE = re.compile(r"""\$(?:node\s*\[|\()\s*(["'])(.*?)\1""")
_ANY_REFERENCE = re.compile(r"\$(?:node\b|\()")


@dataclass(frozen=True)
class Edge:
    """Where items sent on one output port go: the target node and its input port."""

    target: int
    port: str  # the target's input port, or LOOP_RETURN for an edge back into a loop node


@dataclass(frozen=True, eq=False)
class Graph:
    """A compiled, immutable definition; shared by every run of the same definition."""

    nodes: tuple[CompiledNode, ...]
    by_id: Mapping[str, CompiledNode]
    edges: tuple[Mapping[str, tuple[Edge, ...]], ...]  # per node: output port -> edges
    rank: tuple[int, ...]  # topological position per node (ties by definition order)
    blocking: tuple[int, ...]
    start: int | None  # the default start node: first trigger, else first root
    output_keys: tuple[tuple[str, ...], ...]  # names under which $node[...] finds a node
    referenced: int  # mask of nodes whose output expressions may read later


def _back_edges(count: int, wires: Sequence[Wire]) -> set[int]:
    """Return the positions of wires that close a cycle in a depth-first walk from the roots."""
    successors: list[list[tuple[int, int]]] = [[] for _ in range(count)]
    has_input = [False] * count
    for position, wire in enumerate(wires):
        successors[wire.source].append((wire.target, position))
        has_input[wire.target] = True
    state = [0] * count  # 0 new, 1 on the stack, 2 done
    back: set[int] = set()
    roots = [i for i in range(count) if not has_input[i]] + list(range(count))
    for root in roots:
        if state[root]:
            continue
        stack: list[tuple[int, Iterator[tuple[int, int]]]] = [(root, iter(successors[root]))]
        state[root] = 1
        while stack:
            node, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                state[node] = 2
                stack.pop()
            elif state[step[0]] == 1:
                back.add(step[1])
            elif state[step[0]] == 0:
                state[step[0]] = 1
                stack.append((step[0], iter(successors[step[0]])))
    return back


def _ranks(count: int, forward: Sequence[Wire]) -> tuple[int, ...]:
    """Return each node's position in a topological order (lowest definition index first)."""
    indegree = [0] * count
    successors: list[list[int]] = [[] for _ in range(count)]
    for wire in forward:
        successors[wire.source].append(wire.target)
        indegree[wire.target] += 1
    ready = [i for i in range(count) if indegree[i] == 0]
    heapq.heapify(ready)
    rank = [0] * count
    position = 0
    while ready:
        node = heapq.heappop(ready)
        rank[node] = position
        position += 1
        for target in successors[node]:
            indegree[target] -= 1
            if indegree[target] == 0:
                heapq.heappush(ready, target)
    return tuple(rank)


def _blocking(
    nodes: Sequence[CompiledNode], forward: Sequence[Wire], rank: Sequence[int]
) -> tuple[int, ...]:
    """Return each node's blocking mask (see the module docstring)."""
    count = len(nodes)
    ancestors = [0] * count
    incoming: list[list[int]] = [[] for _ in range(count)]
    for wire in forward:
        incoming[wire.target].append(wire.source)
    for node in sorted(range(count), key=rank.__getitem__):
        for source in incoming[node]:
            ancestors[node] |= ancestors[source] | (1 << source)
    body = [0] * count
    enclosing = [0] * count
    for loop in (n.index for n in nodes if n.type.loop):
        for node in range(count):
            if ancestors[node] >> loop & 1 and _via_loop_port(loop, node, forward, ancestors):
                body[loop] |= 1 << node
                enclosing[node] |= 1 << loop
    return tuple((ancestors[i] | body[i]) & ~enclosing[i] & ~(1 << i) for i in range(count))


def _via_loop_port(loop: int, node: int, forward: Sequence[Wire], ancestors: list[int]) -> bool:
    """Return whether ``node`` is reached from the loop's ``loop`` output (not only ``done``)."""
    return any(
        wire.source == loop
        and wire.output == "loop"
        and (wire.target == node or ancestors[node] >> wire.target & 1)
        for wire in forward
    )


def _references(nodes: Sequence[CompiledNode]) -> set[str]:
    """Return the node names/ids that expressions read with ``$node["X"]``/``$("X")``.

    Returns {"*"} when some reference is not a plain literal (the name is computed).
    """
    names: set[str] = set()
    for node in nodes:
        for key in node.dynamic_keys:
            for text in _strings(node.params[key]):
                found = [match.group(2) for match in _NODE_REFERENCE.finditer(text)]
                if len(found) != len(_ANY_REFERENCE.findall(text)):
                    return {"*"}
                names.update(found)
    return names


def _strings(value: Any) -> Iterator[str]:
    """Yield every string inside a nested params value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _output_keys(nodes: Sequence[CompiledNode]) -> tuple[tuple[str, ...], ...]:
    """Return the names a node's output is visible under: its name, and its id unless shadowed."""
    names = {node.name for node in nodes}
    return tuple(
        (node.name,) if node.id == node.name or node.id in names else (node.name, node.id)
        for node in nodes
    )


def _start(nodes: Sequence[CompiledNode], wires: Sequence[Wire]) -> int | None:
    """Return the default start node: the first trigger, else the first node without inputs."""
    for node in nodes:
        if node.type.is_trigger:
            return node.index
    targets = {wire.target for wire in wires}
    return next((node.index for node in nodes if node.index not in targets), None)


def _edges(count: int, wires: Sequence[Wire], back: set[int]) -> tuple[dict, ...]:
    """Group wires by source node and output port (back edges deliver to LOOP_RETURN)."""
    edges: list[dict[str, tuple[Edge, ...]]] = [{} for _ in range(count)]
    for position, wire in enumerate(wires):
        port = LOOP_RETURN if position in back else wire.input
        by_port = edges[wire.source]
        by_port[wire.output] = (*by_port.get(wire.output, ()), Edge(wire.target, port))
    return tuple(edges)


def _cycle_issues(nodes: Sequence[CompiledNode], wires: Sequence[Wire], back: set[int]) -> list:
    """Report each back edge that does not return into a loop-over-items node."""
    issues = []
    for position in sorted(back):
        wire = wires[position]
        source, target = nodes[wire.source], nodes[wire.target]
        if not target.type.loop:
            message = (
                f"Connection {source.name} -> {target.name} closes a cycle; a cycle must return "
                "into a loop-over-items node"
            )
            issues.append(ValidationIssue(target.id, None, message))
    return issues


def compile_nodes(raw_nodes: Any) -> tuple[list[CompiledNode], set[str], list[ValidationIssue]]:
    """Compile every node; returns the usable nodes, every id seen, and the issues."""
    if not isinstance(raw_nodes, list):
        return [], set(), [ValidationIssue(None, "nodes", "Definition 'nodes' must be a list")]
    nodes: list[CompiledNode] = []
    seen_ids: set[str] = set()
    names: set[str] = set()
    issues: list[ValidationIssue] = []
    for position, raw in enumerate(raw_nodes):
        node, node_issues = compile_node(raw, position)
        issues.extend(node_issues)
        node_id = raw.get("id") if isinstance(raw, Mapping) else None
        if node_id is not None and str(node_id) in seen_ids:
            issues.append(ValidationIssue(str(node_id), "id", f"Duplicate node id '{node_id}'"))
            continue
        if node_id is not None:
            seen_ids.add(str(node_id))
        if node is None:
            continue
        if node.name in names:
            issues.append(ValidationIssue(node.id, "name", f"Duplicate node name '{node.name}'"))
        names.add(node.name)
        nodes.append(node)
    return nodes, seen_ids, issues


def compile_definition(definition: Any) -> tuple[Graph | None, list[ValidationIssue]]:
    """Compile a definition; returns the graph (None when anything is invalid) and the issues."""
    if not isinstance(definition, Mapping):
        return None, [ValidationIssue(None, None, "Definition must be an object")]
    nodes, seen_ids, issues = compile_nodes(definition.get("nodes"))
    nodes = [_reindexed(node, position) for position, node in enumerate(nodes)]
    wires, wire_issues = parse_connections(definition.get("connections"), nodes, seen_ids)
    issues.extend(wire_issues)
    back = _back_edges(len(nodes), wires)
    issues.extend(_cycle_issues(nodes, wires, back))
    if issues:
        return None, issues
    forward = [wire for position, wire in enumerate(wires) if position not in back]
    rank = _ranks(len(nodes), forward)
    references = _references(nodes)
    keys = _output_keys(nodes)
    referenced = sum(
        1 << node.index
        for node in nodes
        if "*" in references or references.intersection(keys[node.index])
    )
    graph = Graph(
        nodes=tuple(nodes),
        by_id={node.id: node for node in nodes},
        edges=_edges(len(nodes), wires, back),
        rank=rank,
        blocking=_blocking(nodes, forward, rank),
        start=_start(nodes, wires),
        output_keys=keys,
        referenced=referenced,
    )
    return graph, []


def _reindexed(node: CompiledNode, position: int) -> CompiledNode:
    """Return the node with ``index`` equal to its position among the usable nodes."""
    return node if node.index == position else replace(node, index=position)
