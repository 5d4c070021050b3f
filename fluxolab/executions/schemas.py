"""Request and response bodies of the executions API."""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, fields, validate

from fluxolab.common.schemas import BaseSchema, PageArgs, page_fields
from fluxolab.models import EXECUTION_MODES, EXECUTION_STATUSES


class ExecutionOut(Schema):
    """One execution in lists (no items, no steps)."""

    id = fields.UUID()
    workflowId = fields.UUID(attribute="workflow_id")
    workflowName = fields.String(
        attribute="workflow_name",
        allow_none=True,
        metadata={"description": "null only when the workflow row no longer exists"},
    )
    workflowVersion = fields.Integer(attribute="version")
    status = fields.String()
    mode = fields.String()
    createdAt = fields.DateTime(attribute="created_at")
    startedAt = fields.DateTime(attribute="started_at", allow_none=True)
    finishedAt = fields.DateTime(attribute="finished_at", allow_none=True)
    durationMs = fields.Integer(attribute="duration_ms", allow_none=True)
    error = fields.Dict(allow_none=True)
    retryOfId = fields.UUID(attribute="retry_of_id", allow_none=True)
    parentExecutionId = fields.UUID(
        attribute="parent_execution_id",
        allow_none=True,
        metadata={"description": "The run whose Execute Workflow node started this one"},
    )
    depth = fields.Integer(metadata={"description": "Sub-execution nesting; 0 at the top"})
    waitingFor = fields.Dict(attribute="waiting_for", allow_none=True)


class StepOut(Schema):
    """What one node did."""

    id = fields.UUID()
    seq = fields.Integer()
    nodeId = fields.String(attribute="node_id")
    nodeName = fields.String(attribute="node_name")
    nodeType = fields.String(attribute="node_type")
    status = fields.String()
    attempt = fields.Integer()
    startedAt = fields.DateTime(attribute="started_at")
    finishedAt = fields.DateTime(attribute="finished_at")
    inputItems = fields.List(fields.Raw(), attribute="input_items")
    output = fields.Dict()
    error = fields.Dict(allow_none=True)
    truncated = fields.Boolean()
    logs = fields.List(fields.String())


class ExecutionDetail(ExecutionOut):
    """One execution with its input, output, webhook response and steps."""

    inputItems = fields.List(fields.Raw(), attribute="input_items")
    outputItems = fields.List(fields.Raw(), attribute="output_items", allow_none=True)
    response = fields.Dict(allow_none=True)
    steps = fields.List(fields.Nested(StepOut))
    requestId = fields.String(
        attribute="request_id",
        allow_none=True,
        metadata={"description": "X-Request-Id of the API request that started the run"},
    )


class ExecutionBody(Schema):
    status = fields.String(dump_default="ok")
    execution = fields.Nested(ExecutionDetail)


ExecutionPage = Schema.from_dict(page_fields("executions", ExecutionOut), name="ExecutionPage")


class ExecutionListArgs(PageArgs):
    workflowId = fields.UUID(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(EXECUTION_STATUSES))
    mode = fields.String(load_default=None, validate=validate.OneOf(EXECUTION_MODES))
    startDate = fields.AwareDateTime(load_default=None, default_timezone=UTC)
    endDate = fields.AwareDateTime(load_default=None, default_timezone=UTC)


class WorkflowExecutionArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(EXECUTION_STATUSES))


class Accepted(Schema):
    status = fields.String(dump_default="accepted")
    executionId = fields.UUID()
    statusUrl = fields.String()
    retryOfId = fields.UUID(allow_none=True)


class RetryIn(BaseSchema):
    version = fields.String(
        load_default="original", validate=validate.OneOf(("original", "current"))
    )


class ApprovalIn(BaseSchema):
    nodeId = fields.String(required=True, validate=validate.Length(min=1, max=128))
    approved = fields.Boolean(required=True)
    comment = fields.String(load_default=None, validate=validate.Length(max=2000))
