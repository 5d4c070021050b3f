"""Request and response bodies of the workflow routes (contract 3.1, 3.2 and 6).

Saving is permissive (contract 3.2): a node needs only a string ``id`` and ``type``, and nodes
and connections keep any extra UI field (``position``, ``ports``, ``style``, ``label``...).
Whether a definition can run is the engine's question, asked on activation.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import INCLUDE, Schema, fields, validate

from fluxolab.common.fields import Trimmed
from fluxolab.common.schemas import BaseSchema, PageArgs, page_fields
from fluxolab.models import WORKFLOW_STATUSES
from fluxolab.workflows import transfer

MAX_NODES = 500
MAX_CONNECTIONS = 2000
MAX_TAGS = 20
SORT_KEYS = ("name", "updatedAt", "lastExecutedAt", "executionCount", "createdAt")


class NodeIn(Schema):
    """One node: string ``id`` and ``type`` required, ``params`` an object, UI fields kept."""

    class Meta:
        unknown = INCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    type = fields.String(required=True, validate=validate.Length(min=1, max=128))
    name = fields.String(validate=validate.Length(max=255))
    params = fields.Dict(keys=fields.String())


class ConnectionIn(Schema):
    """One edge ``{from, to, output?}`` between node ids; UI fields (id, label...) kept."""

    class Meta:
        unknown = INCLUDE

    from_ = fields.String(
        data_key="from", attribute="from", required=True, validate=validate.Length(min=1, max=128)
    )
    to = fields.String(required=True, validate=validate.Length(min=1, max=128))
    output = fields.String(validate=validate.Length(max=128))


class DefinitionIn(BaseSchema):
    """``{nodes, connections}``: bounded in size, node ids unique; other top-level keys refused."""

    nodes = fields.List(
        fields.Nested(NodeIn), required=True, validate=validate.Length(max=MAX_NODES)
    )
    connections = fields.List(
        fields.Nested(ConnectionIn),
        load_default=list,
        validate=validate.Length(max=MAX_CONNECTIONS),
    )

    @ma.validates_schema
    def _unique_node_ids(self, data: dict[str, Any], **_: Any) -> None:
        seen: set[str] = set()
        for node in data.get("nodes", []):
            if node["id"] in seen:
                raise ma.ValidationError(f"Duplicate node id '{node['id']}'.", "nodes")
            seen.add(node["id"])


def _tags_field() -> fields.List:
    return fields.List(
        Trimmed(validate=validate.Length(min=1, max=50)),
        validate=validate.Length(max=MAX_TAGS),
    )


ERROR_WORKFLOW_ID_HELP = (
    "Workflow (same workspace, not this one) started with mode 'error' from its "
    "'error-trigger' node when a production run (webhook, schedule, form) of this workflow "
    "fails or times out; null clears it"
)


MINUTES_SAVED_HELP = (
    "Minutes of a person's work one successful production run saves (the dashboard's "
    "'time saved'); default 0"
)
MINUTES_SAVED_MAX = 10_080  # a week


class SettingsIn(BaseSchema):
    """``settings``: absent keys are kept on update."""

    errorWorkflowId = fields.UUID(
        attribute="error_workflow_id",
        allow_none=True,
        metadata={"description": ERROR_WORKFLOW_ID_HELP},
    )
    minutesSavedPerRun = fields.Float(
        attribute="minutes_saved_per_run",
        allow_nan=False,
        validate=validate.Range(min=0, max=MINUTES_SAVED_MAX),
        metadata={"description": MINUTES_SAVED_HELP},
    )


class _WorkflowFieldsIn(BaseSchema):
    """Fields shared by create and update; tags are deduplicated keeping their first order."""

    name = Trimmed(validate=validate.Length(min=1, max=255))
    description = fields.String(validate=validate.Length(max=2000))
    definition = fields.Nested(DefinitionIn)
    tags = _tags_field()
    settings = fields.Nested(SettingsIn, metadata={"description": "Workflow settings"})

    @ma.post_load
    def _dedupe_tags(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "tags" in data:
            data["tags"] = list(dict.fromkeys(data["tags"]))
        return data


class WorkflowCreateIn(_WorkflowFieldsIn):
    """Body of ``POST /api/workflows`` (the builder sends ``name`` and ``definition``)."""

    name = Trimmed(required=True, validate=validate.Length(min=1, max=255))


class WorkflowUpdateIn(_WorkflowFieldsIn):
    """Body of ``PUT /api/workflows/<id>``: every field optional; absent fields are kept."""


class FileSettingsIn(BaseSchema):
    """``settings`` of a workflow file: the error workflow by name."""

    minutesSavedPerRun = fields.Float(
        attribute="minutes_saved_per_run",
        allow_nan=False,
        validate=validate.Range(min=0, max=MINUTES_SAVED_MAX),
    )
    errorWorkflow = fields.String(
        attribute="error_workflow", allow_none=True, validate=validate.Length(max=255)
    )


class WorkflowFileIn(_WorkflowFieldsIn):
    """A workflow file (``fluxolab import-workflow``); see ``fluxolab.workflows.transfer``."""

    format = fields.String(required=True, validate=validate.Equal(transfer.FORMAT))
    version = fields.Integer(required=True, validate=validate.Equal(transfer.FORMAT_VERSION))
    exportedAt = fields.String(load_default=None)
    name = Trimmed(required=True, validate=validate.Length(min=1, max=255))
    definition = fields.Nested(DefinitionIn, required=True)
    settings = fields.Nested(FileSettingsIn)


class StatusIn(BaseSchema):
    """Body of ``PATCH /api/workflows/<id>/status``."""

    active = fields.Boolean(required=True, metadata={"description": "true activates"})


class WorkflowListArgs(PageArgs):
    """Filters and order of ``GET /api/workflows``."""

    search = fields.String(
        validate=validate.Length(max=255),
        metadata={"description": "Case-insensitive substring of the name"},
    )
    status = fields.String(validate=validate.OneOf(WORKFLOW_STATUSES))
    tag = Trimmed(validate=validate.Length(min=1, max=50))
    sort = fields.String(
        load_default="-updatedAt",
        validate=validate.OneOf([*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)]),
        metadata={"description": "A field, '-' prefix for descending; ties broken by id"},
    )


class WorkflowListItem(Schema):
    """A workflow in a list (no definition)."""

    id = fields.UUID()
    name = fields.String()
    description = fields.String()
    status = fields.String()
    active = fields.Boolean()
    tags = fields.List(fields.String())
    version = fields.Integer()
    executionCount = fields.Integer(attribute="execution_count")
    lastExecutedAt = fields.DateTime(attribute="last_executed_at", allow_none=True)
    createdAt = fields.DateTime(attribute="created_at")
    updatedAt = fields.DateTime(attribute="updated_at")


class SettingsOut(Schema):
    """A workflow's settings (every key always present)."""

    errorWorkflowId = fields.UUID(
        attribute="error_workflow_id",
        allow_none=True,
        metadata={"description": ERROR_WORKFLOW_ID_HELP},
    )
    minutesSavedPerRun = fields.Float(
        attribute="minutes_saved_per_run", metadata={"description": MINUTES_SAVED_HELP}
    )


class WorkflowOut(WorkflowListItem):
    """A workflow with its workspace, settings and the definition of its current version."""

    workspaceId = fields.UUID(attribute="workspace_id")
    definition = fields.Dict()
    settings = fields.Nested(SettingsOut, metadata={"description": "Workflow settings"})


class WorkflowBody(Schema):
    status = fields.String(dump_default="ok")
    workflow = fields.Nested(WorkflowOut)


class WorkflowCreatedBody(Schema):
    status = fields.String(dump_default="created")
    workflow = fields.Nested(WorkflowOut)


WorkflowListBody = Schema.from_dict(page_fields("workflows", WorkflowListItem), name="WorkflowList")


class DashboardWorkflowOut(Schema):
    """Documents ``service.dashboard_workflow``'s dict (contract 3.1): exactly these keys."""

    id = fields.String()
    name = fields.String()
    owner = fields.String(metadata={"description": "Creator's display name, '' if unknown"})
    active = fields.Boolean()
    lastUpdated = fields.String(metadata={"description": "ISO-8601"})
    created = fields.String(metadata={"description": "ISO-8601"})
    status = fields.String(metadata={"description": "active | inactive | error"})
    tags = fields.List(fields.String())


class DashboardWorkflowBody(Schema):
    status = fields.String(dump_default="ok")
    workflow = fields.Nested(DashboardWorkflowOut)


class VersionItem(Schema):
    """One version in the history."""

    id = fields.UUID()
    version = fields.Integer()
    checksum = fields.String(metadata={"description": "sha256 of the canonical definition JSON"})
    createdAt = fields.DateTime(attribute="created_at")
    createdBy = fields.UUID(attribute="created_by", allow_none=True)
    current = fields.Boolean()


class VersionOut(Schema):
    """One version with its definition."""

    id = fields.UUID()
    version = fields.Integer()
    checksum = fields.String()
    createdAt = fields.DateTime(attribute="created_at")
    createdBy = fields.UUID(attribute="created_by", allow_none=True)
    definition = fields.Dict()


VersionListBody = Schema.from_dict(page_fields("versions", VersionItem), name="VersionList")


class VersionBody(Schema):
    status = fields.String(dump_default="ok")
    version = fields.Nested(VersionOut)
