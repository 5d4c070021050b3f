"""Query arguments and response bodies of ``/api/dashboard`` (contract 3.1 and 4)."""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, fields, validate

from fluxolab.common.pagination import MAX_LIMIT
from fluxolab.common.schemas import BaseSchema, PageArgs
from fluxolab.dashboard.periods import DEFAULT_PERIOD, PERIOD_HELP, PERIOD_PATTERN
from fluxolab.dashboard.service import CARD_STATUSES, SORT_KEYS
from fluxolab.models import EXECUTION_STATUSES
from fluxolab.workflows.schemas import DashboardWorkflowOut

SORTS = [*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)]


# --- arguments -----------------------------------------------------------------------------


class StatsArgs(BaseSchema):
    period = fields.String(
        load_default=DEFAULT_PERIOD,
        validate=validate.Regexp(PERIOD_PATTERN, error=f"Periodo invalido. {PERIOD_HELP}"),
        metadata={"description": PERIOD_HELP, "example": DEFAULT_PERIOD},
    )
    from_ = fields.Date(
        data_key="from",
        attribute="from",
        load_default=None,
        metadata={"description": "First local day of a custom period (YYYY-MM-DD)"},
    )
    to = fields.Date(
        load_default=None,
        metadata={"description": "Last local day of a custom period (inclusive)"},
    )


class DashboardWorkflowArgs(PageArgs):
    search = fields.String(
        load_default=None,
        validate=validate.Length(max=255),
        metadata={"description": "Case-insensitive part of the name"},
    )
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(list(CARD_STATUSES)),
        metadata={"description": "Card status; inactive also matches drafts"},
    )
    sort = fields.String(
        load_default="-updated",
        validate=validate.OneOf(SORTS),
        metadata={"description": "A field, '-' prefix for descending; ties broken by id"},
    )


class SearchArgs(BaseSchema):
    q = fields.String(
        load_default="",
        validate=validate.Length(max=255),
        metadata={"description": "Case-insensitive part of the name; empty matches all"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))


class DashboardExecutionArgs(PageArgs):
    workflowId = fields.UUID(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(EXECUTION_STATUSES))
    from_ = fields.AwareDateTime(
        data_key="from",
        attribute="from",
        load_default=None,
        default_timezone=UTC,
        metadata={"description": "Created at or after (ISO-8601; UTC when no offset)"},
    )
    to = fields.AwareDateTime(
        load_default=None,
        default_timezone=UTC,
        metadata={"description": "Created before (ISO-8601; UTC when no offset)"},
    )


# --- bodies --------------------------------------------------------------------------------


class HeadlineOut(Schema):
    """The contract's ``stats``: numbers are numbers, two display strings, numeric twins."""

    prodExecutions = fields.Integer(metadata={"description": "Production runs in the period"})
    failedExecutions = fields.Integer(metadata={"description": "Failed or timed out"})
    failureRate = fields.Float(metadata={"description": "Percentage, one decimal"})
    timeSaved = fields.String(metadata={"description": "For display, '---' when nothing"})
    avgRunTime = fields.String(metadata={"description": "For display, e.g. '1.20s' or '---'"})
    period = fields.String(metadata={"description": "Label, e.g. 'Last 7 days'"})
    avgRunTimeMs = fields.Float(allow_none=True, metadata={"description": "null without data"})
    timeSavedMinutes = fields.Float(
        metadata={"description": "Succeeded runs times their workflow's minutesSavedPerRun"}
    )


class TrialOut(Schema):
    plan = fields.String(metadata={"description": "Plan code"})
    planName = fields.String()
    isTrial = fields.Boolean()
    trialEndsAt = fields.String(allow_none=True, metadata={"description": "ISO-8601"})
    daysLeft = fields.Integer()
    executionsUsed = fields.Integer()
    executionsLimit = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})


class OverviewBody(Schema):
    status = fields.String(dump_default="ok")
    stats = fields.Nested(HeadlineOut)
    workflows = fields.List(fields.Nested(DashboardWorkflowOut))
    totalWorkflows = fields.Integer()
    recentExecutions = fields.Integer(metadata={"description": "Production runs today"})
    trialInfo = fields.Nested(TrialOut)


class ChangeOut(Schema):
    """A whole number of the period against the previous stretch of equal length."""

    value = fields.Integer(allow_none=True, metadata={"description": "null without data"})
    previous = fields.Integer(allow_none=True)
    change = fields.Integer(allow_none=True, metadata={"description": "value - previous"})
    changePercent = fields.Float(
        allow_none=True, metadata={"description": "null when previous is 0 or unknown"}
    )


class MinutesChangeOut(Schema):
    """Minutes (fractional) of the period against the previous stretch of equal length."""

    value = fields.Float()
    previous = fields.Float()
    change = fields.Float(metadata={"description": "value - previous"})
    changePercent = fields.Float(
        allow_none=True, metadata={"description": "null when previous is 0"}
    )


class TotalsOut(Schema):
    total = fields.Nested(ChangeOut)
    succeeded = fields.Nested(ChangeOut)
    failed = fields.Nested(ChangeOut)
    p95DurationMs = fields.Nested(ChangeOut)
    timeSavedMinutes = fields.Nested(MinutesChangeOut)


class PeriodOut(Schema):
    key = fields.String()
    label = fields.String()
    granularity = fields.String(metadata={"description": "hour | day"})
    timezone = fields.String(metadata={"description": "The workspace's time zone"})
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    previousFrom = fields.String()
    previousTo = fields.String()


class PointOut(Schema):
    label = fields.String(metadata={"description": "Local day (or hour for 24h)"})
    start = fields.String()
    end = fields.String()
    total = fields.Integer()
    succeeded = fields.Integer()
    failed = fields.Integer()


class FailingOut(Schema):
    id = fields.String()
    name = fields.String()
    failures = fields.Integer()


class StatsBody(Schema):
    status = fields.String(dump_default="ok")
    stats = fields.Nested(HeadlineOut)
    period = fields.Nested(PeriodOut)
    totals = fields.Nested(TotalsOut)
    series = fields.List(fields.Nested(PointOut))
    topFailingWorkflows = fields.List(fields.Nested(FailingOut))


class WorkflowCardsBody(Schema):
    status = fields.String(dump_default="ok")
    workflows = fields.List(fields.Nested(DashboardWorkflowOut))
    total = fields.Integer()


class ExecutionCardOut(Schema):
    id = fields.String()
    workflowId = fields.String()
    workflowName = fields.String()
    status = fields.String()
    mode = fields.String()
    startedAt = fields.String(allow_none=True)
    finishedAt = fields.String(allow_none=True)
    durationMs = fields.Integer(allow_none=True)
    errorMessage = fields.String(allow_none=True)
    createdAt = fields.String()


class ExecutionCardsBody(Schema):
    status = fields.String(dump_default="ok")
    executions = fields.List(fields.Nested(ExecutionCardOut))
    total = fields.Integer()


class CredentialCardOut(Schema):
    id = fields.String()
    name = fields.String()
    type = fields.String()
    createdAt = fields.String()
    lastUsedAt = fields.String(allow_none=True, metadata={"description": "null for viewers"})
    isActive = fields.Boolean(allow_none=True, metadata={"description": "null for viewers"})


class CredentialCardsBody(Schema):
    status = fields.String(dump_default="ok")
    credentials = fields.List(fields.Nested(CredentialCardOut))
    total = fields.Integer()
