"""The audit trail: ``record`` adds one ``audit_log`` row to the caller's transaction.

Services call ``record(action, target, before, after)`` right before their commit, so the
entry and the change it describes are committed (or rolled back) together. Who acted is
read from the request: the actor ``auth_required`` loaded (a user, or the API key acting
as its creator), with the client's IP and user agent; a route without an actor yet (login,
password reset) passes ``user_id`` and ``workspace_id``; outside a request (workers, beat,
CLI) the actor is the system. Values are masked before they are stored (``mask``).

Actions are ``<object>.<verb>`` strings: ``auth.login``, ``auth.login_failed``,
``auth.logout``, ``auth.password_reset``, ``auth.session_revoked``, ``member.invited``,
``member.role_changed``, ``member.removed``, ``credential.created`` / ``updated`` /
``deleted`` / ``used``, ``api_key.created`` / ``rotated`` / ``revoked``,
``workflow.activated`` / ``deactivated`` / ``deleted``, ``webhook.token_rotated``,
``plan.changed``, ``subscription.canceled``, ``usage_alert.created`` / ``updated`` /
``deleted``, ``settings.feature_requested``, ``environment.status_changed``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_request_context, request

from fluxolab.extensions import db
from fluxolab.models import AuditEntry, utcnow

MASK = "***"
# A key whose lower-cased name contains one of these has its value replaced by MASK.
SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "apikey",
    "api_key",
    "hash",
    "encrypted",
    "private",
    "signature",
    "code",
)
# Keys that contain a part above but name no secret (plan codes, role names ...).
NOT_SECRET_KEYS = {"plancode", "secretfields", "secretchanged"}

Target = tuple[str, Any]


def _is_secret(key: str) -> bool:
    name = key.lower().replace("-", "_")
    if name.replace("_", "") in NOT_SECRET_KEYS:
        return False
    return any(part in name for part in SECRET_KEY_PARTS)


def mask(value: Any) -> Any:
    """Return ``value`` as plain JSON with every secret-named key's value replaced by ``***``."""
    if isinstance(value, Mapping):
        return {
            str(key): MASK if _is_secret(str(key)) else mask(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [mask(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def diff(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Return the masked ``before``/``after`` reduced to the keys whose value changed."""
    old = mask(before) if before is not None else None
    new = mask(after) if after is not None else None
    if old is not None and new is not None:
        changed = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
        old = {key: value for key, value in old.items() if key in changed}
        new = {key: value for key, value in new.items() if key in changed}
    return old, new


def _request_actor() -> Any:
    """The actor ``auth_required`` stored for this request, if any."""
    return g.get("actor") if has_request_context() else None


def record(
    action: str,
    target: Target | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    *,
    user_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
    actor_type: str | None = None,
) -> AuditEntry:
    """Add one audit entry to the session (no flush, no commit: the caller's commit writes it).

    ``target`` is ``(type, id)``. ``user_id``/``workspace_id`` name the actor and workspace
    when the request has no authenticated actor (login, password reset); otherwise they
    come from the request's actor, or the entry is the system's. ``actor_type`` names the
    kind of an actor that has no id (a failed login with an e-mail of no account: ``user``).
    """
    actor = _request_actor()
    api_key_id = None
    if user_id is not None:
        actor_type = actor_type or "user"
    elif actor is not None:
        user_id, api_key_id = actor.user_id, actor.api_key_id
        actor_type = actor_type or ("api_key" if api_key_id is not None else "user")
        workspace_id = workspace_id or actor.workspace_id
    actor_type = actor_type or "system"
    old, new = diff(before, after)
    entry = AuditEntry(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        actor_type=actor_type,
        actor_user_id=user_id,
        actor_api_key_id=api_key_id,
        ip_address=_client_ip(),
        user_agent=_user_agent(),
        action=action,
        target_type=target[0] if target else None,
        target_id=str(target[1])[:64] if target and target[1] is not None else None,
        before=old,
        after=new,
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry


def _client_ip() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:45] or None


def _user_agent() -> str | None:
    if not has_request_context():
        return None
    return request.headers.get("User-Agent", "")[:255] or None
