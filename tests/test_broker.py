"""The Redis broker transport: publishes reach the queue and reuse one client per channel."""

from __future__ import annotations

import base64
import json
import uuid

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


def test_runs_published_together_are_the_messages_send_task_builds(
    app: Flask, redis_url: str
) -> None:
    queue = redis.Redis.from_url(redis_url)
    marker = uuid.uuid4().hex  # other tests of this process may publish runs meanwhile
    alone, a, b, c = (f"{marker}-{name}" for name in ("alone", "a", "b", "c"))
    with app.app_context():
        assert dispatch.send("executions.run", alone)
        assert dispatch.send_runs([a, b, c])
        assert dispatch.send_runs([])
    ours = [
        message
        for message in (json.loads(raw) for raw in reversed(queue.lrange("executions", 0, -1)))
        if marker in message["headers"]["argsrepr"]
    ]
    single, *together = ours
    assert [json.loads(base64.b64decode(m["body"]))[0] for m in together] == [[a], [b], [c]]
    assert len({m["headers"]["id"] for m in together}) == 3  # one task id each
    assert len({m["properties"]["delivery_tag"] for m in together}) == 3
    for message in together:
        assert message.keys() == single.keys()
        assert message["headers"].keys() == single["headers"].keys()
        assert message["headers"]["task"] == "executions.run"
        assert message["headers"]["id"] == message["headers"]["root_id"]
        assert message["headers"]["id"] == message["properties"]["correlation_id"]
        for name in ("content-type", "content-encoding"):
            assert message[name] == single[name]
        for name in ("delivery_info", "delivery_mode", "priority", "body_encoding", "reply_to"):
            assert message["properties"][name] == single["properties"][name], name
        same = ("lang", "retries", "ignore_result", "origin", "kwargsrepr", "eta")
        for name in same:
            assert message["headers"][name] == single["headers"][name], name
        # no time limits in the message: the worker's own settings decide (send_task would
        # add this process's when it has the task registered, e.g. after importing workers)
        assert message["headers"]["timelimit"] == [None, None]
