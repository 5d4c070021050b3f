"""Request and response bodies of the auth routes (contract section 2)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from fluxolab.common.fields import Trimmed
from fluxolab.common.schemas import BaseSchema

HEX_COLOR = validate.Regexp(r"^#[0-9A-Fa-f]{6}$", error="Must be a hex colour like #6366F1.")


class UserOut(Schema):
    """The user object the frontend stores after login."""

    id = fields.UUID()
    email = fields.String()
    displayName = fields.String(attribute="display_name")
    avatarColor = fields.String(attribute="avatar_color")
    createdAt = fields.DateTime(attribute="created_at")
    updatedAt = fields.DateTime(attribute="updated_at")
    lastLoginAt = fields.DateTime(attribute="last_login_at", allow_none=True)
    workspaceId = fields.UUID(attribute="workspace_id", allow_none=True)


class LoginIn(BaseSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=6, max=256)
    )


class LoginOut(Schema):
    status = fields.String(dump_default="ok")
    token = fields.String(metadata={"description": "Access token (Bearer), 12 h by default"})
    refreshToken = fields.String(metadata={"description": "Single-use refresh token"})
    user = fields.Nested(UserOut)


class RegisterIn(BaseSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=72))
    displayName = Trimmed(required=True, validate=validate.Length(min=2, max=190))
    avatarColor = fields.String(load_default=None, validate=HEX_COLOR)
    accessToken = fields.String(
        load_default=None, load_only=True, validate=validate.Length(max=256)
    )
    inviteToken = fields.String(
        load_default=None,
        load_only=True,
        validate=validate.Length(max=256),
        metadata={"description": "Token from a workspace invitation e-mail: join that workspace"},
    )


class RegisteredUserOut(Schema):
    id = fields.UUID()
    email = fields.String()
    displayName = fields.String(attribute="display_name")
    avatarColor = fields.String(attribute="avatar_color")
    workspaceId = fields.UUID(attribute="default_workspace_id")


class RegisterOut(Schema):
    status = fields.String(dump_default="created")
    user = fields.Nested(RegisteredUserOut)


class MeOut(Schema):
    status = fields.String(dump_default="ok")
    user = fields.Nested(UserOut)


class RefreshIn(BaseSchema):
    refreshToken = fields.String(required=True, validate=validate.Length(max=4096))


class ForgotIn(BaseSchema):
    identifier = fields.String(required=True, validate=validate.Length(max=150))


class VerifyIn(BaseSchema):
    identifier = fields.String(required=True, validate=validate.Length(max=150))
    code = fields.String(
        required=True, validate=validate.Regexp(r"^\d{6}$", error="Must be 6 digits.")
    )


class VerifyOut(Schema):
    status = fields.String(dump_default="ok")
    resetToken = fields.String()


class ResetIn(BaseSchema):
    resetToken = fields.String(required=True, validate=validate.Length(max=4096))
    newPassword = fields.String(
        required=True, load_only=True, validate=validate.Length(min=8, max=72)
    )


class OAuthArgs(BaseSchema):
    redirect = fields.String(load_default=None, validate=validate.Length(max=512))
