"""Login sessions and the tokens tied to them: issue, rotate refresh tokens, revoke."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from jwt import PyJWTError
from sqlalchemy import update

from fluxolab import audit
from fluxolab.errors import TokenRevoked, Unauthorized
from fluxolab.extensions import db
from fluxolab.models import AuthSession, RefreshToken, User, utcnow


@dataclass(frozen=True)
class TokenPair:
    """An access token and the refresh token that can replace it."""

    access_token: str
    refresh_token: str


def _lifetimes() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return config["JWT_ACCESS_TOKEN_EXPIRES"], config["JWT_REFRESH_TOKEN_EXPIRES"]


def open_session(user: User, ip: str | None, user_agent: str | None) -> AuthSession:
    """Start a login session lasting as long as a refresh token (no commit)."""
    now = utcnow()
    session = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        created_at=now,
        expires_at=now + _lifetimes()[1],
        ip_address=(ip or "")[:45] or None,
        user_agent=(user_agent or "")[:255] or None,
    )
    db.session.add(session)
    return session


def issue_tokens(user: User, session: AuthSession, workspace_id: uuid.UUID) -> TokenPair:
    """Sign an access token and a fresh single-use refresh token for the session (no commit)."""
    claims = {"sid": str(session.id), "workspaceId": str(workspace_id), "email": user.email}
    access = create_access_token(identity=str(user.id), additional_claims=claims)
    jti = str(uuid.uuid4())
    refresh = create_refresh_token(identity=str(user.id), additional_claims={**claims, "jti": jti})
    now = utcnow()
    db.session.add(
        RefreshToken(
            jti=jti, session_id=session.id, issued_at=now, expires_at=now + _lifetimes()[1]
        )
    )
    return TokenPair(access_token=access, refresh_token=refresh)


def decode_refresh(token: str) -> dict[str, object]:
    """Verify a refresh token's signature, expiry and type, returning its claims."""
    try:
        claims = decode_token(token)
    except PyJWTError as exc:
        raise Unauthorized("Refresh token invalido ou expirado.", code="token_invalid") from exc
    if claims.get("type") != "refresh":
        raise Unauthorized("Refresh token invalido.", code="token_invalid")
    return claims


def consume_refresh(
    jti: str, session_id: uuid.UUID, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> None:
    """Mark a refresh token used exactly once; a second use revokes the whole session.

    The conditional UPDATE decides races: of two concurrent refreshes only one wins.
    """
    result = db.session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.jti == jti,
            RefreshToken.session_id == session_id,
            RefreshToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        revoke_session(session_id, "refresh_reuse")
        audit.record(
            "auth.session_revoked",
            ("session", session_id),
            None,
            {"reason": "refresh_reuse"},
            user_id=user_id,
            workspace_id=workspace_id,
        )
        db.session.commit()
        raise TokenRevoked(
            "Refresh token ja utilizado; a sessao foi encerrada.", code="refresh_reused"
        )


def active_session(session_id: uuid.UUID, user_id: uuid.UUID) -> AuthSession:
    """Return the session if it is neither revoked nor expired, else raise ``TokenRevoked``."""
    session = db.session.get(AuthSession, session_id)
    if (
        session is None
        or session.user_id != user_id
        or session.revoked_at is not None
        or session.expires_at <= utcnow()
    ):
        raise TokenRevoked()
    return session


def revoke_session(session_id: uuid.UUID, reason: str) -> None:
    """Revoke one session (no commit)."""
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def revoke_user_sessions(user_id: uuid.UUID, reason: str) -> None:
    """Revoke every open session of a user (no commit)."""
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
