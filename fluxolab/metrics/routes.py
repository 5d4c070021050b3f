"""``GET /metrics``: the Prometheus text format, behind ``METRICS_TOKEN``.

Not part of the JSON API (no OpenAPI operation, no JWT, no rate limit): Prometheus sends
``Authorization: Bearer <METRICS_TOKEN>``, compared in constant time. A missing or wrong
token is a 401 with the JSON error envelope; with no token configured the route is off and
answers the API's 404. ``fluxolab standalone`` generates the token into ``secrets.json``.

One scrape reads this host's processes (``multiproc``) and the scrape-time gauges
(``collectors``: queue depth, executions queued/running/waiting now).
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from fluxolab.common.security import public
from fluxolab.errors import NotFound, Unauthorized
from fluxolab.extensions import limiter
from fluxolab.metrics import collectors, http, multiproc

blp = Blueprint("metrics", __name__)


class MetricsUnauthorized(Unauthorized):
    """401 for a scrape without the right bearer token (says which scheme it wants)."""

    default_message = "Token de metricas ausente ou invalido."

    def headers(self) -> dict[str, str]:
        """``WWW-Authenticate: Bearer`` besides the envelope."""
        return {"WWW-Authenticate": 'Bearer realm="metrics"'}


def token_matches(presented: str, expected: str) -> bool:
    """Whether ``Authorization`` carried ``Bearer <expected>`` (constant-time comparison)."""
    scheme, _, value = presented.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), expected.encode())


@blp.route("/metrics", methods=["GET"])
@limiter.exempt
@public
def metrics() -> Response:
    """Prometheus metrics of this host's API processes and of the queues and executions."""
    expected = str(current_app.config.get("METRICS_TOKEN") or "")
    if not expected:
        raise NotFound()
    if not token_matches(request.headers.get("Authorization", ""), expected):
        raise MetricsUnauthorized()
    body = generate_latest(multiproc.process_registry())
    body += generate_latest(collectors.scrape_registry(current_app))
    # the classic text format (0.0.4): what every Prometheus server, old or new, reads
    return Response(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def install(app: Flask) -> None:
    """Serve ``/metrics`` and record every request's metrics (``fluxolab.metrics.http``)."""
    http.install(app)
    app.register_blueprint(blp)
