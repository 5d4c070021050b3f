"""Request and response bodies of ``/api/settings`` (contract 3.4, 3.6 and section 4).

Numbers are numbers (``priceAmount``, ``threshold``, usage counts), lists are lists, and
``plan.code`` equals ``plan.planCode``. Every request body rejects unknown fields.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import Schema, ValidationError, fields, validate

from fluxolab.common.fields import Trimmed
from fluxolab.common.schemas import BaseSchema
from fluxolab.models import ALERT_CHANNELS, ALERT_CONDITIONS, ALERT_METRICS, API_KEY_SCOPES
from fluxolab.settings.usage import HISTORY_METRICS, PERIODS
from fluxolab.users.schemas import StrictBoolean


def _strict_bool() -> fields.Boolean:
    return StrictBoolean()


# --- plans -----------------------------------------------------------------------------------


class PlanLimitsSchema(Schema):
    workspaces = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})
    users = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})
    webhook = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})


class PlanSchema(Schema):
    """One plan of the public list (the upgrade modal)."""

    code = fields.String()
    name = fields.String()
    description = fields.String()
    priceAmount = fields.Float()
    currency = fields.String(metadata={"example": "BRL"})
    billingInterval = fields.String()
    trialDays = fields.Integer()
    features = fields.List(fields.String())
    limits = fields.Nested(PlanLimitsSchema)
    popular = fields.Boolean()


class PlansOut(Schema):
    status = fields.String(dump_default="ok")
    plans = fields.List(fields.Nested(PlanSchema))


class UpgradeIn(BaseSchema):
    planCode = fields.String(
        required=True, validate=validate.Length(min=1, max=32), metadata={"example": "basico"}
    )
    billingInterval = fields.String(validate=validate.OneOf(["month", "year"]))
    immediate = _strict_bool()


class BillingInfoSchema(Schema):
    nextBillingDate = fields.DateTime(allow_none=True)
    proratedAmount = fields.Float()
    currency = fields.String()


class UpgradeOut(Schema):
    status = fields.String()
    success = fields.Boolean()
    newPlan = fields.Nested(PlanSchema)
    billingInfo = fields.Nested(BillingInfoSchema)
    message = fields.String()


class CancelIn(BaseSchema):
    reason = Trimmed(validate=validate.Length(max=500))
    immediate = _strict_bool()


class CancelOut(Schema):
    status = fields.String()
    success = fields.Boolean()
    subscriptionStatus = fields.String()
    endsAt = fields.DateTime()
    message = fields.String()


class BillingEventSchema(Schema):
    id = fields.UUID()
    kind = fields.String(metadata={"description": "plan_change or cancel"})
    fromPlan = fields.String(allow_none=True)
    toPlan = fields.String(allow_none=True)
    billingInterval = fields.String(allow_none=True)
    immediate = fields.Boolean()
    amount = fields.Float()
    currency = fields.String()
    reason = fields.String(allow_none=True)
    createdAt = fields.DateTime()


class BillingHistoryOut(Schema):
    status = fields.String(dump_default="ok")
    history = fields.List(fields.Nested(BillingEventSchema))


# --- summary ---------------------------------------------------------------------------------


class WorkspacePlanSchema(Schema):
    id = fields.UUID()
    code = fields.String()
    planCode = fields.String(metadata={"description": "Same as code"})
    name = fields.String()
    description = fields.String()
    priceAmount = fields.Float()
    currency = fields.String(metadata={"example": "BRL"})
    billingInterval = fields.String()
    trialDays = fields.Integer()
    limits = fields.Nested(PlanLimitsSchema)
    features = fields.Dict(
        keys=fields.String(),
        values=fields.Boolean(),
        metadata={"description": "Feature gate id: included in the plan"},
    )
    highlights = fields.List(fields.String(), metadata={"description": "The plan's features"})
    subscriptionStatus = fields.String()
    trialEndsAt = fields.DateTime(allow_none=True)
    renewsAt = fields.DateTime(allow_none=True)


class UsageSchema(Schema):
    workflowsActive = fields.Integer()
    usersActive = fields.Integer()
    webhookEvents = fields.Integer(metadata={"description": "Webhook calls this usage period"})
    executions = fields.Integer(metadata={"description": "Executions this usage period"})
    periodStart = fields.DateTime()
    collectedAt = fields.DateTime()


class CreatorSchema(Schema):
    id = fields.UUID()
    email = fields.String()


class ApiKeySchema(Schema):
    """A key as listed: never its token or hash."""

    id = fields.UUID()
    label = fields.String()
    keyPreview = fields.String(metadata={"example": "flx_...abcd"})
    scopes = fields.List(fields.String())
    status = fields.String(
        metadata={"description": "active, expired, inactive (its creator left the workspace)"}
    )
    createdAt = fields.DateTime()
    lastUsedAt = fields.DateTime(allow_none=True)
    expiresAt = fields.DateTime(allow_none=True)
    createdBy = fields.Nested(CreatorSchema, allow_none=True)


class EnvironmentSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    slug = fields.String()
    type = fields.String()
    region = fields.String(allow_none=True)
    status = fields.String()
    lastSyncedAt = fields.DateTime(allow_none=True)


class FeatureGateSchema(Schema):
    id = fields.String()
    title = fields.String()
    requiredPlan = fields.String()
    status = fields.String(metadata={"description": "available, requires_upgrade, ..."})
    copy = fields.String()


def _nullable_strings(*names: str) -> dict[str, fields.Field]:
    return {name: fields.String(allow_none=True) for name in names}


SecretProviderSchema = Schema.from_dict(
    _nullable_strings("provider", "status", "lastSyncedAt"), name="SecretProvider"
)
SsoProviderSchema = Schema.from_dict(
    _nullable_strings("provider", "status", "enabledAt", "disabledAt"), name="SsoProvider"
)
LdapSchema = Schema.from_dict(
    _nullable_strings("status", "host", "baseDn", "lastSyncedAt"), name="Ldap"
)
LogDestinationSchema = Schema.from_dict(
    {
        **_nullable_strings("destination", "status", "lastStreamedAt"),
        "details": fields.Raw(allow_none=True),
    },
    name="LogDestination",
)
ConnectorSchema = Schema.from_dict(
    _nullable_strings("name", "author", "status", "createdAt"), name="CommunityConnector"
)


class FeatureGatesOut(Schema):
    status = fields.String(dump_default="ok")
    gates = fields.List(fields.Nested(FeatureGateSchema))


class FeatureRequestIn(BaseSchema):
    featureId = fields.String(
        required=True, validate=validate.Length(min=1, max=64), metadata={"example": "sso"}
    )
    reason = Trimmed(validate=validate.Length(max=500))


class FeatureRequestSchema(Schema):
    featureId = fields.String()
    reason = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending"})
    requestedBy = fields.String()
    requestedAt = fields.String()


class FeatureRequestOut(Schema):
    status = fields.String(dump_default="ok")
    message = fields.String()
    request = fields.Nested(FeatureRequestSchema)


class EnvironmentStatusIn(BaseSchema):
    status = fields.String(
        required=True,
        validate=validate.OneOf(["active", "inactive"]),
        metadata={"description": "active: ready, inactive: disabled"},
    )


class EnvironmentOut(Schema):
    status = fields.String(dump_default="ok")
    environment = fields.Nested(EnvironmentSchema)


class SummarySchema(Schema):
    workspaceId = fields.UUID()
    plan = fields.Nested(WorkspacePlanSchema)
    usage = fields.Nested(UsageSchema)
    apiKeys = fields.List(fields.Nested(ApiKeySchema))
    environments = fields.List(fields.Nested(EnvironmentSchema))
    featureGates = fields.List(fields.Nested(FeatureGateSchema))
    secretProviders = fields.List(fields.Nested(SecretProviderSchema))
    ssoProviders = fields.List(fields.Nested(SsoProviderSchema))
    ldap = fields.Nested(LdapSchema, allow_none=True)
    logDestinations = fields.List(fields.Nested(LogDestinationSchema))
    communityConnectors = fields.List(fields.Nested(ConnectorSchema))


class SummaryOut(Schema):
    status = fields.String(dump_default="ok")
    summary = fields.Nested(SummarySchema)


# --- API keys --------------------------------------------------------------------------------


class ApiKeyIn(BaseSchema):
    label = Trimmed(validate=validate.Length(max=120), metadata={"example": "API Key 03/12"})
    scopes = fields.List(
        fields.String(validate=validate.Length(max=64)),
        required=True,
        validate=validate.Length(min=1, max=len(API_KEY_SCOPES)),
        metadata={"example": ["workflows:read"], "description": ", ".join(API_KEY_SCOPES)},
    )
    expiresAt = fields.AwareDateTime(allow_none=True)


class ApiKeyCreatedOut(Schema):
    status = fields.String(dump_default="created")
    token = fields.String(metadata={"description": "Shown once: flx_ + 48 hex characters"})
    key = fields.Nested(ApiKeySchema)


class ApiKeyTokenOut(Schema):
    status = fields.String(dump_default="ok")
    token = fields.String(metadata={"description": "The new token, shown once"})


# --- usage alerts ----------------------------------------------------------------------------


class _AlertFields(BaseSchema):
    threshold = fields.Float(
        allow_nan=False,
        validate=validate.Range(min=0, max=999_999_999_999),
        metadata={"example": 100},
    )
    condition = fields.String(validate=validate.OneOf(ALERT_CONDITIONS))
    window = fields.String(
        validate=validate.Regexp(r"^[1-9][0-9]{0,3}[mhd]$"), metadata={"example": "24h"}
    )
    channel = fields.String(validate=validate.OneOf(ALERT_CHANNELS))
    enabled = _strict_bool()
    metadata = fields.Dict(keys=fields.String(validate=validate.Length(max=64)))

    @ma.validates("metadata")
    def _small(self, value: dict[str, Any], **_: Any) -> None:
        if len(value) > 20 or len(str(value)) > 4000:
            raise ValidationError("At most 20 keys and 4000 characters.")


class AlertIn(_AlertFields):
    metric = fields.String(
        required=True, validate=validate.OneOf(ALERT_METRICS), metadata={"example": "webhooks"}
    )
    threshold = fields.Float(
        required=True,
        allow_nan=False,
        validate=validate.Range(min=0, max=999_999_999_999),
        metadata={"example": 100},
    )
    condition = fields.String(
        load_default="greater_than", validate=validate.OneOf(ALERT_CONDITIONS)
    )


class AlertUpdateIn(_AlertFields):
    metric = fields.String(validate=validate.OneOf(ALERT_METRICS))


class AlertSchema(Schema):
    id = fields.UUID()
    metric = fields.String()
    threshold = fields.Float()
    condition = fields.String()
    window = fields.String()
    channel = fields.String()
    enabled = fields.Boolean()
    metadata = fields.Dict()
    lastTriggeredAt = fields.DateTime(allow_none=True)
    lastValue = fields.Float(allow_none=True)
    createdAt = fields.DateTime()
    updatedAt = fields.DateTime()


class AlertsOut(Schema):
    status = fields.String(dump_default="ok")
    alerts = fields.List(fields.Nested(AlertSchema))


class AlertOut(Schema):
    status = fields.String(dump_default="ok")
    alert = fields.Nested(AlertSchema)


# --- usage history ---------------------------------------------------------------------------


class HistoryArgs(BaseSchema):
    period = fields.String(load_default="30d", validate=validate.OneOf(list(PERIODS)))
    metric = fields.String(load_default="all", validate=validate.OneOf([*HISTORY_METRICS, "all"]))
    startDate = fields.AwareDateTime()
    endDate = fields.AwareDateTime()


class HistoryPointSchema(Schema):
    date = fields.String(metadata={"description": "Bucket start, ISO-8601 UTC"})
    value = fields.Integer()
    label = fields.String()


class HistorySummarySchema(Schema):
    total = fields.Integer()
    average = fields.Float()
    peak = fields.Integer()
    growth = fields.Float(metadata={"description": "Last bucket against the first, in %"})


class HistorySeriesSchema(Schema):
    metric = fields.String()
    period = fields.String()
    data = fields.List(fields.Nested(HistoryPointSchema))
    summary = fields.Nested(HistorySummarySchema)


class HistoryOut(Schema):
    status = fields.String(dump_default="ok")
    data = fields.List(fields.Nested(HistorySeriesSchema))
