"""``/api/health`` (alive) and ``/api/health/ready`` (dependencies usable)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from werkzeug.wrappers import Response

from fluxolab.common.security import public
from fluxolab.errors import error_body
from fluxolab.health import service

blp = Blueprint("health", __name__, url_prefix="/api/health", description="Probes")


class HealthOut(Schema):
    status = fields.String()
    message = fields.String()
    code = fields.String()
    errors = fields.Dict()
    checks = fields.Dict(keys=fields.String(), values=fields.String())


@blp.route("")
class Health(MethodView):
    @public
    @blp.response(200, HealthOut)
    def get(self) -> dict[str, Any]:
        """Liveness: the API process is up

        Public. Touches no dependency.
        """
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @public
    @blp.response(200, HealthOut)
    @blp.alt_response(503, schema=HealthOut, description="A dependency failed")
    def get(self) -> Response:
        """Readiness: database reachable at the migration head, broker reachable

        Public. 503 names each failing check.
        """
        problems = {"database": service.check_database(), "broker": service.check_broker()}
        checks = {name: problem or "ok" for name, problem in problems.items()}
        failing = [name for name, problem in problems.items() if problem]
        if not failing:
            return jsonify({"status": "ok", "checks": checks})
        body = error_body(f"Not ready: {', '.join(failing)}.", "not_ready", checks)
        response = jsonify({**body, "checks": checks})
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
