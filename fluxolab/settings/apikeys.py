"""Workspace API keys: create, rotate, revoke, list. Only the SHA-256 of a token is stored.

A token is ``flx_`` plus 48 hex characters (192 random bits), shown once at creation and
at each rotation. ``key_preview`` keeps its first and last four characters (``flx_...abcd``).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from fluxolab import audit
from fluxolab.auth.actor import Actor
from fluxolab.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from fluxolab.extensions import db
from fluxolab.models import API_KEY_SCOPES, ApiKey, User, WorkspaceMember, utcnow

TOKEN_PREFIX = "flx_"  # noqa: S105 (a prefix, not a secret)
TOKEN_HEX_CHARS = 48
MAX_ACTIVE_KEYS = 100
DEFAULT_LABEL = "API Key"


def new_token() -> str:
    """Return a fresh API token: ``flx_`` + 48 hex characters."""
    return TOKEN_PREFIX + secrets.token_hex(TOKEN_HEX_CHARS // 2)


def token_hash(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def preview(token: str) -> str:
    """The first and last four characters of a token, like ``flx_...abcd``."""
    return f"{token[:4]}...{token[-4:]}"


def key_status(key: ApiKey, now: datetime | None = None) -> str:
    """``revoked``, ``expired`` (active but past ``expires_at``) or ``active``."""
    if key.status != "active":
        return key.status
    if key.expires_at is not None and key.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def check_scopes(scopes: list[str]) -> list[str]:
    """Return the scopes without duplicates (order kept); ``ValidationFailed`` for others."""
    unknown = [scope for scope in scopes if scope not in API_KEY_SCOPES]
    if unknown:
        raise ValidationFailed(
            f"Escopo invalido: {', '.join(sorted(set(unknown)))}. "
            f"Escopos permitidos: {', '.join(API_KEY_SCOPES)}.",
            errors={"scopes": [f"Must be among: {', '.join(API_KEY_SCOPES)}."]},
        )
    if not scopes:
        raise ValidationFailed(
            "Informe ao menos um escopo.", errors={"scopes": ["At least one scope is required."]}
        )
    return list(dict.fromkeys(scopes))


def key_view(key: ApiKey, creator: User | None, creator_is_member: bool = True) -> dict[str, Any]:
    """Return one key as the summary lists it (never the token or its hash).

    A key whose creator is no longer a member reads ``inactive``: it authenticates nothing.
    """
    status = key_status(key)
    return {
        "id": key.id,
        "label": key.label,
        "keyPreview": key.key_preview,
        "scopes": list(key.scopes or []),
        "status": "inactive" if status == "active" and not creator_is_member else status,
        "createdAt": key.created_at,
        "lastUsedAt": key.last_used_at,
        "expiresAt": key.expires_at,
        "createdBy": {"id": creator.id, "email": creator.email} if creator else None,
    }


def list_keys(workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    """Return the workspace's keys that were not revoked, newest first."""
    rows = db.session.execute(
        select(ApiKey, User, WorkspaceMember.id)
        .outerjoin(User, User.id == ApiKey.created_by)
        .outerjoin(
            WorkspaceMember,
            and_(
                WorkspaceMember.user_id == ApiKey.created_by,
                WorkspaceMember.workspace_id == ApiKey.workspace_id,
            ),
        )
        .where(ApiKey.workspace_id == workspace_id, ApiKey.status != "revoked")
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
    ).all()
    return [key_view(key, creator, member is not None) for key, creator, member in rows]


def create_key(
    actor: Actor, label: str | None, scopes: list[str], expires_at: datetime | None
) -> tuple[str, dict[str, Any]]:
    """Create a key; return its token (shown once) and its view.

    Raises ``ValidationFailed`` for unknown scopes or an expiry in the past, ``Conflict``
    past ``MAX_ACTIVE_KEYS`` active keys.
    """
    scopes = check_scopes(scopes)
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed(
            "A data de expiracao deve estar no futuro.",
            errors={"expiresAt": ["Must be in the future."]},
        )
    active = db.session.execute(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.workspace_id == actor.workspace_id, ApiKey.status == "active")
    ).scalar_one()
    if active >= MAX_ACTIVE_KEYS:
        raise Conflict(f"Limite de {MAX_ACTIVE_KEYS} chaves ativas atingido; revogue alguma.")
    token = new_token()
    key = ApiKey(
        id=uuid.uuid4(),
        workspace_id=actor.workspace_id,
        label=(label or "").strip() or DEFAULT_LABEL,
        key_hash=token_hash(token),
        key_preview=preview(token),
        scopes=scopes,
        status="active",
        created_by=actor.user_id,
        expires_at=expires_at,
    )
    db.session.add(key)
    audit.record(
        "api_key.created",
        ("api_key", key.id),
        None,
        {"label": key.label, "scopes": scopes, "expiresAt": expires_at},
    )
    db.session.commit()
    return token, key_view(key, db.session.get(User, actor.user_id))


def _active_key(workspace_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """Lock and return a key of this workspace that is not revoked, or raise ``NotFound``."""
    key = db.session.execute(
        select(ApiKey)
        .where(
            ApiKey.id == key_id,
            ApiKey.workspace_id == workspace_id,
            ApiKey.status != "revoked",
        )
        .with_for_update()
    ).scalar_one_or_none()
    if key is None:
        raise NotFound("Chave de API nao encontrada.")
    return key


def rotate_key(workspace_id: uuid.UUID, key_id: uuid.UUID) -> str:
    """Give a key a new token; the old one stops matching at once. Returns the new token.

    Raises ``NotFound`` for a revoked key or another workspace's, ``Conflict`` for an
    expired one (create a new key instead).
    """
    key = _active_key(workspace_id, key_id)
    if key_status(key) == "expired":
        raise Conflict("Chave expirada; crie uma nova chave.", code="api_key_expired")
    token = new_token()
    key.key_hash = token_hash(token)
    key.key_preview = preview(token)
    key.rotated_at = utcnow()
    audit.record("api_key.rotated", ("api_key", key.id), None, {"label": key.label})
    db.session.commit()
    return token


def revoke_key(workspace_id: uuid.UUID, key_id: uuid.UUID) -> None:
    """Revoke a key: its token stops working and it leaves the list."""
    key = _active_key(workspace_id, key_id)
    audit.record(
        "api_key.revoked", ("api_key", key.id), {"status": key.status}, {"status": "revoked"}
    )
    key.status = "revoked"
    key.revoked_at = utcnow()
    db.session.commit()


# --- authentication --------------------------------------------------------------------------

LAST_USED_RESOLUTION = timedelta(seconds=60)


def _touch(key: ApiKey, now: datetime) -> None:
    """Record ``last_used_at``, at most once a minute per key (one conditional UPDATE)."""
    db.session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key.id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def resolve_key_actor(token: str, scope: str | None, workspace_header: str | None) -> Actor:
    """Authenticate a request by API key: the key's creator, with their current role.

    Raises ``Unauthorized`` for an unknown, revoked or expired key or one whose creator is
    no longer a member of its workspace; ``Forbidden`` when the route takes no API key
    (``scope`` None) or the key lacks ``scope``; ``NotFound`` when ``X-Workspace-Id`` names
    another workspace than the key's.
    """
    row = db.session.execute(
        select(ApiKey, WorkspaceMember.role)
        .outerjoin(
            WorkspaceMember,
            and_(
                WorkspaceMember.user_id == ApiKey.created_by,
                WorkspaceMember.workspace_id == ApiKey.workspace_id,
            ),
        )
        .where(ApiKey.key_hash == token_hash(token))
    ).first()
    now = utcnow()
    if row is None or row[0].status != "active":
        raise Unauthorized("Chave de API invalida ou revogada.", code="api_key_invalid")
    key, role = row[0], row[1]
    if key_status(key, now) == "expired":
        raise Unauthorized("Chave de API expirada.", code="api_key_expired")
    if role is None or key.created_by is None:
        raise Unauthorized(
            "O criador desta chave de API nao e mais membro do workspace.",
            code="api_key_orphaned",
        )
    if scope is None:
        raise Forbidden("Chaves de API nao sao aceitas nesta rota.", code="api_key_not_allowed")
    if scope not in (key.scopes or []):
        raise Forbidden(f"A chave de API nao tem o escopo '{scope}'.", code="insufficient_scope")
    if workspace_header and workspace_header != str(key.workspace_id):
        raise NotFound("Workspace nao encontrado.")
    _touch(key, now)
    return Actor(
        user_id=key.created_by,
        workspace_id=key.workspace_id,
        role=role,
        session_id=key.id,
        api_key_id=key.id,
    )
