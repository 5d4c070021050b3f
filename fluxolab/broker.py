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
from kombu.utils.json import dumps

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


def push(channel: Any, queue: str, messages: list[dict[str, Any]]) -> bool:
    """Put prepared messages on ``queue`` with one Redis round trip; False: not this transport.

    What kombu's Redis channel does when Celery publishes a task (to the default exchange,
    routing key = the queue: ``basic_publish`` -> ``_put``: encode the body, add a delivery
    tag and the delivery info, ``LPUSH`` onto the queue's list), for many messages in one
    pipeline.
    """
    if not isinstance(channel, Channel):
        return False
    key = channel._q_for_pri(queue, 0)
    for message in messages:
        channel._inplace_augment_message(message, "", queue)
    with channel.conn_or_acquire() as client:
        if len(messages) == 1:  # the common case: one command, no pipeline around it
            client.lpush(key, dumps(messages[0]))
            return True
        pipeline = client.pipeline(transaction=False)
        for message in messages:
            pipeline.lpush(key, dumps(message))
        pipeline.execute()
    return True
