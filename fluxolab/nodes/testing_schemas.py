"""Request and response bodies of ``/api/workflows/nodes/test``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from fluxolab.common.schemas import BaseSchema


class NodeTestIn(BaseSchema):
    """``{nodeType, config, inputData, credentialId?}`` (contract 6, workflow-nodes)."""

    nodeType = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "A node type or alias of the catalog", "example": "set"},
    )
    config = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={"description": "The node's params, as in a workflow definition"},
    )
    inputData = fields.Raw(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Sample input: an object (one item), a list of objects, or a list "
            "of {json} items. Empty means one empty item."
        },
    )
    credentialId = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "A credential of the workspace, for nodes that take one"},
    )


class NodeTestResult(Schema):
    """What the node did: its output by port, the lines it logged, its wall time."""

    success = fields.Boolean()
    output = fields.Dict(
        metadata={"description": 'Items by output port, e.g. {"main": [{"json": {...}}]}'}
    )
    logs = fields.List(fields.String())
    durationMs = fields.Float()
    error = fields.Dict(metadata={"description": "{message, type, ...} when success is false"})


class NodeTestBody(Schema):
    """A test: finished (200, with ``result``) or still pending (202, poll ``statusUrl``)."""

    status = fields.String(
        metadata={"description": "queued | running | succeeded | failed", "example": "succeeded"}
    )
    testId = fields.UUID()
    statusUrl = fields.String()
    result = fields.Nested(NodeTestResult)
