"""HTTP routes of ``/api/dashboard`` (contract 3.1 and the dormant ``dashboard.service.ts``).

Reads only: every member of the workspace (viewers included) may call them.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from fluxolab.common.schemas import PageArgs, as_dumped
from fluxolab.common.security import auth_required, current_actor
from fluxolab.dashboard import service, summary
from fluxolab.dashboard.schemas import (
    CredentialCardsBody,
    DashboardExecutionArgs,
    DashboardWorkflowArgs,
    ExecutionCardsBody,
    OverviewBody,
    SearchArgs,
    StatsArgs,
    StatsBody,
    WorkflowCardsBody,
)

blp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/api/dashboard",
    description="The dashboard: production stats, workflow cards, executions, credentials",
)


@blp.route("/overview")
class Overview(MethodView):
    @auth_required("viewer")
    @blp.response(200, OverviewBody)
    def get(self) -> Response:
        """Dashboard overview: last 7 days' stats, workflow cards, trial bar

        Any member. `stats` counts production runs (webhook, schedule, form, error and the
        sub-executions they started) in the last 7 days of the workspace's time zone, today
        included; `workflows` are the 50 most recently updated cards.
        """
        return as_dumped(service.overview(current_actor().workspace_id))


@blp.route("/stats")
class Stats(MethodView):
    @auth_required("viewer")
    @blp.arguments(StatsArgs, location="query")
    @blp.response(200, StatsBody)
    def get(self, args: dict[str, Any]) -> Response:
        """Production stats of a period, against the previous one

        Any member. `period`: 24h (hourly), 7d, 14d, 30d, 90d, Nd/Nw/Nm/Ny (daily, whole days
        of the workspace's time zone, today included) or custom with `from`/`to` (local
        dates, inclusive). Changes compare with the stretch of equal length just before.
        """
        workspace_id = current_actor().workspace_id
        body = summary.read_window(
            workspace_id,
            args["period"],
            lambda window: summary.period_stats(workspace_id, window),
            first_day=args["from"],
            last_day=args["to"],
        )
        return as_dumped(body)


@blp.route("/workflows")
class Workflows(MethodView):
    @auth_required("viewer")
    @blp.arguments(DashboardWorkflowArgs, location="query")
    @blp.response(200, WorkflowCardsBody)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List workflow cards (flat `{workflows, total}`)

        Any member. Filters: `search` (part of the name, any case), `status` (card status);
        `sort` by name, status, created, updated or executions, `-` for descending
        (default `-updated`). Paginated with `limit`/`offset` or `page`.
        """
        return service.list_workflows(current_actor().workspace_id, **args)


@blp.route("/workflows/search")
class WorkflowSearch(MethodView):
    @auth_required("viewer")
    @blp.arguments(SearchArgs, location="query")
    @blp.response(200, WorkflowCardsBody)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Search workflow cards by name (search as you type)

        Any member. `q` is matched case-insensitively anywhere in the name (an index scan
        on PostgreSQL); results by name.
        """
        return service.search_workflows(current_actor().workspace_id, args["q"], args["limit"])


@blp.route("/executions")
class Executions(MethodView):
    @auth_required("viewer")
    @blp.arguments(DashboardExecutionArgs, location="query")
    @blp.response(200, ExecutionCardsBody)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List executions for the dashboard, newest first

        Any member. Every mode. Filters: `workflowId` (another workspace's is a 404),
        `status`, `from`/`to` (created at, ISO-8601).
        """
        return service.list_executions(
            current_actor().workspace_id,
            workflow_id=args["workflowId"],
            status=args["status"],
            start=args["from"],
            end=args["to"],
            limit=args["limit"],
            offset=args["offset"],
        )


@blp.route("/credentials")
class Credentials(MethodView):
    @auth_required("viewer")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, CredentialCardsBody)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List credentials for the dashboard (never a secret)

        Any member; `isActive` and `lastUsedAt` are null for viewers (as in the credentials
        list). Paginated with `limit`/`offset` or `page`.
        """
        actor = current_actor()
        return service.list_credentials(
            actor.workspace_id, args["limit"], args["offset"], full=actor.has_role("editor")
        )
