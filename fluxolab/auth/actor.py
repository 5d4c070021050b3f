"""Resolve who is calling: session, user, workspace and role, read from the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, select

from fluxolab.errors import NotFound, TokenRevoked, Unauthorized
from fluxolab.extensions import db
from fluxolab.models import AuthSession, User, WorkspaceMember, utcnow

ROLE_RANK = {"viewer": 0, "editor": 1, "admin": 2, "owner": 3}


@dataclass(frozen=True)
class Actor:
    """The authenticated caller in the workspace this request acts on.

    A caller authenticated by an API key acts as the key's creator (``api_key_id`` set,
    ``session_id`` is then the key's id: API keys never reach the session routes).
    """

    user_id: uuid.UUID
    workspace_id: uuid.UUID
    role: str
    session_id: uuid.UUID
    api_key_id: uuid.UUID | None = None

    def has_role(self, minimum: str) -> bool:
        """Tell whether the caller's role ranks at least ``minimum``."""
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]


def _uuid(value: Any, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError) as exc:
        raise Unauthorized(f"Token de acesso invalido ({what}).", code="token_invalid") from exc


def _workspace_id(header: str | None, claims: dict[str, Any]) -> uuid.UUID:
    if not header:
        return _uuid(claims.get("workspaceId"), "workspace")
    try:
        return uuid.UUID(header)
    except ValueError as exc:
        raise NotFound("Workspace nao encontrado.") from exc


# Every authenticated request runs this: built once, with bound parameters.
_SESSION_AND_ROLE = (
    select(AuthSession.revoked_at, AuthSession.expires_at, WorkspaceMember.role)
    .join(User, User.id == AuthSession.user_id)
    .outerjoin(
        WorkspaceMember,
        and_(
            WorkspaceMember.user_id == User.id,
            WorkspaceMember.workspace_id == bindparam("workspace_id"),
        ),
    )
    .where(AuthSession.id == bindparam("session_id"), AuthSession.user_id == bindparam("user_id"))
)


def resolve_actor(claims: dict[str, Any], workspace_header: str | None) -> Actor:
    """Load the caller with one query; revoked sessions and lost memberships are refused.

    Raises ``TokenRevoked`` when the session was ended (logout, password reset) or the
    membership removed, ``NotFound`` for a workspace header the user is not a member of.
    """
    if claims.get("purpose") or claims.get("type") != "access":
        raise Unauthorized("Token de acesso invalido.", code="token_invalid")
    user_id = _uuid(claims.get("sub"), "sub")
    session_id = _uuid(claims.get("sid"), "sid")
    workspace_id = _workspace_id(workspace_header, claims)
    row = (
        db.session.connection()
        .execute(
            _SESSION_AND_ROLE,
            {"session_id": session_id, "user_id": user_id, "workspace_id": workspace_id},
        )
        .first()
    )
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise TokenRevoked()
    if row.role is None:
        if workspace_header:
            raise NotFound("Workspace nao encontrado.")
        raise TokenRevoked("Acesso a este workspace foi removido.")
    return Actor(user_id=user_id, workspace_id=workspace_id, role=row.role, session_id=session_id)
