"""Base schemas: unknown fields rejected, the error envelope, pagination arguments."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, jsonify
from marshmallow import RAISE, Schema, fields, validate

from fluxolab.common.pagination import MAX_LIMIT, MAX_OFFSET, MAX_PAGE


class BaseSchema(Schema):
    """Every request body rejects unknown fields (422 naming the field)."""

    class Meta:
        unknown = RAISE
        ordered = True


class ErrorSchema(Schema):
    """The one error envelope every failing request answers with (documentation only)."""

    status = fields.String(
        required=True, validate=validate.OneOf(["error"]), metadata={"example": "error"}
    )
    message = fields.String(
        required=True, metadata={"description": "Human-readable message shown by the UI"}
    )
    code = fields.String(
        required=True,
        metadata={"description": "Machine-readable error code", "example": "validation_error"},
    )
    errors = fields.Dict(
        required=True,
        metadata={"description": "Field errors: {field: [messages]}; empty when none"},
    )


class MessageSchema(Schema):
    """A plain ``{status, message}`` acknowledgement."""

    status = fields.String(dump_default="ok")
    message = fields.String()


class PageArgs(BaseSchema):
    """``limit``/``offset`` (or ``page``) query arguments shared by every list endpoint."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    page = fields.Integer(
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": "1-based page of `limit` rows; replaces `offset`"},
    )

    @ma.post_load
    def _page_to_offset(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        page = data.pop("page", None)
        if page is not None:
            data["offset"] = (page - 1) * data["limit"]
        return data


def page_fields(items_name: str, item_schema: type[Schema] | Schema) -> dict[str, fields.Field]:
    """Return the fields of a paginated list body ``{<items>: [...], total, limit, offset}``."""
    return {
        "status": fields.String(dump_default="ok"),
        items_name: fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(),
        "limit": fields.Integer(),
        "offset": fields.Integer(),
    }


def as_dumped(body: dict[str, Any]) -> Response:
    """Answer ``body`` as JSON without dumping it through the route's response schema.

    For hot reads whose service already builds exactly the documented shape (numbers as
    numbers, every key): the schema still documents the answer, and a test checks that
    dumping each such body through its schema gives the body back unchanged.
    """
    return jsonify(body)
