"""Request and response bodies of the webhook management routes (``/api/webhooks``).

The entity is the contract's (section 6, row "webhooks") plus what this backend adds:
``methods``, ``url``, ``credentialId``, the limits, ``kind``, ``nodeId`` and the call
statistics. Lists are nested like the contract: ``{webhooks: {webhooks, total}}`` and
``{logs: {logs, total}}``.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import Schema, fields, validate

from fluxolab.common.fields import Trimmed
from fluxolab.common.schemas import BaseSchema, PageArgs
from fluxolab.engine.nodes.triggers import HTTP_METHODS
from fluxolab.models import AUTH_MODES
from fluxolab.webhooks.service import (
    MAX_CONTENT_TYPES,
    RATE_LIMIT_MAX,
    RESPONSE_MODE_INPUTS,
)

_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][\w!#$&^.+-]*/(\*|[A-Za-z0-9][\w!#$&^.+-]*)$")
_STATUS_FILTER = re.compile(r"^(success|error|[1-5][0-9]{2})$")


def _method() -> fields.String:
    return fields.String(
        validate=validate.OneOf(HTTP_METHODS), metadata={"description": "One allowed method"}
    )


class _WebhookFieldsIn(BaseSchema):
    """Fields shared by create and update; ``method`` and ``methods`` merge into ``methods``."""

    name = Trimmed(validate=validate.Length(min=1, max=255), metadata={"example": "Pedidos"})
    path = Trimmed(
        validate=validate.Length(max=500),
        metadata={"description": "A label shown in lists and logs (the URL is the token route)"},
    )
    method = _method()
    methods = fields.List(
        fields.String(validate=validate.OneOf(HTTP_METHODS)),
        validate=validate.Length(min=1, max=len(HTTP_METHODS)),
    )
    authentication = fields.String(validate=validate.OneOf(AUTH_MODES))
    credentialId = fields.UUID(
        allow_none=True,
        metadata={
            "description": "Credential holding the secret: http-basic (basic), http-bearer "
            "(bearer), http-header (api-key), webhook-hmac (hmac)"
        },
    )
    respondMode = fields.String(
        validate=validate.OneOf(RESPONSE_MODE_INPUTS),
        metadata={"description": "immediate and on_last_node are stored as their canonical names"},
    )
    workflowId = fields.UUID()
    rateLimitPerMinute = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=RATE_LIMIT_MAX),
        metadata={"description": "Calls per minute; null: the server default"},
    )
    maxBodyBytes = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "Largest body, at most the server's MAX_BODY_BYTES; null: it"},
    )
    contentTypes = fields.List(
        fields.String(validate=validate.Regexp(_MEDIA_TYPE, error="Not a media type.")),
        validate=validate.Length(max=MAX_CONTENT_TYPES),
        metadata={"description": "Accepted media types; empty: any", "example": []},
    )
    isActive = fields.Boolean()

    @ma.post_load
    def _merge_methods(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        method = data.pop("method", None)
        if "methods" in data:
            if method is not None and method not in data["methods"]:
                raise ma.ValidationError("Not one of the methods sent.", "method")
            data["methods"] = sorted({m.upper() for m in data["methods"]})
        elif method is not None:
            data["methods"] = [method]
        if "contentTypes" in data:
            data["contentTypes"] = list(dict.fromkeys(t.lower() for t in data["contentTypes"]))
        return data


class WebhookCreateIn(_WebhookFieldsIn):
    """Body of ``POST /api/webhooks``: ``name`` and ``workflowId`` are required."""

    name = Trimmed(
        required=True, validate=validate.Length(min=1, max=255), metadata={"example": "Pedidos"}
    )
    workflowId = fields.UUID(required=True)


class WebhookUpdateIn(_WebhookFieldsIn):
    """Body of ``PUT /api/webhooks/<id>``: absent fields are kept.

    A webhook made from a workflow's trigger node accepts only ``rateLimitPerMinute``,
    ``maxBodyBytes`` and ``contentTypes`` (409 naming the others).
    """


class WebhookListArgs(PageArgs):
    """Filters of ``GET /api/webhooks``."""

    workflow_id = fields.UUID(
        data_key="workflowId", metadata={"description": "Only this workflow's webhooks"}
    )


class WebhookLogArgs(PageArgs):
    """Filters of ``GET /api/webhooks/<id>/logs``."""

    status = fields.String(
        validate=validate.Regexp(_STATUS_FILTER, error="success, error or a status code."),
        metadata={"description": "success (2xx), error (not 2xx) or an exact status code"},
    )
    from_ = fields.AwareDateTime(
        data_key="from",
        default_timezone=UTC,
        metadata={"description": "ISO-8601; calls at or after it"},
    )
    to = fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "ISO-8601; calls before it"}
    )

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("from_"), data.get("to")
        if start is not None and end is not None and start > end:
            raise ma.ValidationError("Must not be before 'from'.", "to")


class WebhookOut(Schema):
    """One webhook: the contract's entity plus settings, public URL and call statistics."""

    id = fields.UUID()
    workspaceId = fields.UUID()
    workflowId = fields.UUID()
    kind = fields.String(metadata={"description": "webhook or form"})
    nodeId = fields.String(
        allow_none=True,
        metadata={"description": "The workflow node it was made from; null: made by the API"},
    )
    name = fields.String()
    path = fields.String()
    method = fields.String(metadata={"description": "The first allowed method (contract)"})
    methods = fields.List(fields.String())
    authentication = fields.String()
    credentialId = fields.UUID(allow_none=True)
    respondMode = fields.String()
    rateLimitPerMinute = fields.Integer(allow_none=True)
    maxBodyBytes = fields.Integer(allow_none=True)
    contentTypes = fields.List(fields.String())
    isActive = fields.Boolean()
    token = fields.String(metadata={"description": "Full for editors and above; viewers: masked"})
    url = fields.String(metadata={"description": "Absolute public URL (masked for viewers)"})
    tokenRotatedAt = fields.DateTime(allow_none=True)
    callCount = fields.Integer(metadata={"description": "Logged calls (test calls excluded)"})
    lastCallAt = fields.DateTime(allow_none=True)
    successRate = fields.Float(
        allow_none=True, metadata={"description": "Share of logged calls answered 2xx; null: none"}
    )
    createdAt = fields.DateTime()
    updatedAt = fields.DateTime()


class WebhookBody(Schema):
    status = fields.String(dump_default="ok")
    webhook = fields.Nested(WebhookOut)


class WebhookCreatedBody(Schema):
    status = fields.String(dump_default="created")
    webhook = fields.Nested(WebhookOut)


class WebhookPage(Schema):
    webhooks = fields.List(fields.Nested(WebhookOut))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class WebhookListBody(Schema):
    status = fields.String(dump_default="ok")
    webhooks = fields.Nested(WebhookPage)


class WebhookLogOut(Schema):
    """One logged call (headers already redacted, body truncated at intake)."""

    id = fields.UUID()
    method = fields.String()
    path = fields.String()
    headers = fields.Dict()
    query = fields.Dict()
    body = fields.String(allow_none=True)
    bodyTruncated = fields.Boolean(attribute="body_truncated")
    responseStatus = fields.Integer(attribute="response_status")
    responseBody = fields.Raw(attribute="response_body", allow_none=True)
    durationMs = fields.Integer(attribute="duration_ms")
    executionId = fields.UUID(attribute="execution_id", allow_none=True)
    sourceIp = fields.String(attribute="source_ip", allow_none=True)
    mode = fields.String()
    createdAt = fields.DateTime(attribute="created_at")


class WebhookLogPage(Schema):
    logs = fields.List(fields.Nested(WebhookLogOut))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class WebhookLogListBody(Schema):
    status = fields.String(dump_default="ok")
    logs = fields.Nested(WebhookLogPage)


class WebhookTestIn(BaseSchema):
    """A sample call (every field optional: a JSON sample body with the webhook's method)."""

    method = fields.String(validate=validate.OneOf(HTTP_METHODS))
    headers = fields.Dict(keys=fields.String(), values=fields.String())
    query = fields.Dict(keys=fields.String(), values=fields.String())
    body = fields.Raw(metadata={"description": "JSON value, or a string sent as text/plain"})


class WebhookTestBody(Schema):
    """What the intake answered the sample call."""

    success = fields.Boolean(metadata={"description": "the intake answered 2xx"})
    status = fields.Integer(metadata={"description": "the HTTP status the intake answered"})
    body = fields.Raw(allow_none=True)
    executionId = fields.String(allow_none=True)
