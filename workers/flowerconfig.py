"""Flower's configuration file (``celery -A workers flower --conf=workers/flowerconfig.py``).

Flower 2.2 checks its ``basic_auth``/``auth`` login on its pages and API, but serves
``/metrics`` (Prometheus: task names, counts, worker names and timings) to anyone. Loading
this file replaces that handler with one behind the same login before Flower builds its
routes. ``/healthcheck`` stays open: it answers only "OK", and compose's health check uses it.

Tornado executes this file and reads every top-level name that matches a Flower option, so
the names here are private (underscored) to never set an option by accident.
"""

from __future__ import annotations

from typing import Any

from flower import urls as _urls
from flower.views import monitor as _monitor
from tornado import web as _web


class _AuthenticatedMetrics(_monitor.Metrics):
    """Flower's ``/metrics``, asking for the login Flower's other pages ask for."""

    @_web.authenticated
    async def get(self) -> None:
        await super().get()


def _protect_metrics(handlers: list[Any]) -> None:
    """Swap the ``/metrics`` route's handler for the authenticated one, in place."""
    for index, handler in enumerate(handlers):
        if isinstance(handler, tuple) and handler[0] == r"/metrics":
            handlers[index] = (handler[0], _AuthenticatedMetrics, *handler[2:])
            return
    raise RuntimeError("Flower has no /metrics route to protect: check the flower version")


_protect_metrics(_urls.handlers)
