"""Workflows with schedule triggers, made through the API, and what beat made of them."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from fluxolab.extensions import db
from fluxolab.models import Execution, Schedule, ScheduleFire
from tests.factories import Account


def schedule_flow(**params: Any) -> dict[str, Any]:
    """A schedule trigger followed by a no-op."""
    return {
        "nodes": [
            {
                "id": "tick",
                "type": "schedule",
                "params": {"interval": "minute", "value": 1, **params},
            },
            {"id": "end", "type": "no-op", "params": {}},
        ],
        "connections": [{"from": "tick", "to": "end"}],
    }


def create_flow(
    client: FlaskClient, owner: Account, definition: dict[str, Any], active: bool = True
) -> uuid.UUID:
    """Create a workflow (and activate it) over HTTP; return its id."""
    response = client.post(
        "/api/workflows", json={"name": "Agenda", "definition": definition}, headers=owner.headers
    )
    assert response.status_code == 201, response.get_json()
    workflow_id = uuid.UUID(response.get_json()["workflow"]["id"])
    if active:
        set_active(client, owner, workflow_id, True)
    return workflow_id


def set_active(client: FlaskClient, owner: Account, workflow_id: uuid.UUID, active: bool) -> None:
    response = client.patch(
        f"/api/workflows/{workflow_id}/status", json={"active": active}, headers=owner.headers
    )
    assert response.status_code == 200, response.get_json()


def schedule_of(workflow_id: uuid.UUID, node_id: str = "tick") -> Schedule:
    db.session.expire_all()
    return db.session.execute(
        select(Schedule).where(Schedule.workflow_id == workflow_id, Schedule.node_id == node_id)
    ).scalar_one()


def schedules_of(workflow_id: uuid.UUID) -> dict[str, Schedule]:
    db.session.expire_all()
    rows = db.session.scalars(select(Schedule).where(Schedule.workflow_id == workflow_id))
    return {row.node_id: row for row in rows}


def schedule_runs(workflow_id: uuid.UUID) -> list[Execution]:
    """The schedule-mode executions of a workflow, oldest first."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Execution)
            .where(Execution.workflow_id == workflow_id, Execution.mode == "schedule")
            .order_by(Execution.created_at)
        )
    )


def fires(workflow_id: uuid.UUID, status: str | None = None) -> list[ScheduleFire]:
    db.session.expire_all()
    query = select(ScheduleFire).where(ScheduleFire.workflow_id == workflow_id)
    if status is not None:
        query = query.where(ScheduleFire.status == status)
    return list(db.session.scalars(query.order_by(ScheduleFire.scheduled_for)))


def count_runs(workflow_id: uuid.UUID) -> int:
    return int(
        db.session.execute(
            select(func.count()).where(
                Execution.workflow_id == workflow_id, Execution.mode == "schedule"
            )
        ).scalar_one()
    )
