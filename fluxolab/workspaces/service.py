"""Workspace provisioning, plan lookup and membership rules (the last owner stays)."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from fluxolab import audit
from fluxolab.errors import Conflict, Forbidden, NotFound, PlanLimitExceeded, ValidationFailed
from fluxolab.extensions import db
from fluxolab.models import (
    ROLES,
    Environment,
    Plan,
    User,
    Workspace,
    WorkspaceInvitation,
    WorkspaceMember,
    utcnow,
)

DEFAULT_WORKSPACE_NAME = "Workspace FluxoLab"
DEFAULT_PLAN_CODE = "free"
DEFAULT_ENVIRONMENTS = (
    ("Sandbox", "sandbox", "sandbox", "ready"),
    ("Staging", "staging", "staging", "pending"),
    ("Producao", "producao", "production", "locked"),
)
INVITATION_DAYS = 14


def slugify(name: str) -> str:
    """Return a lowercase ASCII slug of ``name``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "workspace"


def plan_by_code(code: str) -> Plan:
    """Return an active plan by code, or raise ``NotFound``."""
    plan = db.session.execute(
        select(Plan).where(Plan.code == code, Plan.is_active.is_(True))
    ).scalar_one_or_none()
    if plan is None:
        raise NotFound(f"Plano '{code}' nao encontrado.")
    return plan


def provision_workspace(user: User) -> Workspace:
    """Create the user's workspace (free plan, trial, three environments, owner membership).

    Adds rows to the session without committing; the caller owns the transaction.
    """
    plan = plan_by_code(DEFAULT_PLAN_CODE)
    now = utcnow()
    workspace = Workspace(
        id=uuid.uuid4(),
        name=DEFAULT_WORKSPACE_NAME,
        slug=f"{slugify(DEFAULT_WORKSPACE_NAME)}-{secrets.token_hex(4)}",
        plan_id=plan.id,
        settings={"planCode": plan.code, "provisionedAt": now.isoformat()},
        subscription_status="trialing",
        trial_ends_at=now + timedelta(days=plan.trial_days or 30),
        usage_period_start=now,
    )
    db.session.add(workspace)
    db.session.flush()  # no ORM relationships: make the parent row exist before its children
    for name, slug, kind, status in DEFAULT_ENVIRONMENTS:
        db.session.add(
            Environment(
                workspace_id=workspace.id,
                name=name,
                slug=slug,
                environment_type=kind,
                region=workspace.region,
                status=status,
            )
        )
    add_member(workspace.id, user.id, "owner", invited_by=None)
    user.default_workspace_id = workspace.id
    return workspace


def add_member(
    workspace_id: uuid.UUID, user_id: uuid.UUID, role: str, invited_by: uuid.UUID | None
) -> WorkspaceMember:
    """Add a membership row to the session (no commit)."""
    member = WorkspaceMember(
        workspace_id=workspace_id,
        user_id=user_id,
        role=role,
        invited_by=invited_by,
        joined_at=utcnow(),
    )
    db.session.add(member)
    return member


def invitation_token_hash(token: str) -> str:
    """Invitations store only the sha256 of their token."""
    return hashlib.sha256(token.encode()).hexdigest()


def accept_invitation(user: User, token: str) -> WorkspaceInvitation:
    """Join the workspace of the invitation whose mailed token ``token`` is, as its role
    (recorded in the audit trail with the change).

    The token proves the e-mail; it must also be the user's. Raises ``NotFound`` for an
    unknown, expired, accepted or someone else's invitation (one answer for all).
    """
    invitation = db.session.execute(
        select(WorkspaceInvitation)
        .where(
            WorkspaceInvitation.token_hash == invitation_token_hash(token),
            WorkspaceInvitation.accepted_at.is_(None),
            WorkspaceInvitation.expires_at > utcnow(),
        )
        .with_for_update()
    ).scalar_one_or_none()
    if invitation is None or invitation.email != user.email:
        raise NotFound("Convite invalido ou expirado.", code="invalid_invitation")
    already = db.session.execute(
        select(WorkspaceMember.id).where(
            WorkspaceMember.workspace_id == invitation.workspace_id,
            WorkspaceMember.user_id == user.id,
        )
    ).first()
    if already is None:
        add_member(invitation.workspace_id, user.id, invitation.role, invitation.invited_by)
    invitation.accepted_at = utcnow()
    audit.record(
        "member.joined",
        ("user", user.id),
        None,
        {"role": invitation.role},
        user_id=user.id,
        workspace_id=invitation.workspace_id,
    )
    return invitation


def get_workspace(workspace_id: uuid.UUID) -> Workspace:
    """Return the workspace or raise ``NotFound``."""
    workspace = db.session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("Workspace nao encontrado.")
    return workspace


def find_workspace(reference: str) -> Workspace:
    """Return the workspace whose id, slug or name is ``reference`` (operator commands).

    Raises ``NotFound`` when none matches and ``Conflict`` listing the slugs when several
    workspaces share that name.
    """
    text = reference.strip()
    try:
        by_id = db.session.get(Workspace, uuid.UUID(text))
    except ValueError:
        by_id = None
    if by_id is not None:
        return by_id
    rows = (
        db.session.execute(
            select(Workspace)
            .where((Workspace.slug == text) | (Workspace.name == text))
            .order_by(Workspace.created_at)
        )
        .scalars()
        .all()
    )
    by_slug = [row for row in rows if row.slug == text]
    if by_slug:
        return by_slug[0]
    if not rows:
        raise NotFound(f"No workspace has the id, slug or name {text!r}.")
    if len(rows) > 1:
        slugs = ", ".join(row.slug for row in rows)
        raise Conflict(f"{len(rows)} workspaces are named {text!r}; give one's slug: {slugs}.")
    return rows[0]


def check_role_value(role: str) -> None:
    """Refuse roles outside owner/admin/editor/viewer with a field error."""
    if role not in ROLES:
        raise ValidationFailed(errors={"role": [f"Must be one of: {', '.join(ROLES)}."]})


def ensure_can_grant(actor_role: str, role: str) -> None:
    """Only an owner may grant or change the owner role."""
    if role == "owner" and actor_role != "owner":
        raise Forbidden("Apenas um owner pode conceder o papel de owner.")


def ensure_may_manage_invitation(actor_role: str, invitation: WorkspaceInvitation) -> None:
    """Only an owner may revoke, or replace by inviting the same e-mail again, an owner invitation.

    The one rule for every change to a pending invitation: a role that may not revoke it may
    not downgrade it or replace its token either.
    """
    if invitation.role == "owner" and actor_role != "owner":
        raise Forbidden("Apenas um owner pode revogar ou substituir um convite de owner.")


def count_owners(workspace_id: uuid.UUID) -> int:
    """Return how many owners the workspace has."""
    return int(
        db.session.execute(
            select(func.count())
            .select_from(WorkspaceMember)
            .where(WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.role == "owner")
        ).scalar_one()
    )


def ensure_not_last_owner(member: WorkspaceMember) -> None:
    """Refuse to demote or remove the only owner of a workspace."""
    if member.role == "owner" and count_owners(member.workspace_id) <= 1:
        raise Conflict("O workspace precisa de pelo menos um owner.")


def ensure_seat_for(workspace_id: uuid.UUID, email: str) -> None:
    """Refuse a new invitation when members plus other pending invitations fill the plan.

    Locks the workspace row so concurrent invitations cannot both take the last seat.
    Raises ``PlanLimitExceeded`` naming the plan's user limit.
    """
    row = db.session.execute(
        select(Plan.limits)
        .join(Workspace, Workspace.plan_id == Plan.id)
        .where(Workspace.id == workspace_id)
        .with_for_update(of=Workspace)
    ).scalar_one()
    limit = (row or {}).get("users")
    if limit is None:
        return
    members = db.session.execute(
        select(func.count())
        .select_from(WorkspaceMember)
        .where(WorkspaceMember.workspace_id == workspace_id)
    ).scalar_one()
    pending = db.session.execute(
        select(func.count())
        .select_from(WorkspaceInvitation)
        .where(
            WorkspaceInvitation.workspace_id == workspace_id,
            WorkspaceInvitation.accepted_at.is_(None),
            WorkspaceInvitation.expires_at > utcnow(),
            WorkspaceInvitation.email != email,
        )
    ).scalar_one()
    if members + pending >= limit:
        raise PlanLimitExceeded(
            f"O plano permite {limit} usuarios neste workspace (membros e convites pendentes); "
            "faca upgrade do plano.",
            code="plan_limit_users",
        )


def invite_email(
    workspace_id: uuid.UUID, email: str, role: str, invited_by: uuid.UUID, actor_role: str
) -> tuple[WorkspaceInvitation, str]:
    """Create (or refresh, with a new token) a pending invitation; return it and its token.

    Raises ``Forbidden`` when ``actor_role`` may not replace the pending invitation already
    sent to this e-mail (``ensure_may_manage_invitation``); granting ``role`` is checked by
    the caller (``ensure_can_grant``).
    """
    invitation = db.session.execute(
        select(WorkspaceInvitation)
        .where(WorkspaceInvitation.workspace_id == workspace_id, WorkspaceInvitation.email == email)
        .with_for_update()
    ).scalar_one_or_none()
    if invitation is None:
        invitation = WorkspaceInvitation(id=uuid.uuid4(), workspace_id=workspace_id, email=email)
        db.session.add(invitation)
    elif invitation.accepted_at is None:
        ensure_may_manage_invitation(actor_role, invitation)
    invitation.role = role
    invitation.invited_by = invited_by
    invitation.accepted_at = None
    invitation.expires_at = utcnow() + timedelta(days=INVITATION_DAYS)
    token = secrets.token_urlsafe(32)
    invitation.token_hash = invitation_token_hash(token)
    return invitation, token
