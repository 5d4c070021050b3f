"""Profile, trial info and workspace membership management (preferences: preferences.py).

Every function takes the caller's ids (or ``Actor``) from the route and scopes each query to
the caller's workspace: a member or invitation of another workspace is a ``NotFound``.
Returned "views" are plain dicts whose snake_case keys the response schemas rename.
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any, cast

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError

from fluxolab import audit
from fluxolab.auth.actor import Actor
from fluxolab.auth.passwords import verify_password
from fluxolab.auth.service import find_user_by_email, get_user, normalize_email
from fluxolab.common.pagination import Page, paginate
from fluxolab.errors import Conflict, Forbidden, NotFound, ValidationFailed
from fluxolab.extensions import db
from fluxolab.mail import send_mail
from fluxolab.models import Plan, User, Workspace, WorkspaceInvitation, WorkspaceMember, utcnow
from fluxolab.users import preferences as prefs
from fluxolab.workspaces import service as workspaces

log = logging.getLogger(__name__)

UPGRADE_URL = "/settings/plans"
MAX_INVITATIONS_LISTED = 200
EMAIL_TAKEN = "E-mail ja cadastrado."
PROFILE_FIELDS = {
    "displayName": "display_name",
    "avatarColor": "avatar_color",
    "timezone": "timezone",
    "language": "language",
}


def _commit_or_conflict(message: str, code: str) -> None:
    """Commit; a unique-constraint race (e-mail, membership) becomes a ``Conflict``."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(message, code=code) from exc


# --- profile ---------------------------------------------------------------------------


def profile_view(user: User) -> dict[str, Any]:
    """Return the profile fields of ``user`` for ``UserProfileSchema``."""
    return {
        "id": user.id,
        "name": user.display_name,
        "display_name": user.display_name,
        "email": user.email,
        "avatar_color": user.avatar_color,
        "timezone": user.timezone,
        "language": user.language,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "last_login_at": user.last_login_at,
        "preferences": prefs.preferences_of(user),
    }


def get_profile(user_id: uuid.UUID) -> dict[str, Any]:
    """Return the caller's profile."""
    return profile_view(get_user(user_id))


def _check_email_change(user: User, email: str, current_password: str | None) -> str | None:
    """Return the new e-mail to store, or None when it is unchanged.

    Raises ``ValidationFailed`` without ``currentPassword``, ``Forbidden`` (invalid_password)
    for a wrong one and ``Conflict`` (email_taken) when another account uses the e-mail.
    """
    new_email = normalize_email(email)
    if new_email == user.email:
        return None
    if not current_password:
        raise ValidationFailed(
            "Informe a senha atual para alterar o e-mail.",
            errors={"currentPassword": ["Required to change the e-mail."]},
        )
    if not verify_password(user.password_hash, current_password):
        raise Forbidden("Senha atual incorreta.", code="invalid_password")
    if find_user_by_email(new_email) is not None:
        raise Conflict(EMAIL_TAKEN, code="email_taken")
    return new_email


def update_profile(user_id: uuid.UUID, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the caller's own profile; every check runs before anything is changed."""
    user = get_user(user_id)
    new_email = None
    if "email" in changes:
        new_email = _check_email_change(user, changes["email"], changes.get("currentPassword"))
    for key, column in PROFILE_FIELDS.items():
        if key in changes:
            value = changes[key]
            setattr(user, column, value.strip() if key == "displayName" else value)
    if new_email is not None:
        user.email = new_email
    _commit_or_conflict(EMAIL_TAKEN, "email_taken")
    return profile_view(user)


# --- trial info ----------------------------------------------------------------------------


_TRIAL = (
    select(
        Workspace.subscription_status,
        Workspace.trial_ends_at,
        Workspace.executions_used,
        Plan.code,
        Plan.name,
        Plan.limits,
        Plan.features,
    )
    .join(Plan, Plan.id == Workspace.plan_id)
    .where(Workspace.id == bindparam("workspace_id"))
)


def trial_info(workspace_id: uuid.UUID) -> dict[str, Any]:
    """Return the workspace's trial, plan and execution quota (no execution cap: None)."""
    row = db.session.connection().execute(_TRIAL, {"workspace_id": workspace_id}).first()
    if row is None:
        raise NotFound("Workspace nao encontrado.")
    is_trial = row.subscription_status == "trialing"
    days_left = 0
    if is_trial and row.trial_ends_at is not None:
        seconds = (row.trial_ends_at - utcnow()).total_seconds()
        days_left = max(0, math.ceil(seconds / 86400))
    limit = (row.limits or {}).get("executions")
    return {
        "is_trial": is_trial,
        "days_left": days_left,
        "trial_ends_at": row.trial_ends_at,
        "executions_used": row.executions_used,
        "executions_limit": int(limit) if limit is not None else None,
        "plan_code": row.code,
        "plan_name": row.name,
        "features": [str(feature) for feature in row.features or []],
        "upgrade_url": UPGRADE_URL,
    }


# --- workspace members ---------------------------------------------------------------------


def member_view(member: WorkspaceMember, user: User) -> dict[str, Any]:
    """Return one member (user fields plus role) for ``WorkspaceMemberSchema``."""
    return {
        "user_id": user.id,
        "member_id": member.id,
        "name": user.display_name,
        "display_name": user.display_name,
        "email": user.email,
        "avatar_color": user.avatar_color,
        "role": member.role,
        "joined_at": member.joined_at,
        "last_active_at": user.last_login_at,
    }


def invitation_view(invitation: WorkspaceInvitation) -> dict[str, Any]:
    """Return one pending invitation; ``invited_at`` is when it was last (re)sent."""
    return {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role,
        "invited_at": invitation.updated_at,
        "expires_at": invitation.expires_at,
    }


def list_members(
    workspace_id: uuid.UUID, limit: int, offset: int
) -> tuple[Page[dict[str, Any]], list[dict[str, Any]]]:
    """Return one page of members (by join time) and the pending invitations (oldest first)."""
    stmt = (
        select(WorkspaceMember, User)
        .join(User, User.id == WorkspaceMember.user_id)
        .where(WorkspaceMember.workspace_id == workspace_id)
        .order_by(WorkspaceMember.joined_at, WorkspaceMember.id)
    )
    # paginate() is typed for one-entity selects; this one yields (member, user) rows
    page = paginate(cast("Select[Any]", stmt), limit, offset, scalars=False)
    members = [member_view(member, user) for member, user in page.items]
    invitations = db.session.execute(
        select(WorkspaceInvitation)
        .where(
            WorkspaceInvitation.workspace_id == workspace_id,
            WorkspaceInvitation.accepted_at.is_(None),
            WorkspaceInvitation.expires_at > utcnow(),
        )
        .order_by(WorkspaceInvitation.created_at, WorkspaceInvitation.id)
        .limit(MAX_INVITATIONS_LISTED)
    ).scalars()
    return Page(members, page.total, page.limit, page.offset), [
        invitation_view(invitation) for invitation in invitations
    ]


def _member_row(workspace_id: uuid.UUID, user_id: uuid.UUID) -> tuple[WorkspaceMember, User]:
    """Lock the workspace's owner rows, then return (membership, user), also locked.

    Locking the owners first (in id order) serializes every role change and removal of the
    workspace, so two owners demoting each other at once cannot both pass the last-owner
    check, and the lock order is the same for all callers (no deadlock). ``NotFound`` when
    the user is not a member of this workspace.
    """
    db.session.execute(
        select(WorkspaceMember.id)
        .where(WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.role == "owner")
        .order_by(WorkspaceMember.id)
        .with_for_update()
    ).all()
    row = db.session.execute(
        select(WorkspaceMember, User)
        .join(User, User.id == WorkspaceMember.user_id)
        .where(WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.user_id == user_id)
        .with_for_update(of=WorkspaceMember)
    ).first()
    if row is None:
        raise NotFound("Membro nao encontrado neste workspace.")
    return row[0], row[1]


def _ensure_may_manage(actor: Actor, member: WorkspaceMember) -> None:
    """Only an owner may change or remove an owner."""
    if member.role == "owner" and actor.role != "owner":
        raise Forbidden("Apenas um owner pode alterar ou remover outro owner.")


def add_member(actor: Actor, email: str, role: str) -> dict[str, Any]:
    """Invite an e-mail to the workspace; its owner joins by presenting the mailed token.

    The answer is the same whether or not the e-mail has an account (no enumeration, no one
    added without consent). Raises ``Forbidden`` when a non-owner grants owner or would
    replace a pending owner invitation, and ``Conflict`` when the e-mail already belongs to a
    member.
    """
    workspaces.check_role_value(role)
    workspaces.ensure_can_grant(actor.role, role)
    email = normalize_email(email)
    member = db.session.execute(
        select(WorkspaceMember.id)
        .join(User, User.id == WorkspaceMember.user_id)
        .where(WorkspaceMember.workspace_id == actor.workspace_id, User.email == email)
    ).first()
    if member is not None:
        raise Conflict("Este usuario ja e membro do workspace.", code="already_member")
    workspaces.ensure_seat_for(actor.workspace_id, email)
    invitation, token = workspaces.invite_email(
        actor.workspace_id, email, role, actor.user_id, actor.role
    )
    audit.record(
        "member.invited", ("invitation", invitation.id), None, {"email": email, "role": role}
    )
    _commit_or_conflict("Convite ja enviado para este e-mail; tente novamente.", "conflict")
    _mail_invitation(actor, invitation, token)
    return invitation_view(invitation)


def _mail_invitation(actor: Actor, invitation: WorkspaceInvitation, token: str) -> None:
    """E-mail the invitation with its token (a mail failure is only logged)."""
    name = " ".join(workspaces.get_workspace(actor.workspace_id).name.split())  # one header line
    inviter = get_user(actor.user_id)
    sent = send_mail(
        invitation.email,
        f"Convite para o workspace {name} no FluxoLab",
        f"{inviter.display_name} convidou voce para o workspace '{name}' no FluxoLab "
        f"com o papel '{invitation.role}'.\n\nSeu codigo de convite: {token}\n\n"
        "Sem conta: crie-a com este e-mail informando o codigo de convite. Ja tem conta: "
        "aceite o convite com o codigo (POST /api/users/invitations/accept). "
        f"O convite vale ate {invitation.expires_at:%d/%m/%Y}.\n",
    )
    if not sent:
        log.warning("invitation %s saved but its e-mail could not be sent", invitation.id)


def accept_invitation(user_id: uuid.UUID, token: str) -> dict[str, Any]:
    """Join the workspace of a mailed invitation addressed to the caller's e-mail."""
    user = get_user(user_id)
    invitation = workspaces.accept_invitation(user, token)
    if user.default_workspace_id is None:
        user.default_workspace_id = invitation.workspace_id
    _commit_or_conflict("Este usuario ja e membro do workspace.", "already_member")
    return {"workspaceId": invitation.workspace_id, "role": invitation.role}


def change_role(actor: Actor, user_id: uuid.UUID, role: str) -> dict[str, Any]:
    """Change a member's role (owner rules, last owner kept); ``NotFound`` outside the workspace."""
    workspaces.check_role_value(role)
    member, user = _member_row(actor.workspace_id, user_id)
    _ensure_may_manage(actor, member)
    workspaces.ensure_can_grant(actor.role, role)
    if role != "owner":
        workspaces.ensure_not_last_owner(member)
    audit.record("member.role_changed", ("user", user.id), {"role": member.role}, {"role": role})
    member.role = role
    db.session.commit()
    return member_view(member, user)


def remove_member(actor: Actor, user_id: uuid.UUID) -> None:
    """Remove a member; their tokens for this workspace stop working at their next request.

    The last owner cannot be removed (409), an admin cannot remove an owner (403). A removed
    user whose default workspace was this one moves to another membership, or to none (a new
    workspace is provisioned at their next login).
    """
    member, user = _member_row(actor.workspace_id, user_id)
    _ensure_may_manage(actor, member)
    workspaces.ensure_not_last_owner(member)
    audit.record("member.removed", ("user", user.id), {"email": user.email, "role": member.role})
    db.session.delete(member)
    if user.default_workspace_id == actor.workspace_id:
        user.default_workspace_id = db.session.execute(
            select(WorkspaceMember.workspace_id)
            .where(
                WorkspaceMember.user_id == user.id,
                WorkspaceMember.workspace_id != actor.workspace_id,
            )
            .order_by(WorkspaceMember.joined_at, WorkspaceMember.id)
            .limit(1)
        ).scalar_one_or_none()
    db.session.commit()


def revoke_invitation(actor: Actor, invitation_id: uuid.UUID) -> None:
    """Delete a pending invitation of this workspace (``ensure_may_manage_invitation`` decides)."""
    invitation = db.session.execute(
        select(WorkspaceInvitation).where(
            WorkspaceInvitation.id == invitation_id,
            WorkspaceInvitation.workspace_id == actor.workspace_id,
            WorkspaceInvitation.accepted_at.is_(None),
        )
    ).scalar_one_or_none()
    if invitation is None:
        raise NotFound("Convite nao encontrado.")
    workspaces.ensure_may_manage_invitation(actor.role, invitation)
    audit.record(
        "member.invitation_revoked",
        ("invitation", invitation.id),
        {"email": invitation.email, "role": invitation.role},
    )
    db.session.delete(invitation)
    db.session.commit()
