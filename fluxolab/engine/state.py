"""The run's bookkeeping, and its JSON snapshot for checkpoints and resumes.

A snapshot holds only what continuation needs: nodes waiting to run with their input items,
loop bookkeeping, outputs that later expressions read through ``$node[...]``, the recorded
webhook response, the node-run counter, the active run time so far (time spent waiting or
down between a checkpoint and its resume does not count against ``run_timeout_s``), and, for a
waiting run, the waiting node with its inputs. Snapshots share no objects with the live run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fluxolab.engine.call import RunEnv
from fluxolab.engine.context import Item
from fluxolab.engine.graph import Graph
from fluxolab.engine.storage import detached_copy

VERSION = 1


class StateError(Exception):
    """A resume state that does not belong to this definition or is malformed."""


@dataclass
class Progress:
    """Mutable bookkeeping of one run: what is pending, what ran, what waits."""

    pending: dict[int, dict[str, list[Item]]] = field(default_factory=dict)
    pending_mask: int = 0
    runs: int = 0
    elapsed_before_s: float = 0.0  # active run time spent before this call
    started_at: str | None = None  # ISO time the run first started
    last_output: list[Item] = field(default_factory=list)
    resume_index: int | None = None  # the waiting node to run first, with the resume payload

    def add(self, index: int, port: str, items: list[Item]) -> None:
        """Queue ``items`` for ``index``'s input ``port`` (never mutating a delivered list)."""
        slot = self.pending.setdefault(index, {})
        existing = slot.get(port)
        slot[port] = items if existing is None else existing + items
        self.pending_mask |= 1 << index

    def take(self, index: int) -> dict[str, list[Item]]:
        """Remove and return everything queued for ``index``."""
        self.pending_mask &= ~(1 << index)
        return self.pending.pop(index, {})


def snapshot(
    graph: Graph,
    progress: Progress,
    env: RunEnv,
    elapsed_s: float,
    waiting: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a detached, JSON-ready state from which ``run`` can continue."""
    nodes = graph.nodes
    outputs = {
        node.id: env.node_outputs[graph.output_keys[node.index][0]]
        for node in nodes
        if graph.referenced >> node.index & 1
        and graph.output_keys[node.index][0] in env.node_outputs
    }
    state = {
        "version": VERSION,
        "pending": {nodes[index].id: ports for index, ports in progress.pending.items()},
        "nodeStates": {key: value for key, value in env.node_states.items() if value},
        "outputs": outputs,
        "response": env.response,
        "credentials": sorted(env.credential_ids),  # ids only: the values are re-resolved
        "runs": progress.runs,
        "elapsedS": elapsed_s,
        "startedAt": progress.started_at,
        "lastOutput": progress.last_output,
        "waiting": waiting,
    }
    return dict(detached_copy(state))


def _node_index(graph: Graph, node_id: Any) -> int:
    """Return the index of a node named in a state; raises StateError when unknown."""
    node = graph.by_id.get(node_id) if isinstance(node_id, str) else None
    if node is None:
        raise StateError(f"State refers to node '{node_id}', which is not in the workflow")
    return node.index


def _restore_pending(graph: Graph, state: Mapping[str, Any], progress: Progress) -> None:
    """Put the state's queued items back in ``progress``."""
    for node_id, ports in (state.get("pending") or {}).items():
        index = _node_index(graph, node_id)
        for port, items in ports.items():
            progress.add(index, port, list(items))


def _restore_env(graph: Graph, state: Mapping[str, Any], env: RunEnv) -> None:
    """Put loop bookkeeping, readable outputs, the response and the secrets to mask back."""
    for node_id, node_state in (state.get("nodeStates") or {}).items():
        _node_index(graph, node_id)
        env.node_states[node_id] = dict(node_state)
    for node_id, items in (state.get("outputs") or {}).items():
        for key in graph.output_keys[_node_index(graph, node_id)]:
            env.node_outputs[key] = list(items)
    env.response = state.get("response")
    resolver = env.ctx.services.get("credentials")
    for credential_id in state.get("credentials") or []:
        found = resolver.get(str(credential_id)) if resolver is not None else None
        if found is not None:  # items from before the pause may still carry its secret
            env.remember(found)


def restore(graph: Graph, raw: Mapping[str, Any], env: RunEnv) -> Progress:
    """Rebuild the run's bookkeeping from a snapshot; raises StateError when it does not fit."""
    if not isinstance(raw, Mapping) or raw.get("version") != VERSION:
        raise StateError("Resume state is missing or has an unknown version")
    state = detached_copy(raw)
    try:
        progress = Progress(
            runs=int(state.get("runs") or 0),
            elapsed_before_s=float(state.get("elapsedS") or 0.0),
            started_at=state.get("startedAt"),
            last_output=list(state.get("lastOutput") or []),
        )
        _restore_pending(graph, state, progress)
        _restore_env(graph, state, env)
        waiting = state.get("waiting")
        if waiting:
            index = _node_index(graph, waiting.get("nodeId"))
            for port, items in (waiting.get("inputs") or {}).items():
                progress.add(index, port, list(items))
            progress.resume_index = index
    except (AttributeError, TypeError, ValueError) as exc:
        raise StateError(f"Resume state is malformed: {exc}") from exc
    return progress
