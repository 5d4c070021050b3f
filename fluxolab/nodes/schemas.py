"""Request and response bodies of the node catalog routes (contract 8)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from fluxolab.common.schemas import BaseSchema
from fluxolab.engine.nodetype import CATEGORIES


class TemplateOut(Schema):
    """One node type in the catalog's shape; ``id == type``."""

    id = fields.String()
    name = fields.String()
    description = fields.String()
    category = fields.String()
    icon = fields.String()
    type = fields.String()
    inputs = fields.Integer(metadata={"description": "Number of input ports"})
    outputs = fields.Integer(metadata={"description": "Number of output ports"})
    configSchema = fields.Dict(metadata={"description": "JSON Schema of the config"})
    defaultConfig = fields.Dict()


class TemplatesBody(Schema):
    status = fields.String(dump_default="ok")
    templates = fields.List(fields.Nested(TemplateOut))


class TemplateArgs(BaseSchema):
    category = fields.String(load_default=None, validate=validate.OneOf(CATEGORIES))
    search = fields.String(
        load_default=None,
        validate=validate.Length(max=200),
        metadata={"description": "Case-insensitive part of the name, description or type"},
    )


class CategoryOut(Schema):
    id = fields.String()
    name = fields.String()
    description = fields.String()
    icon = fields.String()
    order = fields.Integer()


class CategoriesBody(Schema):
    status = fields.String(dump_default="ok")
    categories = fields.List(fields.Nested(CategoryOut))


class TriggerOut(Schema):
    id = fields.String()
    name = fields.String()
    description = fields.String()
    icon = fields.String()
    configSchema = fields.Dict()
    defaultConfig = fields.Dict()


class TriggersBody(Schema):
    status = fields.String(dump_default="ok")
    triggers = fields.List(fields.Nested(TriggerOut))


class SchemaBody(Schema):
    status = fields.String(dump_default="ok")
    schema = fields.Dict(metadata={"description": "JSON Schema of the node type's config"})


class ValidateIn(BaseSchema):
    """``{type, name, config}``; a missing type or name is reported in the validation result."""

    type = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    config = fields.Dict(keys=fields.String(), load_default=dict, allow_none=True)


class ValidationOut(Schema):
    isValid = fields.Boolean()
    errors = fields.List(fields.String())
    warnings = fields.List(fields.String())


class ValidationBody(Schema):
    status = fields.String(dump_default="ok")
    validation = fields.Nested(ValidationOut)
