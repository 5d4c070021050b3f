"""The side channels a worker hands the engine for one run (``RunContext.services``).

``egress``: the egress guard built from the ``EGRESS_*`` settings; ``smtp_ca_file``: the extra
CA file SMTP connections trust (``SMTP_CA_FILE``, None when unset). Further entries (the
workspace's credential resolver, sub-workflow runs) are added here, in one place.
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


def run_services(workspace_id: uuid.UUID) -> dict[str, Any]:
    """Return the services of a run (or a node test) in ``workspace_id``."""
    return {"egress": egress(), "smtp_ca_file": current_app.config.get("SMTP_CA_FILE") or None}
