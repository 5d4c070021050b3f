"""ORM models, one module per aggregate. Importing this package registers every table."""

from fluxolab.models.base import Base, utcnow
from fluxolab.models.identity import AuthSession, PasswordResetRequest, RefreshToken, User
from fluxolab.models.workspace import (
    ROLES,
    Environment,
    Plan,
    Workspace,
    WorkspaceInvitation,
    WorkspaceMember,
)

__all__ = [
    "ROLES",
    "AuthSession",
    "Base",
    "Environment",
    "PasswordResetRequest",
    "Plan",
    "RefreshToken",
    "User",
    "Workspace",
    "WorkspaceInvitation",
    "WorkspaceMember",
    "utcnow",
]
