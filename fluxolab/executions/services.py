"""The side channels a worker hands the engine for one run (``RunContext.services``).

``egress``: the egress guard built from the ``EGRESS_*`` settings; ``workflows``: the
sub-workflow runner of the Execute Workflow node (runs only: a node test has no execution to
link a child to). Further entries (the workspace's credential resolver) are added here.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from flask import current_app

from fluxolab.egress import Egress, EgressPolicy


@lru_cache(maxsize=8)
def _egress(policy: EgressPolicy) -> Egress:
    return Egress(policy)


def egress() -> Egress:
    """Return the process's egress guard for the current configuration."""
    return _egress(EgressPolicy.from_config(current_app.config))


def run_services(
    workspace_id: uuid.UUID, *, execution_id: uuid.UUID | None = None, depth: int = 0
) -> dict[str, Any]:
    """Return the services of a run (``execution_id``, nested ``depth`` deep) or a node test."""
    services: dict[str, Any] = {"egress": egress()}
    if execution_id is not None:
        from fluxolab.executions.subworkflows import SubWorkflows

        services["workflows"] = SubWorkflows(workspace_id, execution_id, depth)
    return services
