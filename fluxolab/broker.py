"""Kombu's Redis transport with one reusable Redis client per channel.

Kombu's Redis channel builds a new ``redis.Redis`` object for every synchronous command it
sends (each publish, and the two unacked-index updates of every task a worker takes). The
connection itself comes from a pool, but building the client fills its table of ~170
response callbacks each time: about a quarter of the CPU of a publish. Clients of redis-py
are thread-safe and hold no connection of their own, so one per channel (and pool) does.

``install()`` (called by ``celery_init_app``) makes ``redis://`` broker URLs resolve to this
transport: kombu looks the URL scheme up in its alias table, so the broker URL, what Flower
reads from it and failover all stay plain ``redis://``.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

TRANSPORT = "fluxolab.broker:Transport"


class Channel(kombu_redis.Channel):
    """A Redis channel that reuses its synchronous client while its connection pool lives."""

    _sync_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._sync_client
        if client is None or client.connection_pool is not self.pool:  # pool replaced: fork
            client = self._sync_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    """``redis://`` with :class:`Channel`."""

    Channel = Channel


def install() -> None:
    """Resolve the ``redis`` scheme to :class:`Transport` (before any connection is made)."""
    TRANSPORT_ALIASES["redis"] = TRANSPORT
