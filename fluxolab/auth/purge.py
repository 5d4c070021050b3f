"""Housekeeping run by beat: drop expired password-reset requests and spent auth records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_

from fluxolab.extensions import db
from fluxolab.models import AuthSession, PasswordResetRequest, RefreshToken, utcnow

REVOKED_SESSION_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class PurgeReport:
    """How many rows of each kind a purge removed."""

    reset_requests: int
    refresh_tokens: int
    sessions: int


def purge_auth_records() -> PurgeReport:
    """Delete expired reset requests, expired refresh tokens, and ended sessions.

    Idempotent: running it twice removes nothing the second time.
    """
    now = utcnow()
    resets = db.session.execute(
        delete(PasswordResetRequest).where(PasswordResetRequest.expires_at < now)
    )
    refresh = db.session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now))
    sessions = db.session.execute(
        delete(AuthSession).where(
            or_(
                AuthSession.expires_at < now,
                AuthSession.revoked_at < now - REVOKED_SESSION_GRACE,
            )
        )
    )
    db.session.commit()
    return PurgeReport(
        reset_requests=resets.rowcount,  # type: ignore[attr-defined]
        refresh_tokens=refresh.rowcount,  # type: ignore[attr-defined]
        sessions=sessions.rowcount,  # type: ignore[attr-defined]
    )
