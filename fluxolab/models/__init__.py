"""ORM models, one module per aggregate. Importing this package registers every table."""

from fluxolab.models.base import Base, utcnow
from fluxolab.models.catalog import NodeCategory, NodeTemplate
from fluxolab.models.execution import (
    EXECUTION_MODES,
    EXECUTION_STATUSES,
    FINISHED_STATUSES,
    SUBWORKFLOW_MODE,
    Execution,
    ExecutionStep,
)
from fluxolab.models.identity import AuthSession, PasswordResetRequest, RefreshToken, User
from fluxolab.models.workflow import WORKFLOW_STATUSES, Workflow, WorkflowVersion
from fluxolab.models.workspace import (
    ROLES,
    Environment,
    Plan,
    Workspace,
    WorkspaceInvitation,
    WorkspaceMember,
)

__all__ = [
    "EXECUTION_MODES",
    "EXECUTION_STATUSES",
    "FINISHED_STATUSES",
    "ROLES",
    "SUBWORKFLOW_MODE",
    "WORKFLOW_STATUSES",
    "AuthSession",
    "Base",
    "Environment",
    "Execution",
    "ExecutionStep",
    "NodeCategory",
    "NodeTemplate",
    "PasswordResetRequest",
    "Plan",
    "RefreshToken",
    "User",
    "Workflow",
    "WorkflowVersion",
    "Workspace",
    "WorkspaceInvitation",
    "WorkspaceMember",
    "utcnow",
]
