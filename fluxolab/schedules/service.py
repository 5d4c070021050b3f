"""Keep a workflow's schedule rows in step with its ``schedule`` trigger nodes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fluxolab.models import Workflow


def sync_workflow(workflow: Workflow, nodes: Sequence[Mapping[str, Any]], active: bool) -> None:
    """Create, update, enable or disable the schedules of ``workflow``'s ``schedule`` nodes.

    ``nodes`` are the enabled schedule trigger nodes of the current definition; ``active``
    says whether beat should fire them. Runs in the caller's transaction (no commit).
    """
    del workflow, nodes, active  # schedules are not stored yet
