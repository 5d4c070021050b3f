"""HTTP routes of ``/api/workflows`` (contract 3.1, 3.2, 4 and 6).

Every id route uses the ``uuid`` converter so ``/api/workflows/credentials`` and
``/api/workflows/nodes/...`` (other blueprints) never match here.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from fluxolab.common.openapi import error_responses
from fluxolab.common.schemas import MessageSchema, PageArgs
from fluxolab.common.security import auth_required, current_actor
from fluxolab.workflows import queries, service
from fluxolab.workflows.schemas import (
    DashboardWorkflowBody,
    StatusIn,
    VersionBody,
    VersionListBody,
    WorkflowBody,
    WorkflowCreatedBody,
    WorkflowCreateIn,
    WorkflowListArgs,
    WorkflowListBody,
    WorkflowUpdateIn,
)

blp = Blueprint(
    "workflows",
    __name__,
    url_prefix="/api/workflows",
    description="Workflows, their versions and activation",
)


def _scope() -> tuple[uuid.UUID, uuid.UUID]:
    """Return the caller's (workspace id, user id)."""
    actor = current_actor()
    return actor.workspace_id, actor.user_id


@blp.route("")
class Workflows(MethodView):
    @auth_required("viewer")
    @blp.arguments(WorkflowListArgs, location="query")
    @blp.response(200, WorkflowListBody)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List workflows

        Viewer or above. Filters: `search` (case-insensitive part of the name), `status`,
        `tag`; `sort` is a field with an optional `-` for descending (default `-updatedAt`).
        Paginated with `limit`/`offset` or `page`.
        """
        page = queries.list_workflows(current_actor().workspace_id, **args)
        return page.body("workflows", page.items)

    @auth_required("editor")
    @error_responses(402)
    @blp.arguments(WorkflowCreateIn)
    @blp.response(201, WorkflowCreatedBody)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a workflow (status draft, version 1)

        Editor or above. Names need not be unique. The definition is saved permissively
        (any node type); it is checked for runnability on activation. Over the plan's
        workflow quota is a 402.
        """
        workspace_id, user_id = _scope()
        return {
            "status": "created",
            "workflow": service.create_workflow(workspace_id, user_id, body),
        }


@blp.route("/<uuid:workflow_id>")
class WorkflowItem(MethodView):
    @auth_required("viewer")
    @blp.response(200, WorkflowBody)
    def get(self, workflow_id: uuid.UUID) -> dict[str, Any]:
        """Get a workflow with the definition of its current version

        Viewer or above. Another workspace's or a deleted workflow is a 404.
        """
        workflow = service.get_workflow(current_actor().workspace_id, workflow_id)
        return {"status": "ok", "workflow": service.detail(workflow)}

    @auth_required("editor")
    @error_responses(409)
    @blp.arguments(WorkflowUpdateIn)
    @blp.response(200, WorkflowBody)
    def put(self, body: dict[str, Any], workflow_id: uuid.UUID) -> dict[str, Any]:
        """Update a workflow; a changed definition becomes a new version

        Editor or above. An identical definition adds no version. An active workflow
        must stay runnable: a definition that cannot run is a 422 and nothing changes.
        """
        workspace_id, user_id = _scope()
        workflow = service.update_workflow(workspace_id, workflow_id, user_id, body)
        return {"status": "ok", "workflow": workflow}

    @auth_required("editor")
    @blp.response(200, MessageSchema)
    def delete(self, workflow_id: uuid.UUID) -> dict[str, Any]:
        """Delete a workflow (soft delete; its versions stay for past executions)

        Editor or above.
        """
        workspace_id, user_id = _scope()
        service.delete_workflow(workspace_id, workflow_id, user_id)
        return {"status": "ok", "message": "Workflow deleted successfully"}


@blp.route("/<uuid:workflow_id>/status")
class WorkflowStatus(MethodView):
    @auth_required("editor")
    @error_responses(409)
    @blp.arguments(StatusIn)
    @blp.response(200, DashboardWorkflowBody)
    def patch(self, body: dict[str, Any], workflow_id: uuid.UUID) -> dict[str, Any]:
        """Activate or deactivate a workflow (the dashboard toggle)

        Editor or above. Activation needs a runnable definition (known node types, valid
        configs and connections, no cycle, a trigger); otherwise a 422 naming the problem.
        Answers the dashboard card shape.
        """
        workspace_id, user_id = _scope()
        workflow = service.set_active(workspace_id, workflow_id, user_id, body["active"])
        return {"status": "ok", "workflow": service.dashboard_workflows([workflow])[0]}


@blp.route("/<uuid:workflow_id>/duplicate")
class WorkflowDuplicate(MethodView):
    @auth_required("editor")
    @error_responses(402, 409)
    @blp.response(201, WorkflowCreatedBody)
    def post(self, workflow_id: uuid.UUID) -> dict[str, Any]:
        """Duplicate a workflow as "<name> (copy)" (draft, version 1)

        Editor or above. Counts toward the plan's workflow quota (402).
        """
        workspace_id, user_id = _scope()
        copy = service.duplicate_workflow(workspace_id, workflow_id, user_id)
        return {"status": "created", "workflow": copy}


@blp.route("/<uuid:workflow_id>/versions")
class WorkflowVersions(MethodView):
    @auth_required("viewer")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, VersionListBody)
    def get(self, args: dict[str, Any], workflow_id: uuid.UUID) -> dict[str, Any]:
        """List a workflow's versions, newest first

        Viewer or above. Paginated with `limit`/`offset` or `page`.
        """
        workflow = service.get_workflow(current_actor().workspace_id, workflow_id)
        page = service.list_versions(workflow, args["limit"], args["offset"])
        return page.body("versions", page.items)


@blp.route("/<uuid:workflow_id>/versions/<int:version>")
class WorkflowVersionItem(MethodView):
    @auth_required("viewer")
    @blp.response(200, VersionBody)
    def get(self, workflow_id: uuid.UUID, version: int) -> dict[str, Any]:
        """Get one version of a workflow with its definition

        Viewer or above.
        """
        workflow = service.get_workflow(current_actor().workspace_id, workflow_id)
        return {"status": "ok", "version": service.get_version(workflow, version)}
