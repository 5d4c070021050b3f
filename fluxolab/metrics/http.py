"""Request metrics: every answered request by route template, method and status, with latency.

The label is the matched URL rule (``/api/workflows/<uuid:workflow_id>``), never the raw path,
so ids and webhook tokens stay out of the labels and the series stay few; a request no rule
matched is ``<unmatched>``. Public webhook calls are also counted as acknowledgements. All of
it is one clock read before the request and a few in-memory increments after: nothing else on
the webhook intake's path.
"""

from __future__ import annotations

import time

from flask import Flask, Response, request

from fluxolab.metrics import instruments

STARTED = "fluxolab.metrics.started"
WEBHOOK_ENDPOINT = "webhook-intake.execute"


def install(app: Flask) -> None:
    """Time every request from the first ``before_request`` hook to the response."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_record)


def _start() -> None:
    request.environ[STARTED] = time.perf_counter()


def _record(response: Response) -> Response:
    started = request.environ.get(STARTED)
    seconds = time.perf_counter() - started if started is not None else 0.0
    rule = request.url_rule
    route = rule.rule if rule is not None else None
    status = response.status_code
    instruments.http_request(route, request.method, status, seconds)
    if request.endpoint == WEBHOOK_ENDPOINT:
        instruments.webhook_ack(status, seconds)
    return response
