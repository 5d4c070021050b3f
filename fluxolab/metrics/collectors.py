"""Gauges computed when Prometheus scrapes the API, never on a request's path.

- ``fluxolab_queue_depth{queue}``: messages waiting in each Celery queue, read from the broker
  (Redis ``LLEN`` of each priority list; the filesystem broker's message files), with
  ``fluxolab_broker_up`` saying whether the broker answered.
- ``fluxolab_executions_current{status}``: executions ``queued``, ``running`` and ``waiting``
  now, over every workspace: one grouped query on the partial index of unfinished runs,
  cached for ``CACHE_SECONDS`` per process so that frequent scrapes stay cheap.

Both are read once per scrape, in the process that answers it: they are never written to
the multiprocess files (each gunicorn worker would report the same numbers again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from fluxolab.extensions import db
from fluxolab.models import Execution

log = logging.getLogger(__name__)
CACHE_SECONDS = 5.0
CURRENT_STATUSES = ("queued", "running", "waiting")


class QueueDepthCollector(Collector):
    """Messages waiting in each Celery queue the app routes to."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Ask the broker for each queue's length; a broker that fails reports ``up`` 0."""
        depth = GaugeMetricFamily(
            "fluxolab_queue_depth",
            "Messages waiting in a Celery queue (not yet taken by a worker).",
            labels=["queue"],
        )
        up = GaugeMetricFamily("fluxolab_broker_up", "1 when the broker answered this scrape.")
        try:
            sizes = queue_sizes(self.app)
        except Exception as exc:  # any broker failure: report it, never fail the scrape
            log.warning("metrics: broker did not answer the queue depth scrape: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        for queue, size in sizes.items():
            depth.add_metric([queue], size)
        up.add_metric([], 1)
        yield depth
        yield up


def queue_sizes(app: Flask) -> dict[str, int]:
    """``{queue: waiting messages}`` for every configured Celery queue.

    Kombu's channels know how to count their own transport's queue (``_size``: the Redis
    lists of each priority step, the filesystem broker's ``*.<queue>.msg`` files).
    """
    celery_app = app.extensions["celery"]
    names = [queue.name for queue in celery_app.conf.task_queues or ()]
    with celery_app.pool.acquire(block=True, timeout=5) as connection:
        connection.ensure_connection(max_retries=1, timeout=3)
        channel = connection.default_channel
        return {name: int(channel._size(name)) for name in names}


class ExecutionStateCollector(Collector):
    """Executions queued, running and waiting now (one grouped query, cached briefly)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the gauge; on a database error yield nothing (the scrape still answers)."""
        try:
            counts = _cached_counts(self.app)
        except Exception as exc:
            log.warning("metrics: could not count current executions: %s", exc)
            return
        family = GaugeMetricFamily(
            "fluxolab_executions_current",
            "Executions in a status now (queued, running, waiting), over every workspace.",
            labels=["status"],
        )
        for status in CURRENT_STATUSES:
            family.add_metric([status], counts.get(status, 0))
        yield family


_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"at": float("-inf"), "counts": {}}


def _cached_counts(app: Flask) -> dict[str, int]:
    with _cache_lock:
        if time.monotonic() - _cache["at"] < CACHE_SECONDS:
            return dict(_cache["counts"])
        counts = count_current(app)
        _cache.update(at=time.monotonic(), counts=counts)
        return dict(counts)


def count_current(app: Flask) -> dict[str, int]:
    """``{status: count}`` of unfinished executions (the partial status index answers it)."""
    statement = (
        select(Execution.status, func.count())
        .where(Execution.status.in_(CURRENT_STATUSES))
        .group_by(Execution.status)
    )
    with app.app_context():
        try:
            return {status: int(count) for status, count in db.session.execute(statement)}
        finally:
            db.session.remove()


def forget_cache() -> None:
    """Drop the cached counts (tests; the next scrape queries again)."""
    with _cache_lock:
        _cache.update(at=float("-inf"), counts={})


def scrape_registry(app: Flask) -> CollectorRegistry:
    """A registry of the scrape-time collectors, for one exposition."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueDepthCollector(app))
    registry.register(ExecutionStateCollector(app))
    return registry
