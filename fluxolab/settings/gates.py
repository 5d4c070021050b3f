"""Feature gates of the Settings screen: six built-in gates, overridden from workspace settings.

A gate is ``available`` when the workspace's plan ranks at least the gate's required plan
(free 0, basico 1, intermediario 2, full 3), ``requires_upgrade`` otherwise. Entries stored
in ``workspace.settings["featureGates"]`` (a list of objects with an ``id``) are merged
over the defaults by id: a stored ``status`` such as ``configured`` wins.
"""

from __future__ import annotations

from typing import Any

# id, title, required plan code, copy
DEFAULT_GATES = (
    ("secrets", "Cofre de segredos", "full", "Conecte um cofre externo de segredos."),
    ("environments", "Ambientes", "intermediario", "Promova workflows entre ambientes."),
    ("sso", "Single sign-on (SSO)", "full", "Login corporativo com Google, Microsoft ou Okta."),
    ("ldap", "LDAP", "full", "Sincronize usuarios e grupos do diretorio da empresa."),
    ("logs", "Streaming de logs", "intermediario", "Envie logs para Datadog, Splunk e outros."),
    ("community", "Conectores da comunidade", "basico", "Instale conectores da comunidade."),
)
PLAN_RANKS = {"free": 0, "basico": 1, "intermediario": 2, "full": 3}
GATE_STATUSES = ("available", "requires_upgrade", "configured", "coming_soon")
GATE_KEYS = ("id", "title", "requiredPlan", "status", "copy")


def _stored(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    entries = settings.get("featureGates")
    if not isinstance(entries, list):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            found[entry["id"]] = {
                key: str(value) for key, value in entry.items() if key in GATE_KEYS
            }
    return found


def feature_gates(plan_rank: int, settings: dict[str, Any]) -> list[dict[str, str]]:
    """Return the six default gates (then any extra stored ones), merged by id."""
    stored = _stored(settings)
    gates = []
    for gate_id, title, required, copy in DEFAULT_GATES:
        allowed = plan_rank >= PLAN_RANKS[required]
        gate = {
            "id": gate_id,
            "title": title,
            "requiredPlan": required,
            "status": "available" if allowed else "requires_upgrade",
            "copy": copy,
        }
        gate.update(stored.pop(gate_id, {}))
        gates.append(gate)
    for gate_id, entry in stored.items():
        gates.append(
            {
                "id": gate_id,
                "title": entry.get("title", gate_id),
                "requiredPlan": entry.get("requiredPlan", "full"),
                "status": entry.get("status", "coming_soon"),
                "copy": entry.get("copy", ""),
            }
        )
    return gates


def enabled_features(plan_rank: int) -> dict[str, bool]:
    """The plan's feature flags by gate id (``summary.plan.features``)."""
    return {
        gate_id: plan_rank >= PLAN_RANKS[required] for gate_id, _t, required, _c in DEFAULT_GATES
    }


MAX_FEATURE_REQUESTS = 100


def request_access(
    settings: dict[str, Any], feature_id: str, reason: str | None, user_id: str, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return new workspace settings with an access request appended, and the request.

    Only the newest ``MAX_FEATURE_REQUESTS`` are kept. ``feature_id`` must be a default
    gate id (the caller validates it against ``DEFAULT_GATE_IDS``).
    """
    entry = {
        "featureId": feature_id,
        "reason": reason,
        "status": "pending",
        "requestedBy": user_id,
        "requestedAt": now,
    }
    previous = settings.get("featureRequests")
    kept = previous if isinstance(previous, list) else []
    return {**settings, "featureRequests": [*kept, entry][-MAX_FEATURE_REQUESTS:]}, entry


DEFAULT_GATE_IDS = tuple(gate_id for gate_id, _t, _r, _c in DEFAULT_GATES)
