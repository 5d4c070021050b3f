"""The workflow runtime: pure Python, no Flask, no database session.

``run(definition, input_items, ctx, resume=None)`` runs a workflow and returns a ``RunResult``;
``run_node`` tests one node; ``validate_definition`` lists what keeps a definition from running;
``registry`` and ``catalog`` describe the node types.
"""

from fluxolab.engine import catalog
from fluxolab.engine.context import Checkpoint, Item, Limits, Resume, RunContext
from fluxolab.engine.issues import ValidationIssue
from fluxolab.engine.nodetest import run_node
from fluxolab.engine.nodetype import NodeType
from fluxolab.engine.records import RunResult, StepRecord
from fluxolab.engine.registry import NodeRegistry, registry
from fluxolab.engine.runner import run
from fluxolab.engine.validation import validate_definition

__all__ = [
    "Checkpoint",
    "Item",
    "Limits",
    "NodeRegistry",
    "NodeType",
    "Resume",
    "RunContext",
    "RunResult",
    "StepRecord",
    "ValidationIssue",
    "catalog",
    "registry",
    "run",
    "run_node",
    "validate_definition",
]
