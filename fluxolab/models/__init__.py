"""ORM models, one module per aggregate. Importing this package registers every table."""

from fluxolab.models.audit import AUDIT_ACTOR_TYPES, AuditEntry
from fluxolab.models.base import Base, utcnow
from fluxolab.models.catalog import NodeCategory, NodeTemplate
from fluxolab.models.credential import Credential
from fluxolab.models.execution import (
    EXECUTION_MODES,
    EXECUTION_STATUSES,
    FINISHED_STATUSES,
    SUBWORKFLOW_MODE,
    TRIGGER_MODES,
    Execution,
    ExecutionStep,
)
from fluxolab.models.identity import AuthSession, PasswordResetRequest, RefreshToken, User
from fluxolab.models.node_test import NODE_TEST_FINISHED, NODE_TEST_STATUSES, NodeTest
from fluxolab.models.schedule import FIRE_STATUSES, Schedule, ScheduleFire
from fluxolab.models.settings import (
    ALERT_CHANNELS,
    ALERT_CONDITIONS,
    ALERT_METRICS,
    API_KEY_SCOPES,
    ApiKey,
    BillingEvent,
    UsageAlert,
)
from fluxolab.models.stats import (
    DURATION_BOUNDS_MS,
    HISTOGRAM_COLUMNS,
    ExecutionStat,
    ExecutionStatsDay,
    ExecutionStatsHour,
    ExecutionStatsHourFailure,
    ExecutionStatsHourMark,
    ExecutionStatsWeekFailure,
    ExecutionStatsWorkspaceDay,
)
from fluxolab.models.webhook import AUTH_MODES, RESPONSE_MODES, TRIGGER_KINDS, Webhook, WebhookLog
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
    "ALERT_CHANNELS",
    "ALERT_CONDITIONS",
    "ALERT_METRICS",
    "API_KEY_SCOPES",
    "AUDIT_ACTOR_TYPES",
    "AUTH_MODES",
    "DURATION_BOUNDS_MS",
    "EXECUTION_MODES",
    "EXECUTION_STATUSES",
    "FINISHED_STATUSES",
    "FIRE_STATUSES",
    "HISTOGRAM_COLUMNS",
    "NODE_TEST_FINISHED",
    "NODE_TEST_STATUSES",
    "RESPONSE_MODES",
    "ROLES",
    "SUBWORKFLOW_MODE",
    "TRIGGER_KINDS",
    "TRIGGER_MODES",
    "WORKFLOW_STATUSES",
    "ApiKey",
    "AuditEntry",
    "AuthSession",
    "Base",
    "BillingEvent",
    "Credential",
    "Environment",
    "Execution",
    "ExecutionStat",
    "ExecutionStatsDay",
    "ExecutionStatsHour",
    "ExecutionStatsHourFailure",
    "ExecutionStatsHourMark",
    "ExecutionStatsWeekFailure",
    "ExecutionStatsWorkspaceDay",
    "ExecutionStep",
    "NodeCategory",
    "NodeTemplate",
    "NodeTest",
    "PasswordResetRequest",
    "Plan",
    "RefreshToken",
    "Schedule",
    "ScheduleFire",
    "UsageAlert",
    "User",
    "Webhook",
    "WebhookLog",
    "Workflow",
    "WorkflowVersion",
    "Workspace",
    "WorkspaceInvitation",
    "WorkspaceMember",
    "utcnow",
]
