"""HTTP routes of the webhook management API (``/api/webhooks``, contract section 6).

Viewers list and read webhooks and their call logs with the token masked; editors and
above read the full token and create, change, delete and rotate. Ids use the ``uuid``
converter, so the public ``/api/webhooks/execute/<token>`` routes never match here.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from fluxolab.common.openapi import error_responses
from fluxolab.common.ratelimit import throttle
from fluxolab.common.schemas import MessageSchema
from fluxolab.common.security import auth_required, current_actor
from fluxolab.extensions import client_ip
from fluxolab.webhooks import service, testcall
from fluxolab.webhooks.schemas import (
    WebhookBody,
    WebhookCreatedBody,
    WebhookCreateIn,
    WebhookListArgs,
    WebhookListBody,
    WebhookLogArgs,
    WebhookLogListBody,
    WebhookTestBody,
    WebhookTestIn,
    WebhookUpdateIn,
)

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/webhooks",
    description="Webhooks: public endpoints that start workflows, their tokens and call logs",
)


def _scope() -> tuple[uuid.UUID, uuid.UUID]:
    actor = current_actor()
    return actor.workspace_id, actor.user_id


def _reveal() -> bool:
    """Editors and above see full tokens and URLs; viewers see them masked."""
    return current_actor().has_role("editor")


@blp.route("")
class Webhooks(MethodView):
    @auth_required("viewer")
    @blp.arguments(WebhookListArgs, location="query")
    @blp.response(200, WebhookListBody)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List webhooks with their call statistics, newest first

        Viewer or above (viewers get the token and URL masked). Filter: `workflowId`.
        Paginated with `limit`/`offset` or `page`; answers `{webhooks: {webhooks, total}}`.
        `callCount`, `lastCallAt` and `successRate` (share of logged calls answered 2xx,
        null without calls) leave test calls out.
        """
        page, stats = service.list_webhooks(current_actor().workspace_id, **args)
        reveal = _reveal()
        items = [service.view(row, stats.get(row.id), reveal=reveal) for row in page.items]
        return {
            "status": "ok",
            "webhooks": {
                "webhooks": items,
                "total": page.total,
                "limit": page.limit,
                "offset": page.offset,
            },
        }

    @auth_required("editor")
    @blp.arguments(WebhookCreateIn)
    @blp.response(201, WebhookCreatedBody)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a webhook for a workflow

        Editor or above. `workflowId` must be a workflow of the workspace (422 otherwise);
        an `authentication` other than `none` needs `credentialId` of the matching type
        (basic: http-basic, bearer: http-bearer, api-key: http-header, hmac: webhook-hmac).
        The token is generated; the answer carries it and the public URL.
        """
        workspace_id, user_id = _scope()
        row = service.create_webhook(workspace_id, user_id, body)
        return {"status": "created", "webhook": service.detail(row, reveal=True)}


@blp.route("/<uuid:webhook_id>")
class WebhookItem(MethodView):
    @auth_required("viewer")
    @blp.response(200, WebhookBody)
    def get(self, webhook_id: uuid.UUID) -> dict[str, Any]:
        """Get a webhook with its call statistics

        Viewer or above (viewers get the token and URL masked). Another workspace's
        webhook is a 404.
        """
        row = service.get_webhook(current_actor().workspace_id, webhook_id)
        return {"status": "ok", "webhook": service.detail(row, reveal=_reveal())}

    @auth_required("editor")
    @error_responses(409)
    @blp.arguments(WebhookUpdateIn)
    @blp.response(200, WebhookBody)
    def put(self, body: dict[str, Any], webhook_id: uuid.UUID) -> dict[str, Any]:
        """Update a webhook

        Editor or above. Absent fields are kept. A webhook made from a workflow's trigger
        node follows that node: only `rateLimitPerMinute`, `maxBodyBytes` and
        `contentTypes` change here, any other field is a 409 naming it.
        """
        workspace_id, user_id = _scope()
        row = service.update_webhook(workspace_id, webhook_id, user_id, body)
        return {"status": "ok", "webhook": service.detail(row, reveal=True)}

    @auth_required("editor")
    @error_responses(409)
    @blp.response(200, MessageSchema)
    def delete(self, webhook_id: uuid.UUID) -> dict[str, Any]:
        """Delete a webhook and its call logs

        Editor or above. A webhook made from a workflow's trigger node is a 409: remove
        the node, deactivate or delete the workflow instead.
        """
        service.delete_webhook(current_actor().workspace_id, webhook_id)
        return {"status": "ok", "message": "Webhook excluido."}


@blp.route("/<uuid:webhook_id>/rotate-token")
class WebhookRotation(MethodView):
    @auth_required("editor")
    @blp.response(200, WebhookBody)
    def post(self, webhook_id: uuid.UUID) -> dict[str, Any]:
        """Give a webhook (or form) a new token

        Editor or above. The old token stops working at once (the same 404 as an unknown
        one); the answer carries the new token and URL.
        """
        workspace_id, user_id = _scope()
        row = service.rotate_token(workspace_id, webhook_id, user_id)
        return {"status": "ok", "webhook": service.detail(row, reveal=True)}


@blp.route("/<uuid:webhook_id>/test")
class WebhookTest(MethodView):
    @auth_required("editor")
    @error_responses(429)
    @blp.arguments(WebhookTestIn)
    @blp.response(200, WebhookTestBody)
    def post(self, body: dict[str, Any], webhook_id: uuid.UUID) -> dict[str, Any]:
        """Send a sample call to a webhook through the real intake

        Editor or above. The sample (`method`, `headers`, `query`, `body`; default a small
        JSON body) goes through the same checks, storage and response mode as a real call,
        with the webhook's own credentials applied; the run it starts has mode `test` and
        does not count against the plan quota. Answers what the intake answered:
        `{success, status, body, executionId}`. Rate limited per user like node tests.
        """
        workspace_id, user_id = _scope()
        limit = str(current_app.config["NODE_TEST_RATE_LIMIT"])
        throttle(limit, "webhook-test", str(user_id))
        reply = testcall.run_test(workspace_id, webhook_id, body, client_ip())
        execution_id = reply.execution_id
        return {
            "success": 200 <= reply.status < 300,
            "status": reply.status,
            "body": reply.body,
            "executionId": str(execution_id) if execution_id else None,
        }


@blp.route("/<uuid:webhook_id>/logs")
class WebhookLogs(MethodView):
    @auth_required("viewer")
    @blp.arguments(WebhookLogArgs, location="query")
    @blp.response(200, WebhookLogListBody)
    def get(self, args: dict[str, Any], webhook_id: uuid.UUID) -> dict[str, Any]:
        """List a webhook's logged calls, newest first

        Viewer or above. Filters: `status` (`success` = 2xx, `error` = anything else, or
        an exact code), `from` / `to` (ISO-8601; from inclusive, to exclusive). Paginated
        with `limit`/`offset` or `page`; answers `{logs: {logs, total}}`.
        """
        page = service.list_logs(current_actor().workspace_id, webhook_id, **args)
        return {
            "status": "ok",
            "logs": {
                "logs": page.items,
                "total": page.total,
                "limit": page.limit,
                "offset": page.offset,
            },
        }
