"""Schemas of ``GET /api/audit``: the filters and one entry."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import Schema, fields, validate

from fluxolab.common.schemas import PageArgs, page_fields


class AuditArgs(PageArgs):
    """Filters of ``GET /api/audit`` (all optional, combined with AND)."""

    actor = fields.UUID(
        metadata={"description": "Id of the user who acted (API keys: their creator)"}
    )
    action = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Exact action, e.g. `auth.login` or `member.role_changed`"},
    )
    targetType = fields.String(
        attribute="target_type",
        validate=validate.Length(min=1, max=32),
        metadata={"description": "Kind of object acted on, e.g. `credential`, `workflow`"},
    )
    targetId = fields.String(
        attribute="target_id",
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Id of the object acted on"},
    )
    from_ = fields.AwareDateTime(
        data_key="from",
        default_timezone=UTC,
        metadata={"description": "ISO-8601; entries at or after it"},
    )
    to = fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "ISO-8601; entries before it"}
    )

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("from_"), data.get("to")
        if start is not None and end is not None and start > end:
            raise ma.ValidationError("Must not be before 'from'.", "to")


class AuditEntryOut(Schema):
    """One audit entry; `before`/`after` hold the changed fields, secrets masked (`***`)."""

    id = fields.UUID()
    workspaceId = fields.UUID(attribute="workspace_id", allow_none=True)
    actorType = fields.String(
        attribute="actor_type", metadata={"description": "user, api_key or system"}
    )
    actorUserId = fields.UUID(attribute="actor_user_id", allow_none=True)
    actorApiKeyId = fields.UUID(attribute="actor_api_key_id", allow_none=True)
    ipAddress = fields.String(attribute="ip_address", allow_none=True)
    userAgent = fields.String(attribute="user_agent", allow_none=True)
    action = fields.String()
    targetType = fields.String(attribute="target_type", allow_none=True)
    targetId = fields.String(attribute="target_id", allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    createdAt = fields.DateTime(attribute="created_at")


AuditPageOut = Schema.from_dict(page_fields("entries", AuditEntryOut), name="AuditPageOut")
