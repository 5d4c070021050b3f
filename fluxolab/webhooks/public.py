"""Public webhook routes: ``/api/webhooks/execute/<token>`` and its status poll.

No JWT: the token in the URL finds the webhook and its auth mode decides who may call it.
The view reads the body itself (any content type, up to the webhook's limit), so the
API-wide JSON body checks skip it (``takes_raw_body``) and the intake applies its own.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from fluxolab import logs
from fluxolab.common.jsonbody import takes_raw_body
from fluxolab.common.security import public
from fluxolab.engine.nodes.triggers import HTTP_METHODS
from fluxolab.extensions import client_ip, limiter
from fluxolab.webhooks import intake
from fluxolab.webhooks.answers import Reply

blp = Blueprint(
    "webhook-intake",
    __name__,
    url_prefix="/api/webhooks/execute",
    description="Public webhook endpoints: start a workflow, poll the run it started",
)


@limiter.request_filter
def _own_throttles() -> bool:
    """Skip flask-limiter's per-request limit resolution on the public webhook routes.

    They have no declarative limits: the intake throttles the source IP and the webhook
    itself (``intake.resolve``), and those throttles stay on.
    """
    return request.blueprint == blp.name


def _query() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in request.args:
        values = request.args.getlist(name)
        found[name] = values[0] if len(values) == 1 else values
    return found


def _call(token: str, limit: int | None) -> intake.Call:
    """Read the request; a body past ``limit`` is not read (the intake answers 413)."""
    length = request.content_length
    raw = b""
    if limit is None or length is None or length <= limit:
        try:
            raw = request.get_data(cache=True)
        except RequestEntityTooLarge:
            length = (limit or 0) + 1
    return intake.Call(
        token=token,
        method=request.method,
        headers={name.lower(): value for name, value in request.headers.items()},
        query=_query(),
        raw=raw,
        content_type=request.headers.get("Content-Type", ""),
        source_ip=client_ip(),
        content_length=length,
    )


def respond(reply: Reply) -> Response:
    """Turn an intake reply into the HTTP response."""
    body = reply.body
    if body is None:
        response = Response(status=reply.status)
    elif isinstance(body, str | bytes):
        response = Response(body, status=reply.status, mimetype="text/plain")
    else:
        text = json.dumps(body, ensure_ascii=False, default=str)
        response = Response(text, status=reply.status, mimetype="application/json")
    if reply.content_type:
        response.headers["Content-Type"] = reply.content_type
    for name, value in reply.headers.items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/<string:token>", methods=list(HTTP_METHODS), provide_automatic_options=False)
@blp.doc(summary="Call a webhook (starts its workflow)")
@public
@takes_raw_body
def execute(token: str) -> Response:
    """Call a webhook: start its workflow with this request

    Public: the webhook's auth mode decides (none, basic, bearer, api-key header, or a
    Standard Webhooks HMAC signature). Any body (JSON, form, multipart, text, bytes) up to
    the webhook's limit. Answers by response mode: 202 `{status:"accepted", executionId,
    statusUrl}`, 204, or (waiting modes) the run's result or the Respond to Webhook node's
    answer, falling back to 202. `Idempotency-Key` (or `webhook-id`) repeats get the first
    `executionId`; with another body a 409. Unknown or disabled tokens: 404. 429 with
    `Retry-After` over the rate limits, 402 over the plan quota, 503 while the database is
    down.
    """
    trigger = intake.resolve(token, client_ip())
    logs.annotate(workspace_id=str(trigger.workspace_id))  # for the request's log line
    return respond(intake.receive(trigger, _call(token, intake.max_body(trigger))))


@blp.route(
    "/<string:token>/executions/<uuid:execution_id>",
    methods=["GET"],
    provide_automatic_options=False,
)
@blp.doc(summary="Poll the run a webhook call started")
@public
@takes_raw_body
def execution_status(token: str, execution_id: uuid.UUID) -> Response:
    """Poll the run a webhook call started

    With the same credentials as the call (a signed webhook signs this GET with an empty
    body). Answers `{executionId, status, startedAt, finishedAt, durationMs}` plus `data`
    (the last node's items) once succeeded or `error.message` once failed. Only runs this
    webhook started; anything else is a 404.
    """
    return respond(intake.execution_status(_call(token, 0), execution_id))
