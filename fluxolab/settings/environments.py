"""The workspace's deployment environments as the Settings screen lists them, and their status.

Activating an environment other than the sandbox needs a plan with the ``environments``
feature (intermediario and up); deactivating is always allowed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from fluxolab import audit
from fluxolab.errors import NotFound, PlanLimitExceeded
from fluxolab.extensions import db
from fluxolab.models import Environment, Plan, Workspace
from fluxolab.settings import gates

# the contract's words -> the stored status
STATUS_CHANGES = {"active": "ready", "inactive": "disabled"}
ALWAYS_ALLOWED_TYPE = "sandbox"


def environment_view(row: Environment) -> dict[str, Any]:
    """One environment: ``{id, name, slug, type, region, status, lastSyncedAt}``."""
    return {
        "id": row.id,
        "name": row.name,
        "slug": row.slug,
        "type": row.environment_type,
        "region": row.region,
        "status": row.status,
        "lastSyncedAt": row.last_synced_at,
    }


def list_environments(workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    """Return the workspace's environments in creation order."""
    rows = db.session.execute(
        select(Environment)
        .where(Environment.workspace_id == workspace_id)
        .order_by(Environment.created_at, Environment.slug)
    ).scalars()
    return [environment_view(row) for row in rows]


def set_status(workspace_id: uuid.UUID, environment_id: uuid.UUID, status: str) -> dict[str, Any]:
    """Activate (``ready``) or deactivate (``disabled``) an environment of the workspace.

    Raises ``NotFound`` outside the workspace and ``PlanLimitExceeded`` when activating a
    non-sandbox environment on a plan without the ``environments`` feature.
    """
    row = db.session.execute(
        select(Environment)
        .where(Environment.id == environment_id, Environment.workspace_id == workspace_id)
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("Ambiente nao encontrado.")
    if status == "active" and row.environment_type != ALWAYS_ALLOWED_TYPE:
        rank = db.session.execute(
            select(Plan.rank)
            .join(Workspace, Workspace.plan_id == Plan.id)
            .where(Workspace.id == workspace_id)
        ).scalar_one()
        if not gates.enabled_features(rank)["environments"]:
            raise PlanLimitExceeded(
                "Ambientes alem do sandbox exigem o plano Intermediario ou superior.",
                code="plan_feature_environments",
            )
    audit.record(
        "environment.status_changed",
        ("environment", row.id),
        {"status": row.status},
        {"status": STATUS_CHANGES[status]},
    )
    row.status = STATUS_CHANGES[status]
    db.session.commit()
    return environment_view(row)
