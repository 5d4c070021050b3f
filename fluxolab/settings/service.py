"""The Settings summary, the public plan list, plan changes and cancellation.

Plan changes and cancellations are recorded (``workspace_billing_events``) and applied to the
workspace (``plan_id``, ``subscription_status``, ``renews_at``); no payment is processed.
Limits always come from the workspace's plan. Settings-screen lists that have no table of
their own (secret providers, SSO, LDAP, log destinations, community connectors, feature-gate
overrides) are read from ``workspace.settings``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from fluxolab import audit
from fluxolab.auth.actor import Actor
from fluxolab.errors import Conflict, NotFound, ValidationFailed
from fluxolab.extensions import db
from fluxolab.models import BillingEvent, Plan, Workspace, utcnow
from fluxolab.settings import apikeys, environments, gates, usage
from fluxolab.workspaces import service as workspaces

CURRENCY = re.compile(r"^[A-Z]{3}$")
DEFAULT_CURRENCY = "BRL"
INTERVALS = {"month": timedelta(days=30), "year": timedelta(days=365)}
LIMIT_KEYS = ("workspaces", "users", "webhook")
CENTS = Decimal("0.01")
# settings key: (entry keys), the contract's lists stored in workspace settings
STORED_LISTS = {
    "secretProviders": ("provider", "status", "lastSyncedAt"),
    "ssoProviders": ("provider", "status", "enabledAt", "disabledAt"),
    "logDestinations": ("destination", "status", "lastStreamedAt", "details"),
    "communityConnectors": ("name", "author", "status", "createdAt"),
}
LDAP_KEYS = ("status", "host", "baseDn", "lastSyncedAt")


def currency_of(plan: Plan) -> str:
    """The plan's ISO currency code; never empty (the UI's ``Intl.NumberFormat`` needs one)."""
    code = (plan.currency or "").strip().upper()
    return code if CURRENCY.match(code) else DEFAULT_CURRENCY


def price_for(plan: Plan, interval: str) -> Decimal:
    """The plan's price per billing interval (a year costs twelve months)."""
    price = Decimal(plan.price_amount or 0)
    return (
        price * 12 if interval == "year" and plan.billing_interval == "month" else price
    ).quantize(CENTS)


def plan_limits(plan: Plan) -> dict[str, int | None]:
    """``{workspaces, users, webhook}``: numbers, or null for unlimited."""
    limits = plan.limits or {}
    return {key: _int_or_none(limits.get(key)) for key in LIMIT_KEYS}


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def plan_view(plan: Plan) -> dict[str, Any]:
    """One plan of the public list."""
    return {
        "code": plan.code,
        "name": plan.name,
        "description": plan.description,
        "priceAmount": float(Decimal(plan.price_amount or 0)),
        "currency": currency_of(plan),
        "billingInterval": plan.billing_interval,
        "trialDays": plan.trial_days,
        "features": [str(feature) for feature in plan.features or []],
        "limits": plan_limits(plan),
        "popular": plan.popular,
    }


def available_plans() -> list[dict[str, Any]]:
    """Return the active plans ordered by rank."""
    rows = db.session.execute(
        select(Plan).where(Plan.is_active.is_(True)).order_by(Plan.rank, Plan.code)
    ).scalars()
    return [plan_view(plan) for plan in rows]


def plan_of(workspace: Workspace) -> Plan:
    plan = db.session.get(Plan, workspace.plan_id)
    if plan is None:  # plan_id is a foreign key: only a broken database gets here
        raise NotFound("Plano do workspace nao encontrado.")
    return plan


def _interval_of(workspace: Workspace, plan: Plan) -> str:
    stored = (workspace.settings or {}).get("billingInterval")
    return stored if stored in INTERVALS else plan.billing_interval


def workspace_plan_view(workspace: Workspace, plan: Plan) -> dict[str, Any]:
    """``summary.plan``: the plan with both ``code`` and ``planCode``, and the subscription."""
    interval = _interval_of(workspace, plan)
    return {
        "id": plan.id,
        "code": plan.code,
        "planCode": plan.code,
        "name": plan.name,
        "description": plan.description,
        "priceAmount": float(price_for(plan, interval)),
        "currency": currency_of(plan),
        "billingInterval": interval,
        "trialDays": plan.trial_days,
        "limits": plan_limits(plan),
        "features": gates.enabled_features(plan.rank),
        "highlights": [str(feature) for feature in plan.features or []],
        "subscriptionStatus": workspace.subscription_status,
        "trialEndsAt": workspace.trial_ends_at,
        "renewsAt": workspace.renews_at,
    }


def _entry(value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """Keep the known keys of a stored entry; scalars become strings, absent ones null."""
    found: dict[str, Any] = {}
    for key in keys:
        item = value.get(key)
        found[key] = item if item is None or isinstance(item, dict) else str(item)
    return found


def _stored_lists(settings: dict[str, Any]) -> dict[str, Any]:
    lists: dict[str, Any] = {}
    for name, keys in STORED_LISTS.items():
        entries = settings.get(name)
        entries = entries if isinstance(entries, list) else []
        lists[name] = [_entry(item, keys) for item in entries if isinstance(item, dict)]
    ldap = settings.get("ldap")
    lists["ldap"] = _entry(ldap, LDAP_KEYS) if isinstance(ldap, dict) else None
    return lists


def summary(workspace_id: uuid.UUID) -> dict[str, Any]:
    """Return the whole Settings summary of the workspace (contract 3.4)."""
    workspace = workspaces.get_workspace(workspace_id)
    plan = plan_of(workspace)
    current = usage.current_usage(workspace)
    settings = workspace.settings or {}
    return {
        "workspaceId": workspace.id,
        "plan": workspace_plan_view(workspace, plan),
        "usage": {
            "workflowsActive": current.workflows_active,
            "usersActive": current.users_active,
            "webhookEvents": current.webhook_events,
            "executions": current.executions,
            "periodStart": current.period_start,
            "collectedAt": current.collected_at,
        },
        "apiKeys": apikeys.list_keys(workspace.id),
        "environments": environments.list_environments(workspace.id),
        "featureGates": gates.feature_gates(plan.rank, settings),
        **_stored_lists(settings),
    }


# --- plan changes and cancellation ----------------------------------------------------------


def _locked_workspace(workspace_id: uuid.UUID) -> Workspace:
    workspace = db.session.execute(
        select(Workspace).where(Workspace.id == workspace_id).with_for_update()
    ).scalar_one_or_none()
    if workspace is None:
        raise NotFound("Workspace nao encontrado.")
    return workspace


def _target_plan(code: str) -> Plan:
    try:
        return workspaces.plan_by_code(code)
    except NotFound as exc:
        raise ValidationFailed(
            f"Plano '{code}' nao existe ou nao esta disponivel.",
            errors={"planCode": ["Unknown or inactive plan."]},
        ) from exc


def _prorated(
    old: Decimal, new: Decimal, renews_at: datetime | None, now: datetime, interval: str
) -> Decimal:
    """The share of the price difference for what is left of the current billing cycle."""
    if renews_at is None or renews_at <= now or new <= old:
        return Decimal("0.00")
    left = min(Decimal(1), Decimal((renews_at - now) / INTERVALS[interval]))
    return ((new - old) * left).quantize(CENTS, rounding=ROUND_HALF_UP)


def _check_fits(workspace: Workspace, plan: Plan) -> None:
    """A plan whose user limit is below the current member count is a ``Conflict``."""
    limit = plan_limits(plan)["users"]
    members = usage.member_count(workspace.id)
    if limit is not None and members > limit:
        raise Conflict(
            f"O plano {plan.name} permite {limit} usuarios e o workspace tem {members}; "
            "remova membros antes de mudar de plano.",
            code="plan_limit_users",
        )


def change_plan(
    actor: Actor, plan_code: str, interval: str | None, immediate: bool
) -> dict[str, Any]:
    """Move the workspace to another plan now, record it, and return the billing answer.

    ``immediate`` bills the prorated difference of the current cycle now; otherwise the new
    price starts at the next billing date. Raises ``ValidationFailed`` for an unknown plan,
    ``Conflict`` for the plan already held (same interval, active) or one too small for the
    current members.
    """
    workspace = _locked_workspace(actor.workspace_id)
    current = plan_of(workspace)
    plan = _target_plan(plan_code)
    old_interval = _interval_of(workspace, current)
    interval = interval or old_interval
    if (plan.id, interval, workspace.subscription_status) == (current.id, old_interval, "active"):
        raise Conflict(f"O workspace ja esta no plano {plan.name}.", code="same_plan")
    _check_fits(workspace, plan)
    now = utcnow()
    renews_at = workspace.renews_at if workspace.subscription_status == "active" else None
    old_price, new_price = price_for(current, old_interval), price_for(plan, interval)
    amount = (
        _prorated(old_price, new_price, renews_at, now, old_interval)
        if immediate
        else Decimal("0.00")
    )
    if renews_at is None or renews_at <= now or interval != old_interval:
        renews_at = now + INTERVALS[interval]
    before = {"planCode": current.code, "billingInterval": old_interval}
    before["subscriptionStatus"] = workspace.subscription_status
    after = {"planCode": plan.code, "billingInterval": interval, "subscriptionStatus": "active"}
    audit.record("plan.changed", ("workspace", workspace.id), before, after)
    workspace.plan_id = plan.id
    workspace.subscription_status = "active"
    workspace.trial_ends_at = None
    workspace.renews_at = renews_at if new_price > 0 else None
    kept = {k: v for k, v in (workspace.settings or {}).items() if k != "cancellation"}
    workspace.settings = {**kept, "planCode": plan.code, "billingInterval": interval}
    _record(workspace, actor, "plan_change", current.code, plan, interval, immediate, amount)
    db.session.commit()
    upgrade = new_price >= old_price
    return {
        "status": "ok",
        "success": True,
        "newPlan": plan_view(plan),
        "billingInfo": {
            "nextBillingDate": workspace.renews_at,
            "proratedAmount": float(amount),
            "currency": currency_of(plan),
        },
        "message": f"Plano alterado para {plan.name}."
        if upgrade
        else f"Plano alterado para {plan.name} (reducao).",
    }


def _record(
    workspace: Workspace,
    actor: Actor,
    kind: str,
    from_code: str | None,
    plan: Plan | None,
    interval: str | None,
    immediate: bool,
    amount: Decimal,
    reason: str | None = None,
) -> None:
    db.session.add(
        BillingEvent(
            workspace_id=workspace.id,
            kind=kind,
            from_plan_code=from_code,
            to_plan_code=plan.code if plan else None,
            billing_interval=interval,
            immediate=immediate,
            amount=amount,
            currency=currency_of(plan) if plan else DEFAULT_CURRENCY,
            reason=reason,
            created_by=actor.user_id,
            created_at=utcnow(),
        )
    )


def cancel_subscription(actor: Actor, reason: str | None, immediate: bool) -> dict[str, Any]:
    """Cancel the workspace's subscription (``subscription_status = canceled``) and record it.

    ``immediate`` ends it now; otherwise it ends at the current renewal date (access until
    then, no further renewal). Raises ``Conflict`` when it is already canceled.
    """
    workspace = _locked_workspace(actor.workspace_id)
    if workspace.subscription_status == "canceled":
        raise Conflict("A assinatura ja esta cancelada.", code="already_canceled")
    plan = plan_of(workspace)
    now = utcnow()
    ends_at = workspace.renews_at if workspace.renews_at and workspace.renews_at > now else now
    if immediate:
        ends_at = now
    audit.record(
        "subscription.canceled",
        ("workspace", workspace.id),
        {"subscriptionStatus": workspace.subscription_status},
        {"subscriptionStatus": "canceled", "immediate": immediate, "endsAt": ends_at},
    )
    workspace.subscription_status = "canceled"
    workspace.renews_at = None
    workspace.settings = {
        **(workspace.settings or {}),
        "cancellation": {
            "reason": reason,
            "immediate": immediate,
            "requestedAt": now.isoformat(),
            "endsAt": ends_at.isoformat(),
        },
    }
    _record(workspace, actor, "cancel", plan.code, None, None, immediate, Decimal("0.00"), reason)
    db.session.commit()
    return {
        "status": "ok",
        "success": True,
        "subscriptionStatus": "canceled",
        "endsAt": ends_at,
        "message": "Assinatura cancelada."
        if immediate
        else f"Assinatura cancelada; acesso ate {ends_at:%d/%m/%Y}.",
    }


def feature_gates(workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    """Return the workspace's feature gates (the summary's ``featureGates``)."""
    workspace = workspaces.get_workspace(workspace_id)
    return gates.feature_gates(plan_of(workspace).rank, workspace.settings or {})


def request_feature_access(actor: Actor, feature_id: str, reason: str | None) -> dict[str, Any]:
    """Record a request for access to a gated feature in the workspace settings."""
    if feature_id not in gates.DEFAULT_GATE_IDS:
        raise ValidationFailed(
            f"Recurso '{feature_id}' desconhecido.",
            errors={"featureId": [f"Must be one of: {', '.join(gates.DEFAULT_GATE_IDS)}."]},
        )
    workspace = _locked_workspace(actor.workspace_id)
    settings, entry = gates.request_access(
        workspace.settings or {}, feature_id, reason, str(actor.user_id), utcnow().isoformat()
    )
    workspace.settings = settings
    audit.record(
        "settings.feature_requested", ("workspace", workspace.id), None, {"featureId": feature_id}
    )
    db.session.commit()
    return entry


def billing_history(workspace_id: uuid.UUID, limit: int = 100) -> list[dict[str, Any]]:
    """Return the recorded plan changes and cancellations, newest first."""
    rows = db.session.execute(
        select(BillingEvent)
        .where(BillingEvent.workspace_id == workspace_id)
        .order_by(BillingEvent.created_at.desc(), BillingEvent.id)
        .limit(limit)
    ).scalars()
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "fromPlan": row.from_plan_code,
            "toPlan": row.to_plan_code,
            "billingInterval": row.billing_interval,
            "immediate": row.immediate,
            "amount": float(row.amount),
            "currency": row.currency,
            "reason": row.reason,
            "createdAt": row.created_at,
        }
        for row in rows
    ]
