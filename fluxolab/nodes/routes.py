"""HTTP routes of the node catalog: ``/api/workflows/nodes/...`` (contract 8).

The workflows blueprint matches ``/api/workflows/<uuid:...>`` only, so these paths never
reach it. Catalog answers are precomputed bytes (the registry is immutable), with an ETag.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from fluxolab.common.security import auth_required, current_actor
from fluxolab.nodes import service
from fluxolab.nodes.schemas import (
    CategoriesBody,
    SchemaBody,
    TemplateArgs,
    TemplatesBody,
    TriggersBody,
    ValidateIn,
    ValidationBody,
)

blp = Blueprint(
    "nodes",
    __name__,
    url_prefix="/api/workflows/nodes",
    description="The node catalog: templates, categories, triggers, config schemas",
)

CACHE_CONTROL = "private, max-age=300"


def _cached(answer: service.CachedJson) -> Response:
    """Serve a precomputed body; a matching ``If-None-Match`` gets a 304."""
    response = Response(answer.body, mimetype="application/json")
    response.set_etag(answer.etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.make_conditional(request)  # a 304 without a body when the ETag matches
    return response


@blp.route("/templates")
class Templates(MethodView):
    @auth_required("viewer")
    @blp.arguments(TemplateArgs, location="query")
    @blp.response(200, TemplatesBody)
    def get(self, args: dict[str, Any]) -> Response:
        """List node templates

        Viewer or above. Every node type of the registry, grouped by category order;
        `category` keeps one category, `search` matches a case-insensitive part of the
        name, description or type.
        """
        return _cached(service.templates_json(args["category"], args["search"]))


@blp.route("/categories")
class Categories(MethodView):
    @auth_required("viewer")
    @blp.response(200, CategoriesBody)
    def get(self) -> Response:
        """List the six node categories, by order

        Viewer or above.
        """
        return _cached(service.categories_json())


@blp.route("/triggers")
class Triggers(MethodView):
    @auth_required("viewer")
    @blp.response(200, TriggersBody)
    def get(self) -> Response:
        """List trigger types (manual, schedule, webhook, form)

        Viewer or above.
        """
        return _cached(service.triggers_json())


@blp.route("/config-schema/<string:node_type>")
class ConfigSchema(MethodView):
    @auth_required("viewer")
    @blp.response(200, SchemaBody)
    def get(self, node_type: str) -> Response:
        """Get the config JSON Schema of a node type

        Viewer or above. Aliases resolve to their node type; an unknown type is a 404.
        """
        return _cached(service.config_schema_json(node_type))


@blp.route("/validate")
class Validate(MethodView):
    @auth_required("viewer")
    @blp.arguments(ValidateIn)
    @blp.response(200, ValidationBody)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Validate one node's config

        Viewer or above (nothing is stored). Checks the type, the name, the config against
        the node type's JSON Schema and own rules, the syntax of `{{ }}` expressions, and
        that `config.credentialId` is a credential of the workspace of an accepted type.
        Problems are reported in `validation`, never as an error status.
        """
        validation = service.validate_node(
            current_actor().workspace_id, body["type"], body["name"], body["config"] or {}
        )
        return {"status": "ok", "validation": validation}
