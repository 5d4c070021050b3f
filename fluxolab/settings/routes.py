"""HTTP routes of ``/api/settings`` (contract 3.4, 3.6, 3.8 rows 17-23 and 26, section 4).

Any member reads; only admins and owners change anything (keys, alerts, plan, billing).
The plan list is public: the upgrade modal sends no token.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from fluxolab.common.openapi import error_responses
from fluxolab.common.schemas import MessageSchema
from fluxolab.common.security import auth_required, current_actor, public
from fluxolab.settings import alerts, apikeys, environments, service, usage
from fluxolab.settings.schemas import (
    AlertIn,
    AlertOut,
    AlertsOut,
    AlertUpdateIn,
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyTokenOut,
    BillingHistoryOut,
    CancelIn,
    CancelOut,
    EnvironmentOut,
    EnvironmentStatusIn,
    FeatureGatesOut,
    FeatureRequestIn,
    FeatureRequestOut,
    HistoryArgs,
    HistoryOut,
    PlansOut,
    SummaryOut,
    UpgradeIn,
    UpgradeOut,
)

blp = Blueprint(
    "settings",
    __name__,
    url_prefix="/api/settings",
    description="Settings: plan and usage, usage alerts, API keys, billing",
)


@blp.route("/summary")
class Summary(MethodView):
    @auth_required()
    @blp.response(200, SummaryOut)
    def get(self) -> dict[str, Any]:
        """Return the Settings screen summary

        Any member. Plan (with both `code` and `planCode`), usage of the current period,
        API keys (never their tokens), environments, feature gates and the integrations
        stored in the workspace settings.
        """
        return {"status": "ok", "summary": service.summary(current_actor().workspace_id)}


@blp.route("/plans/available")
class AvailablePlans(MethodView):
    @public
    @blp.response(200, PlansOut)
    def get(self) -> dict[str, Any]:
        """List the plans one can subscribe to, by rank

        Public: the upgrade modal calls it without a token.
        """
        return {"status": "ok", "plans": service.available_plans()}


@blp.route("/plans/upgrade")
class PlanUpgrade(MethodView):
    @auth_required("admin")
    @error_responses(409)
    @blp.arguments(UpgradeIn)
    @blp.response(200, UpgradeOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Change the workspace's plan

        Admin or owner. The new plan (and its limits) applies at once and the change is
        recorded; no payment is processed. `immediate` (default true) bills the prorated
        difference of the current cycle now. An unknown plan is a 422; the plan already held,
        or one whose user limit is below the member count, a 409.
        """
        return service.change_plan(
            current_actor(),
            body["planCode"],
            body.get("billingInterval"),
            body.get("immediate", True),
        )


@blp.route("/billing/cancel")
class BillingCancel(MethodView):
    @auth_required("admin")
    @error_responses(409)
    @blp.arguments(CancelIn)
    @blp.response(200, CancelOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Cancel the subscription

        Admin or owner. `immediate` ends it now; otherwise at the renewal date. Recorded;
        already canceled is a 409.
        """
        return service.cancel_subscription(
            current_actor(), body.get("reason"), body.get("immediate", False)
        )


@blp.route("/billing/history")
class BillingHistory(MethodView):
    @auth_required()
    @blp.response(200, BillingHistoryOut)
    def get(self) -> dict[str, Any]:
        """List the recorded plan changes and cancellations, newest first

        Any member (at most the last 100).
        """
        return {"status": "ok", "history": service.billing_history(current_actor().workspace_id)}


@blp.route("/usage/history")
class UsageHistory(MethodView):
    @auth_required()
    @blp.arguments(HistoryArgs, location="query")
    @blp.response(200, HistoryOut)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Return usage over time, one series per metric

        Any member. `period` 1d (hourly) or 7d/30d/90d/365d (daily), or `startDate` /
        `endDate` (at most 366 days); `metric` webhooks, executions, users, workflows or
        all (webhooks, users, workflows). Webhook calls and executions are counted per
        bucket; users and workflows are the count at the end of each bucket.
        """
        data = usage.usage_history(
            current_actor().workspace_id,
            args["period"],
            args["metric"],
            args.get("startDate"),
            args.get("endDate"),
        )
        return {"status": "ok", "data": data}


@blp.route("/usage/alerts")
class UsageAlerts(MethodView):
    @auth_required()
    @blp.response(200, AlertsOut)
    def get(self) -> dict[str, Any]:
        """List the workspace's usage alerts

        Any member.
        """
        return {"status": "ok", "alerts": alerts.list_alerts(current_actor().workspace_id)}

    @auth_required("admin")
    @error_responses(409)
    @blp.arguments(AlertIn)
    @blp.response(201, AlertOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a usage alert

        Admin or owner. `metric` executions, webhooks, workflows or users; it fires when
        the current period's value meets `condition` against `threshold`, at most once per
        `window` (default 24h). At most 50 alerts per workspace (409).
        """
        actor = current_actor()
        alert = alerts.create_alert(actor.workspace_id, actor.user_id, body)
        return {"status": "created", "alert": alert}


@blp.route("/usage/alerts/<uuid:alert_id>")
class UsageAlertItem(MethodView):
    @auth_required("admin")
    @blp.arguments(AlertUpdateIn)
    @blp.response(200, AlertOut)
    def put(self, body: dict[str, Any], alert_id: uuid.UUID) -> dict[str, Any]:
        """Change a usage alert

        Admin or owner. Absent fields are kept; another workspace's alert is a 404.
        """
        alert = alerts.update_alert(current_actor().workspace_id, alert_id, body)
        return {"status": "ok", "alert": alert}

    @auth_required("admin")
    @blp.response(200, MessageSchema)
    def delete(self, alert_id: uuid.UUID) -> dict[str, Any]:
        """Delete a usage alert

        Admin or owner; another workspace's alert is a 404.
        """
        alerts.delete_alert(current_actor().workspace_id, alert_id)
        return {"status": "ok", "message": "Alerta excluido."}


@blp.route("/api/keys")
class ApiKeys(MethodView):
    @auth_required("admin")
    @error_responses(409)
    @blp.arguments(ApiKeyIn)
    @blp.response(201, ApiKeyCreatedOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an API key

        Admin or owner. The answer carries the token (`flx_` + 48 hex characters) once;
        only its hash is stored. `scopes` from workflows, executions, webhooks and
        credentials, each `:read` or `:write`.
        """
        token, key = apikeys.create_key(
            current_actor(), body.get("label"), body["scopes"], body.get("expiresAt")
        )
        return {"status": "created", "token": token, "key": key}


@blp.route("/api/keys/<uuid:key_id>/rotate")
class ApiKeyRotation(MethodView):
    @auth_required("admin")
    @error_responses(409)
    @blp.response(200, ApiKeyTokenOut)
    def put(self, key_id: uuid.UUID) -> dict[str, Any]:
        """Give an API key a new token

        Admin or owner; no body. The old token stops working at once; the new one is shown
        once. A revoked key or another workspace's is a 404, an expired one a 409.
        """
        return {"status": "ok", "token": apikeys.rotate_key(current_actor().workspace_id, key_id)}


@blp.route("/api/keys/<uuid:key_id>")
class ApiKeyItem(MethodView):
    @auth_required("admin")
    @blp.response(200, MessageSchema)
    def delete(self, key_id: uuid.UUID) -> dict[str, Any]:
        """Revoke an API key

        Admin or owner. Its token stops working at once and it leaves the list.
        """
        apikeys.revoke_key(current_actor().workspace_id, key_id)
        return {"status": "ok", "message": "Chave de API revogada."}


@blp.route("/features/gates")
class FeatureGates(MethodView):
    @auth_required()
    @blp.response(200, FeatureGatesOut)
    def get(self) -> dict[str, Any]:
        """List the feature gates and whether the plan includes each

        Any member. The same list as the summary's `featureGates`.
        """
        return {"status": "ok", "gates": service.feature_gates(current_actor().workspace_id)}


@blp.route("/features/request-access")
class FeatureAccessRequest(MethodView):
    @auth_required("admin")
    @blp.arguments(FeatureRequestIn)
    @blp.response(200, FeatureRequestOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Ask for access to a gated feature

        Admin or owner. `featureId` is a gate id (secrets, environments, sso, ldap, logs,
        community); the request is recorded in the workspace settings.
        """
        entry = service.request_feature_access(
            current_actor(), body["featureId"], body.get("reason")
        )
        return {"status": "ok", "message": "Solicitacao registrada.", "request": entry}


@blp.route("/environments/<uuid:environment_id>/status")
class EnvironmentStatus(MethodView):
    @auth_required("admin")
    @error_responses(402)
    @blp.arguments(EnvironmentStatusIn)
    @blp.response(200, EnvironmentOut)
    def put(self, body: dict[str, Any], environment_id: uuid.UUID) -> dict[str, Any]:
        """Activate or deactivate an environment

        Admin or owner. `active` makes it ready, `inactive` disabled. Activating an
        environment other than the sandbox needs the Intermediario plan or above (402);
        another workspace's environment is a 404.
        """
        row = environments.set_status(current_actor().workspace_id, environment_id, body["status"])
        return {"status": "ok", "environment": row}
