"""Registration, login, token refresh and logout."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fluxolab import audit
from fluxolab.auth import tokens
from fluxolab.auth.passwords import ensure_policy, hash_password, verify_password
from fluxolab.errors import Conflict, Forbidden, Unauthorized
from fluxolab.extensions import db
from fluxolab.models import User, Workspace, WorkspaceMember, utcnow
from fluxolab.workspaces import service as workspaces

INVALID_CREDENTIALS = "Credenciais invalidas."


@dataclass(frozen=True)
class Login:
    """A successful login: the user, the workspace the token acts on, and the tokens."""

    user: User
    workspace_id: uuid.UUID
    tokens: tokens.TokenPair


def normalize_email(email: str) -> str:
    """Return the canonical (trimmed, lower-case) form of an e-mail address."""
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    """Return the user with this e-mail, if any."""
    return db.session.execute(
        select(User).where(User.email == normalize_email(email))
    ).scalar_one_or_none()


def _check_invite_code(given: str | None) -> None:
    expected = current_app.config.get("SIGNUP_ACCESS_TOKEN") or ""
    if expected and not hmac.compare_digest((given or "").encode(), expected.encode()):
        raise Forbidden("Codigo de acesso invalido.", code="invalid_access_token")


def register(
    email: str,
    password: str,
    display_name: str,
    avatar_color: str | None,
    access_token: str | None,
    invite_token: str | None = None,
) -> User:
    """Create a user and their workspace, or join the workspace whose invitation they hold.

    Raises ``ValidationFailed`` for a password outside the policy, ``Forbidden`` for a wrong
    invite code, ``Conflict`` for a taken e-mail and ``NotFound`` for an invitation token that
    is not valid for this e-mail.
    """
    ensure_policy(password, "password")
    _check_invite_code(access_token)
    user = _new_user(email, password, display_name, avatar_color)
    if invite_token:
        user.default_workspace_id = workspaces.accept_invitation(user, invite_token).workspace_id
    else:
        workspaces.provision_workspace(user)
    _commit_new_user()
    return user


def create_user(
    email: str,
    password: str,
    display_name: str,
    *,
    workspace: Workspace | None = None,
    role: str = "owner",
) -> User:
    """Create a user as an operator does (``fluxolab create-user``): no invite code asked.

    Without ``workspace`` the user gets a workspace of their own, as its owner (as
    registering does); with one, they join it as ``role`` (its plan's seat limit applies)
    and it becomes their default workspace. Raises ``ValidationFailed`` for a password
    outside the policy or an unknown role, ``Conflict`` for a taken e-mail and
    ``PlanLimitExceeded`` when the workspace has no free seat. Nothing is written then.
    """
    ensure_policy(password, "password")
    workspaces.check_role_value(role)
    if workspace is not None:
        workspaces.ensure_seat_for(workspace.id, normalize_email(email))
    user = _new_user(email, password, display_name, None)
    if workspace is None:
        workspaces.provision_workspace(user)
    else:
        workspaces.add_member(workspace.id, user.id, role, invited_by=None)
        user.default_workspace_id = workspace.id
    _commit_new_user()
    return user


def _new_user(email: str, password: str, display_name: str, avatar_color: str | None) -> User:
    """Add a user row (flushed, not committed); ``Conflict`` when the e-mail is taken."""
    email = normalize_email(email)
    if find_user_by_email(email) is not None:
        raise Conflict("E-mail ja cadastrado.", code="email_taken")
    user = User(
        id=uuid.uuid4(),
        email=email,
        password_hash=hash_password(password),
        display_name=display_name.strip(),
        avatar_color=avatar_color or "#a855f7",
        preferences={},
    )
    db.session.add(user)
    db.session.flush()
    return user


def _commit_new_user() -> None:
    """Commit a new user; a concurrent registration of the same e-mail is a ``Conflict``."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if "email" not in str(exc.orig):
            raise
        raise Conflict("E-mail ja cadastrado.", code="email_taken") from exc


def login(email: str, password: str, ip: str | None, user_agent: str | None) -> Login:
    """Check credentials and open a session; a user without a workspace gets one provisioned."""
    user = find_user_by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        _record_failure(email, user)
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    if user.default_workspace_id is None:
        workspaces.provision_workspace(user)
    user.last_login_at = utcnow()
    session = tokens.open_session(user, ip, user_agent)
    assert user.default_workspace_id is not None
    pair = tokens.issue_tokens(user, session, user.default_workspace_id)
    audit.record(
        "auth.login",
        ("user", user.id),
        None,
        {"sessionId": session.id},
        user_id=user.id,
        workspace_id=user.default_workspace_id,
    )
    db.session.commit()
    return Login(user=user, workspace_id=user.default_workspace_id, tokens=pair)


def _record_failure(email: str, user: User | None) -> None:
    """Commit the ``auth.login_failed`` entry (the account's, or workspace-less for no account)."""
    audit.record(
        "auth.login_failed",
        ("user", user.id if user else None),
        None,
        {"email": normalize_email(email)[:254]},
        user_id=user.id if user else None,
        workspace_id=user.default_workspace_id if user else None,
        actor_type="user",
    )
    db.session.commit()


def refresh(refresh_token: str) -> Login:
    """Rotate a refresh token: the old one is spent, a new pair is issued in the same session."""
    claims = tokens.decode_refresh(refresh_token)
    try:
        user_id = uuid.UUID(str(claims["sub"]))
        session_id = uuid.UUID(str(claims["sid"]))
        workspace_id = uuid.UUID(str(claims["workspaceId"]))
    except (KeyError, ValueError) as exc:
        raise Unauthorized("Refresh token invalido.", code="token_invalid") from exc
    session = tokens.active_session(session_id, user_id)
    tokens.consume_refresh(str(claims["jti"]), session_id, user_id, workspace_id)
    user = db.session.get(User, user_id)
    if user is None:
        raise Unauthorized("Refresh token invalido.", code="token_invalid")
    workspace_id = _still_member_of(user, workspace_id)
    pair = tokens.issue_tokens(user, session, workspace_id)
    db.session.commit()
    return Login(user=user, workspace_id=workspace_id, tokens=pair)


def _still_member_of(user: User, workspace_id: uuid.UUID) -> uuid.UUID:
    """Keep the token's workspace while the user belongs to it, else fall back to the default."""
    member = db.session.execute(
        select(WorkspaceMember.id).where(
            WorkspaceMember.user_id == user.id, WorkspaceMember.workspace_id == workspace_id
        )
    ).first()
    if member is not None:
        return workspace_id
    if user.default_workspace_id is None:
        workspaces.provision_workspace(user)
    assert user.default_workspace_id is not None
    return user.default_workspace_id


def logout(session_id: uuid.UUID) -> None:
    """End the caller's session: its access and refresh tokens stop working at once."""
    tokens.revoke_session(session_id, "logout")
    audit.record("auth.logout", ("session", session_id))
    db.session.commit()


def get_user(user_id: uuid.UUID) -> User:
    """Return a user by id (the actor always exists: its session was just checked)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise Unauthorized("Usuario nao encontrado.", code="token_invalid")
    return user
