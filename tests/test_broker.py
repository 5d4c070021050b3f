"""The Redis broker transport: publishes reach the queue and reuse one client per channel."""

from __future__ import annotations

import json

import redis
from flask import Flask

from fluxolab import broker, dispatch


def test_redis_urls_use_the_transport_with_a_reusable_client(app: Flask, redis_url: str) -> None:
    celery = app.extensions["celery"]
    queue = redis.Redis.from_url(redis_url)
    queue.delete("executions")

    with app.app_context():
        assert dispatch.send("executions.run", "first")
        assert dispatch.send("executions.run", "second")
        with celery.pool.acquire(block=True) as connection:
            channel = connection.default_channel
            assert isinstance(channel, broker.Channel)
            client = channel._create_client()
            assert channel._create_client() is client
            assert channel._create_client(asynchronous=True) is not client

    assert connection.as_uri().startswith("redis://")  # what Flower's broker view reads
    bodies = [json.loads(raw) for raw in queue.lrange("executions", 0, -1)]
    assert [body["headers"]["task"] for body in bodies] == ["executions.run"] * 2
    assert sorted(body["headers"]["argsrepr"] for body in bodies) == ["['first']", "['second']"]
    queue.delete("executions")
