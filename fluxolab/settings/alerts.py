"""Usage alerts: CRUD, and their evaluation by the ``maintenance.evaluate_usage_alerts`` job.

An alert compares one metric of the current usage period (``executions``, ``webhooks``:
webhook calls, ``workflows``: active workflows, ``users``: members) with a threshold. When
the condition holds it fires, at most once per ``window``: the firing is recorded in
``last_triggered_at`` / ``last_value`` by a conditional UPDATE, so two evaluators running
at once (two beats, a slow tick) record one firing.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, update

from fluxolab import audit
from fluxolab.errors import Conflict, NotFound, ValidationFailed
from fluxolab.extensions import db
from fluxolab.models import UsageAlert, Workspace, utcnow
from fluxolab.settings import usage

log = logging.getLogger(__name__)

WINDOW_PATTERN = re.compile(r"^([1-9][0-9]{0,3})([mhd])$")
WINDOW_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
MAX_WINDOW = timedelta(days=365)
MAX_ALERTS = 50
FIELDS = {
    "metric": "metric",
    "threshold": "threshold",
    "condition": "condition",
    "window": "window",
    "channel": "channel",
    "enabled": "enabled",
    "metadata": "alert_metadata",
}


def window_length(window: str) -> timedelta:
    """Parse ``30m``, ``24h``, ``7d`` ...; ``ValidationFailed`` for anything else."""
    match = WINDOW_PATTERN.match(window)
    length = int(match.group(1)) * WINDOW_UNITS[match.group(2)] if match else None
    if length is None or length > MAX_WINDOW:
        raise ValidationFailed(
            "Janela invalida: use minutos, horas ou dias, como 30m, 24h ou 7d (ate 365d).",
            errors={"window": ["Must look like 30m, 24h or 7d, at most 365d."]},
        )
    return length


def alert_view(alert: UsageAlert) -> dict[str, Any]:
    """Return one alert as the Settings screen reads it (``threshold`` a number)."""
    return {
        "id": alert.id,
        "metric": alert.metric,
        "threshold": float(alert.threshold),
        "condition": alert.condition,
        "window": alert.window,
        "channel": alert.channel,
        "enabled": alert.enabled,
        "metadata": dict(alert.alert_metadata or {}),
        "lastTriggeredAt": alert.last_triggered_at,
        "lastValue": float(alert.last_value) if alert.last_value is not None else None,
        "createdAt": alert.created_at,
        "updatedAt": alert.updated_at,
    }


def _audited(alert: UsageAlert) -> dict[str, Any]:
    """The settings of an alert the audit trail records (no timestamps, no firing state)."""
    view = alert_view(alert)
    return {
        key: view[key]
        for key in ("metric", "threshold", "condition", "window", "channel", "enabled", "metadata")
    }


def list_alerts(workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    """Return the workspace's alerts, oldest first."""
    rows = db.session.execute(
        select(UsageAlert)
        .where(UsageAlert.workspace_id == workspace_id)
        .order_by(UsageAlert.created_at, UsageAlert.id)
    ).scalars()
    return [alert_view(alert) for alert in rows]


def _apply(alert: UsageAlert, changes: dict[str, Any]) -> None:
    if "window" in changes:
        window_length(changes["window"])
    for key, attribute in FIELDS.items():
        if key in changes:
            value = changes[key]
            setattr(alert, attribute, Decimal(str(value)) if key == "threshold" else value)


def create_alert(
    workspace_id: uuid.UUID, user_id: uuid.UUID, body: dict[str, Any]
) -> dict[str, Any]:
    """Create an alert (``Conflict`` past ``MAX_ALERTS``, ``ValidationFailed`` for a bad window)."""
    count = db.session.execute(
        select(func.count()).select_from(UsageAlert).where(UsageAlert.workspace_id == workspace_id)
    ).scalar_one()
    if count >= MAX_ALERTS:
        raise Conflict(f"Limite de {MAX_ALERTS} alertas por workspace atingido.")
    alert = UsageAlert(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        created_by=user_id,
        window="24h",
        channel="email",
        enabled=True,
        alert_metadata={},
    )
    _apply(alert, body)
    db.session.add(alert)
    audit.record("usage_alert.created", ("usage_alert", alert.id), None, _audited(alert))
    db.session.commit()
    return alert_view(alert)


def _alert(workspace_id: uuid.UUID, alert_id: uuid.UUID) -> UsageAlert:
    alert = db.session.execute(
        select(UsageAlert).where(UsageAlert.id == alert_id, UsageAlert.workspace_id == workspace_id)
    ).scalar_one_or_none()
    if alert is None:
        raise NotFound("Alerta nao encontrado.")
    return alert


def update_alert(
    workspace_id: uuid.UUID, alert_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change an alert; absent fields are kept. ``NotFound`` outside the workspace."""
    alert = _alert(workspace_id, alert_id)
    before = _audited(alert)
    _apply(alert, changes)
    audit.record("usage_alert.updated", ("usage_alert", alert.id), before, _audited(alert))
    db.session.commit()
    return alert_view(alert)


def delete_alert(workspace_id: uuid.UUID, alert_id: uuid.UUID) -> None:
    """Delete an alert. ``NotFound`` outside the workspace."""
    alert = _alert(workspace_id, alert_id)
    audit.record("usage_alert.deleted", ("usage_alert", alert.id), _audited(alert))
    db.session.delete(alert)
    db.session.commit()


# --- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation pass did."""

    checked: int
    fired: int


def condition_holds(condition: str, value: Decimal, threshold: Decimal) -> bool:
    """Compare a usage value with a threshold."""
    if condition == "greater_than":
        return value > threshold
    if condition == "less_than":
        return value < threshold
    return value == threshold


def _record_firing(alert: UsageAlert, value: Decimal, now: datetime) -> bool:
    """Record a firing unless one was recorded within the alert's window (conditional)."""
    since = now - window_length(alert.window)
    result = db.session.execute(
        update(UsageAlert)
        .where(
            UsageAlert.id == alert.id,
            UsageAlert.enabled.is_(True),
            or_(UsageAlert.last_triggered_at.is_(None), UsageAlert.last_triggered_at <= since),
        )
        .values(last_triggered_at=now, last_value=value)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def evaluate_alerts(now: datetime | None = None) -> Evaluation:
    """Check every enabled alert against its workspace's current usage; record firings.

    Usage is computed once per workspace. An alert whose window string no longer parses
    is skipped (and logged), never fatal to the others.
    """
    now = now or utcnow()
    alerts = list(
        db.session.execute(
            select(UsageAlert)
            .where(UsageAlert.enabled.is_(True))
            .order_by(UsageAlert.workspace_id, UsageAlert.id)
        ).scalars()
    )
    current: dict[uuid.UUID, usage.Usage] = {}
    fired = 0
    for alert in alerts:
        if alert.workspace_id not in current:
            workspace = db.session.get(Workspace, alert.workspace_id)
            if workspace is None:
                continue
            current[alert.workspace_id] = usage.current_usage(workspace, now)
        value = Decimal(current[alert.workspace_id].metric(alert.metric))
        if not condition_holds(alert.condition, value, alert.threshold):
            continue
        try:
            recorded = _record_firing(alert, value, now)
        except ValidationFailed:
            log.warning("usage alert %s has an invalid window %r", alert.id, alert.window)
            continue
        if recorded:
            fired += 1
            log.info(
                "usage alert %s fired: %s %s %s (value %s)",
                alert.id,
                alert.metric,
                alert.condition,
                alert.threshold,
                value,
            )
    db.session.commit()
    return Evaluation(checked=len(alerts), fired=fired)
