"""The side channels a worker hands the engine for one run (``RunContext.services``).

``egress``: the egress guard built from the ``EGRESS_*`` settings. ``smtp_ca_file``: the extra
CA file SMTP connections trust (``SMTP_CA_FILE``, None when unset). ``credentials``: the
workspace's ``CredentialResolver`` (active credentials of that workspace only, decrypted on
demand). ``workflows``: the sub-workflow runner of the Execute Workflow node (runs only: a
node test has no execution to link a child to).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flask import current_app

from fluxolab.credentials.resolver import CredentialResolver
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
    services: dict[str, Any] = {
        "egress": egress(),
        "credentials": CredentialResolver(workspace_id, execution_id),
        "smtp_ca_file": current_app.config.get("SMTP_CA_FILE") or None,
    }
    if execution_id is not None:
        from fluxolab.executions.subworkflows import SubWorkflows

        services["workflows"] = SubWorkflows(workspace_id, execution_id, depth)
    return services


def record_usage(services: Mapping[str, Any]) -> None:
    """Write what the services observed during a run (credentials' ``last_used_at``).

    Sends the statements in the caller's transaction; the caller commits with its outcome.
    """
    resolver = services.get("credentials")
    if isinstance(resolver, CredentialResolver):
        resolver.record_usage()
