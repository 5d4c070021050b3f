"""Request and response bodies of ``/api/users`` (contract 3.4, 3.5 and section 6)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from fluxolab.auth.schemas import HEX_COLOR
from fluxolab.common.fields import Trimmed
from fluxolab.common.schemas import BaseSchema, page_fields
from fluxolab.models import ROLES
from fluxolab.users import preferences as prefs

ROLE_FIELD_ERROR = f"Must be one of: {', '.join(ROLES)}."


def _timezone(value: str) -> None:
    if not prefs.is_valid_timezone(value):
        raise ValidationError("Must be an IANA time zone such as America/Sao_Paulo.")


class StrictBoolean(fields.Boolean):
    """A JSON ``true``/``false`` only (no "yes", 1 or "true" strings)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


def _timezone_field() -> fields.String:
    return fields.String(validate=[validate.Length(max=64), _timezone])


def _language_field() -> fields.String:
    return fields.String(validate=validate.OneOf(prefs.LANGUAGES))


# --- preferences -------------------------------------------------------------------------


class NotificationPrefsIn(BaseSchema):
    email = StrictBoolean()
    push = StrictBoolean()
    workflow = StrictBoolean()


class DashboardPrefsIn(BaseSchema):
    defaultView = fields.String(validate=validate.OneOf(prefs.DEFAULT_VIEWS))
    itemsPerPage = fields.Integer(
        strict=True,
        validate=validate.Range(min=prefs.ITEMS_PER_PAGE_MIN, max=prefs.ITEMS_PER_PAGE_MAX),
    )


class PreferencesIn(BaseSchema):
    """Any subset of the preferences; nested objects may be partial (merged key by key)."""

    theme = fields.String(validate=validate.OneOf(prefs.THEMES))
    language = _language_field()
    timezone = _timezone_field()
    notifications = fields.Nested(NotificationPrefsIn)
    dashboard = fields.Nested(DashboardPrefsIn)


class NotificationPrefsSchema(Schema):
    email = fields.Boolean()
    push = fields.Boolean()
    workflow = fields.Boolean()


class DashboardPrefsSchema(Schema):
    defaultView = fields.String()
    itemsPerPage = fields.Integer()


class UserPreferencesSchema(Schema):
    """The full ``UserPreferences`` object (defaults merged with the user's choices)."""

    theme = fields.String()
    language = fields.String()
    timezone = fields.String()
    notifications = fields.Nested(NotificationPrefsSchema)
    dashboard = fields.Nested(DashboardPrefsSchema)


class PreferencesOut(Schema):
    status = fields.String(dump_default="ok")
    preferences = fields.Nested(UserPreferencesSchema)


# --- profile -------------------------------------------------------------------------------


class UserProfileSchema(Schema):
    id = fields.UUID()
    name = fields.String(metadata={"description": "Same as displayName (NestJS name)"})
    displayName = fields.String(attribute="display_name")
    email = fields.String()
    avatar = fields.Constant(None, metadata={"description": "Always null (no avatar uploads)"})
    avatarColor = fields.String(attribute="avatar_color")
    timezone = fields.String()
    language = fields.String()
    createdAt = fields.DateTime(attribute="created_at")
    updatedAt = fields.DateTime(attribute="updated_at")
    lastLoginAt = fields.DateTime(attribute="last_login_at", allow_none=True)
    preferences = fields.Nested(UserPreferencesSchema)


class ProfileOut(Schema):
    status = fields.String(dump_default="ok")
    profile = fields.Nested(UserProfileSchema)


class ProfileIn(BaseSchema):
    """Changing ``email`` needs ``currentPassword`` (missing: 422, wrong: 403)."""

    displayName = Trimmed(validate=validate.Length(min=2, max=190))
    avatarColor = fields.String(validate=HEX_COLOR)
    timezone = _timezone_field()
    language = _language_field()
    email = fields.Email(validate=validate.Length(max=254))
    currentPassword = fields.String(load_only=True, validate=validate.Length(max=256))


# --- trial info ----------------------------------------------------------------------------


class UserTrialInfoSchema(Schema):
    isTrial = fields.Boolean(attribute="is_trial")
    daysLeft = fields.Integer(attribute="days_left")
    trialEndsAt = fields.DateTime(attribute="trial_ends_at", allow_none=True)
    executionsUsed = fields.Integer(attribute="executions_used")
    executionsLimit = fields.Integer(
        attribute="executions_limit", allow_none=True, metadata={"description": "null: unlimited"}
    )
    planCode = fields.String(attribute="plan_code")
    planName = fields.String(attribute="plan_name")
    features = fields.List(fields.String())
    upgradeUrl = fields.String(attribute="upgrade_url")


class TrialInfoOut(Schema):
    status = fields.String(dump_default="ok")
    trialInfo = fields.Nested(UserTrialInfoSchema)


# --- workspace members ---------------------------------------------------------------------


class WorkspaceMemberSchema(Schema):
    id = fields.UUID(attribute="user_id", metadata={"description": "The member's user id"})
    memberId = fields.UUID(attribute="member_id")
    name = fields.String(metadata={"description": "Same as displayName (NestJS name)"})
    displayName = fields.String(attribute="display_name")
    email = fields.String()
    avatar = fields.Constant(None)
    avatarColor = fields.String(attribute="avatar_color")
    role = fields.String()
    joinedAt = fields.DateTime(attribute="joined_at")
    lastActiveAt = fields.DateTime(attribute="last_active_at", allow_none=True)


class WorkspaceInvitationSchema(Schema):
    id = fields.UUID()
    email = fields.String()
    role = fields.String()
    invitedAt = fields.DateTime(attribute="invited_at")
    expiresAt = fields.DateTime(attribute="expires_at")


MembersOut = Schema.from_dict(
    {
        **page_fields("members", WorkspaceMemberSchema),
        "invitations": fields.List(
            fields.Nested(WorkspaceInvitationSchema),
            metadata={"description": "Pending invitations, oldest first (at most 200)"},
        ),
    },
    name="MembersOut",
)


class MemberIn(BaseSchema):
    """Add an existing user by e-mail, or invite an e-mail that has no account yet."""

    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error=ROLE_FIELD_ERROR))


class MemberRoleIn(BaseSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error=ROLE_FIELD_ERROR))


class MemberOut(Schema):
    status = fields.String(dump_default="ok")
    member = fields.Nested(WorkspaceMemberSchema)


class MemberAddedOut(Schema):
    """``{status:"invited", invitation}``."""

    status = fields.String()
    invitation = fields.Nested(WorkspaceInvitationSchema)


class InvitationAcceptIn(BaseSchema):
    """The token from an invitation e-mail."""

    token = fields.String(required=True, validate=validate.Length(min=10, max=256))


class InvitationAcceptedOut(Schema):
    """The workspace joined and the role held there."""

    status = fields.String()
    workspaceId = fields.UUID()
    role = fields.String()
