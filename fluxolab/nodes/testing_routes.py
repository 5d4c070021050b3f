"""HTTP routes of ``/api/workflows/nodes/test``: run one node on a worker, read its result.

The blueprint is registered before the workflows one, and ``/api/workflows/<uuid:...>``
routes only match UUIDs, so ``/api/workflows/nodes/test`` never reaches them.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from fluxolab.common.openapi import error_responses
from fluxolab.common.ratelimit import throttle
from fluxolab.common.security import auth_required, current_actor
from fluxolab.nodes import testing
from fluxolab.nodes.testing_schemas import NodeTestBody, NodeTestIn

blp = Blueprint(
    "node-tests",
    __name__,
    url_prefix="/api/workflows/nodes",
    description="Testing one node with sample input on a worker",
)


def _answer(view: testing.TestView) -> tuple[dict[str, Any], int]:
    """200 with the result once finished, else 202 with where to poll."""
    body: dict[str, Any] = {
        "status": view.status,
        "testId": view.test_id,
        "statusUrl": f"/api/workflows/nodes/test/{view.test_id}",
    }
    if view.finished and view.result is not None:
        body["result"] = view.result
        return body, 200
    return body, 202


@blp.route("/test")
class NodeTests(MethodView):
    @auth_required("editor")
    @error_responses(429)
    @blp.arguments(NodeTestIn)
    @blp.response(200, NodeTestBody)
    @blp.alt_response(202, schema=NodeTestBody, description="Still running: poll statusUrl")
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Test one node with sample input

        Editor or above. A worker runs the node for real (same engine, egress guard and
        sandbox as a run); the request waits for it up to `NODE_TEST_WAIT_SECONDS` and
        answers 200 `{result: {success, output, logs, durationMs, error?}}`. Past the wait,
        or when too many requests already wait in this API process, it answers 202 with
        `testId` and `statusUrl` at once. An unknown `nodeType` is a 422. Rate limited per
        user (`NODE_TEST_RATE_LIMIT`, 429 with Retry-After); never counts against the
        plan's execution quota. 503 when the task broker is down.
        """
        actor = current_actor()
        throttle(
            str(current_app.config["NODE_TEST_RATE_LIMIT"]), "node-test", f"user:{actor.user_id}"
        )
        view = testing.start_test(
            actor.workspace_id,
            actor.user_id,
            body["nodeType"],
            body["config"],
            body["inputData"],
            body["credentialId"],
        )
        return _answer(view)


@blp.route("/test/<uuid:test_id>")
class NodeTestItem(MethodView):
    @auth_required()
    @blp.response(200, NodeTestBody)
    @blp.alt_response(202, schema=NodeTestBody, description="Still running: poll again")
    def get(self, test_id: uuid.UUID) -> tuple[dict[str, Any], int]:
        """Get the result of a node test

        The user who started it only (another user's, another workspace's or an expired
        test is a 404). 200 with `result` once finished, 202 while queued or running.
        Results are kept for `NODE_TEST_RESULT_TTL_SECONDS`.
        """
        actor = current_actor()
        return _answer(testing.get_test(actor.workspace_id, actor.user_id, test_id))
