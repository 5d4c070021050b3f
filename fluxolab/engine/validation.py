"""``validate_definition`` and the compiled-graph cache used by every run.

Saving is permissive (the API's business); activation and runs use these checks: known node
types, params valid per each node's schema (after defaults), expression syntax, connections
between existing nodes and ports, cycles only through loop nodes, and a trigger for activation.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from fluxolab.engine.graph import Graph, compile_definition
from fluxolab.engine.issues import ValidationIssue
from fluxolab.engine.registry import registry

CACHE_SIZE = 256
_KEY_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=repr)
_cache: OrderedDict[str, tuple[Graph | None, list[ValidationIssue]]] = OrderedDict()
_lock = threading.Lock()


def _has_trigger(definition: Any) -> bool:
    """Return whether the definition holds an enabled node of a trigger type."""
    nodes = definition.get("nodes") if isinstance(definition, Mapping) else None
    for node in nodes if isinstance(nodes, list) else ():
        if not isinstance(node, Mapping) or node.get("disabled") is True:
            continue
        node_type = registry.get(node["type"]) if isinstance(node.get("type"), str) else None
        if node_type is not None and node_type.is_trigger:
            return True
    return False


def validate_definition(
    definition: Mapping[str, Any], *, for_activation: bool = True
) -> list[ValidationIssue]:
    """Return every problem that keeps the definition from running; empty means runnable."""
    _, issues = compiled(definition)
    issues = list(issues)
    if for_activation and isinstance(definition, Mapping) and not _has_trigger(definition):
        issues.append(ValidationIssue(None, "nodes", "The workflow needs a trigger node"))
    return issues


def _cache_key(definition: Any) -> str | None:
    """Return a canonical JSON text of the definition, or None when it cannot be encoded."""
    try:
        return _KEY_ENCODER.encode(definition)
    except (TypeError, ValueError, RecursionError):
        return None


def compiled(definition: Any) -> tuple[Graph | None, list[ValidationIssue]]:
    """Return the compiled graph and issues of a definition, cached by its canonical JSON.

    Graphs are immutable and shared across runs, so a definition is compiled once per process
    (up to ``CACHE_SIZE`` distinct definitions).
    """
    key = _cache_key(definition)
    if key is None:
        return compile_definition(definition)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    result = compile_definition(definition)
    with _lock:
        _cache[key] = result
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result
