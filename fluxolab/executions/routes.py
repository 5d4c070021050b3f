"""HTTP routes: run a workflow, list, inspect, cancel, retry, delete and approve executions."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from fluxolab.common.openapi import error_responses
from fluxolab.common.schemas import MessageSchema
from fluxolab.common.security import auth_required, current_actor
from fluxolab.errors import UnsupportedMediaType
from fluxolab.executions import service
from fluxolab.executions.items import to_items
from fluxolab.executions.schemas import (
    Accepted,
    ApprovalIn,
    ExecutionBody,
    ExecutionListArgs,
    ExecutionPage,
    RetryIn,
    WorkflowExecutionArgs,
)
from fluxolab.models import Execution

blp = Blueprint("executions", __name__, url_prefix="/api", description="Workflow runs")

RUN_BODY_DOC = {
    "requestBody": {
        "required": False,
        "description": "Input: an object (one item), a list of objects, or a list of "
        "{json} items. Empty means one empty item.",
        "content": {"application/json": {"schema": {}}},
    }
}


LIST_FIELDS = (
    "id",
    "workflow_id",
    "version",
    "status",
    "mode",
    "created_at",
    "started_at",
    "finished_at",
    "duration_ms",
    "error",
    "retry_of_id",
    "parent_execution_id",
    "depth",
)
DETAIL_FIELDS = (*LIST_FIELDS, "input_items", "output_items", "response", "request_id")


def execution_view(
    execution: Execution, workflow_name: str | None, *, detail: bool = False
) -> dict[str, Any]:
    """Flatten an execution (plus its workflow name) for the output schemas."""
    view = {name: getattr(execution, name) for name in (DETAIL_FIELDS if detail else LIST_FIELDS)}
    view["workflow_name"] = workflow_name
    view["waiting_for"] = (
        {
            "kind": execution.wait_kind,
            "nodeId": execution.waiting_node_id,
            "until": execution.wait_until.isoformat() if execution.wait_until else None,
        }
        if execution.status == "waiting"
        else None
    )
    return view


def _accepted(execution: Execution) -> dict[str, Any]:
    return {
        "status": "accepted",
        "executionId": execution.id,
        "statusUrl": f"/api/executions/{execution.id}",
        "retryOfId": execution.retry_of_id,
    }


def _run_input() -> list[dict[str, Any]]:
    if not request.get_data(cache=True):
        return to_items(None)
    if not request.is_json:
        raise UnsupportedMediaType("Envie a entrada como application/json.")
    return to_items(request.get_json())


def _start(workflow_id: uuid.UUID) -> dict[str, Any]:
    actor = current_actor()
    key = request.headers.get("Idempotency-Key")
    execution = service.create_execution(
        actor.workspace_id,
        workflow_id,
        _run_input(),
        mode="manual",
        user_id=actor.user_id,
        idempotency_key=f"manual:{workflow_id}:{key[:200]}" if key else None,
    )
    return _accepted(execution)


@blp.route("/workflows/<uuid:workflow_id>/run")
class RunWorkflow(MethodView):
    @auth_required("editor")
    @error_responses(402, 409)
    @blp.doc(**RUN_BODY_DOC)
    @blp.response(202, Accepted)
    def post(self, workflow_id: uuid.UUID) -> dict[str, Any]:
        """Queue a manual run of the workflow's current version

        Editor or above. Answers 202 with the execution id at once; the run happens on a
        worker. An `Idempotency-Key` header makes retries of the same request return the
        first execution. 422 when the workflow cannot run, 402 over the plan's quota.
        """
        return _start(workflow_id)


@blp.route("/workflows/<uuid:workflow_id>/test")
class TestWorkflow(MethodView):
    @auth_required("editor")
    @error_responses(402, 409)
    @blp.doc(**RUN_BODY_DOC)
    @blp.response(202, Accepted)
    def post(self, workflow_id: uuid.UUID) -> dict[str, Any]:
        """Queue a test run (same as run; kept for the frontend's client)

        Editor or above.
        """
        return _start(workflow_id)


@blp.route("/workflows/<uuid:workflow_id>/executions")
class WorkflowExecutions(MethodView):
    @auth_required()
    @blp.arguments(WorkflowExecutionArgs, location="query")
    @blp.response(200, ExecutionPage)
    def get(self, args: dict[str, Any], workflow_id: uuid.UUID) -> dict[str, Any]:
        """List a workflow's executions, newest first

        Any member.
        """
        filters = service.ExecutionFilters(workflow_id=workflow_id, status=args["status"])
        return _page(filters, args)


def _page(filters: service.ExecutionFilters, args: dict[str, Any]) -> dict[str, Any]:
    page = service.list_executions(
        current_actor().workspace_id, filters, args["limit"], args["offset"]
    )
    return page.body("executions", [execution_view(row[0], row[1]) for row in page.items])


@blp.route("/executions")
class Executions(MethodView):
    @auth_required()
    @blp.arguments(ExecutionListArgs, location="query")
    @blp.response(200, ExecutionPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List executions, newest first

        Any member. Filters: workflowId, status, mode, startDate/endDate (ISO-8601).
        """
        filters = service.ExecutionFilters(
            workflow_id=args["workflowId"],
            status=args["status"],
            mode=args["mode"],
            start=args["startDate"],
            end=args["endDate"],
        )
        return _page(filters, args)


def _detail(execution: Execution) -> dict[str, Any]:
    view = execution_view(execution, service.workflow_name(execution), detail=True)
    view["steps"] = service.get_steps(execution.id)
    return {"status": "ok", "execution": view}


@blp.route("/executions/<uuid:execution_id>")
class ExecutionItem(MethodView):
    @auth_required()
    @blp.response(200, ExecutionBody)
    def get(self, execution_id: uuid.UUID) -> dict[str, Any]:
        """Show one execution with its steps

        Any member.
        """
        return _detail(service.get_execution(current_actor().workspace_id, execution_id))

    @auth_required("editor")
    @error_responses(409)
    @blp.response(200, MessageSchema)
    def delete(self, execution_id: uuid.UUID) -> dict[str, Any]:
        """Delete a finished execution and its steps

        Editor or above. Unfinished executions must be canceled first (409).
        """
        service.delete(current_actor().workspace_id, execution_id)
        return {"status": "ok", "message": "Execucao removida."}


@blp.route("/executions/<uuid:execution_id>/cancel")
class CancelExecution(MethodView):
    @auth_required("editor")
    @error_responses(409)
    @blp.response(200, ExecutionBody)
    def post(self, execution_id: uuid.UUID) -> dict[str, Any]:
        """Cancel an execution

        Editor or above. Queued never starts; running stops before its next node; waiting is
        canceled. 409 when it already finished.
        """
        return _detail(service.cancel(current_actor().workspace_id, execution_id))


@blp.route("/executions/<uuid:execution_id>/retry")
class RetryExecution(MethodView):
    @auth_required("editor")
    @error_responses(402, 409)
    @blp.arguments(RetryIn, required=False)
    @blp.response(202, Accepted)
    def post(self, body: dict[str, Any], execution_id: uuid.UUID) -> dict[str, Any]:
        """Run a finished execution again with the same input

        Editor or above. `version` is "original" (default) or "current". The new execution
        links to the original (`retryOfId`).
        """
        actor = current_actor()
        execution = service.retry(actor.workspace_id, execution_id, body["version"], actor.user_id)
        return _accepted(execution)


@blp.route("/executions/<uuid:execution_id>/approval")
class ApproveExecution(MethodView):
    @auth_required("editor")
    @error_responses(409)
    @blp.arguments(ApprovalIn)
    @blp.response(202, Accepted)
    def post(self, body: dict[str, Any], execution_id: uuid.UUID) -> dict[str, Any]:
        """Approve or reject the approval node an execution is waiting on

        Editor or above. Names the node; records who decided. 409 when not waiting for it.
        """
        actor = current_actor()
        execution = service.decide_approval(
            actor.workspace_id,
            execution_id,
            body["nodeId"],
            body["approved"],
            body["comment"],
            actor.user_id,
        )
        return _accepted(execution)
