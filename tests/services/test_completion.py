"""Completion signals: the waiter cap, and each transport waking a waiter for real."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from flask import Flask

from fluxolab import completion
from fluxolab.completion import RedisListener, SocketListener, Waiters
from tests.helpers import fresh_app

ROOT = Path(__file__).resolve().parents[2]


def test_past_the_cap_register_answers_none_at_once() -> None:
    hub = Waiters(None, cap=2)
    first, second = hub.register("a"), hub.register("b")
    assert first is not None and second is not None
    started = time.monotonic()
    assert hub.register("c") is None
    assert time.monotonic() - started < 0.1
    first.close()
    first.close()  # idempotent: frees one slot only
    third = hub.register("c")
    assert third is not None
    assert hub.register("d") is None
    assert hub.waiting() == 2


def test_a_signal_wakes_only_the_waiters_of_its_key() -> None:
    hub = Waiters(None, cap=4)
    mine, other, same = hub.register("k1"), hub.register("k2"), hub.register("k1")
    assert mine and other and same
    hub.deliver("k1")
    assert mine.wait(1) and same.wait(1)
    assert not other.wait(0.05)


def test_wait_without_a_signal_returns_false_after_the_timeout() -> None:
    hub = Waiters(None, cap=1)
    started = time.monotonic()
    assert hub.wait("nothing", 0.2) is False
    assert 0.15 < time.monotonic() - started < 1.5
    assert hub.waiting() == 0


def test_a_zero_cap_never_waits() -> None:
    assert Waiters(None, cap=0).register("k") is None


def _wake_later(hub: Waiters, key: str, delay: float) -> None:
    threading.Timer(delay, hub.deliver, args=(key,)).start()


def test_a_waiter_blocks_until_signalled_not_until_its_timeout() -> None:
    hub = Waiters(None, cap=1)
    waiter = hub.register("k")
    assert waiter is not None
    _wake_later(hub, "k", 0.1)
    started = time.monotonic()
    assert waiter.wait(5)
    assert time.monotonic() - started < 1


def test_redis_publish_from_another_client_wakes_the_waiter(redis_url: str) -> None:
    hub = Waiters(RedisListener(redis_url), cap=2)
    try:
        waiter = hub.register("node-test:1")
        assert waiter is not None
        assert hub.listener is not None and hub.listener.ready(5)
        redis.Redis.from_url(redis_url).publish(completion.CHANNEL, "node-test:1")
        assert waiter.wait(5)
    finally:
        hub.close()


def test_redis_listener_reconnects_and_wakes_everyone_to_re_read(redis_url: str) -> None:
    listener = RedisListener(redis_url)
    hub = Waiters(listener, cap=2)
    try:
        waiter = hub.register("node-test:2")
        assert waiter is not None and listener.ready(5)
        waiter.clear()
        client = redis.Redis.from_url(redis_url)
        assert client.client_kill_filter(_type="pubsub", skipme=True) >= 1
        assert waiter.wait(5), "no wake-up after the reconnect"
        assert listener.ready(5)
        client.publish(completion.CHANNEL, "node-test:2")
        assert waiter.wait(5)
    finally:
        hub.close()


def test_a_datagram_from_another_process_wakes_the_waiter(tmp_path: Path) -> None:
    folder = tmp_path / "signals"
    hub = Waiters(SocketListener(folder), cap=2)
    try:
        waiter = hub.register("node-test:3")
        assert waiter is not None
        assert [p.suffix for p in folder.iterdir()] == [".sock"]
        code = (
            "import sys; from pathlib import Path; from fluxolab import completion; "
            "completion._send_datagrams(Path(sys.argv[1]), b'node-test:3')"
        )
        subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT, check=True)
        assert waiter.wait(5)
    finally:
        hub.close()
    assert list(folder.iterdir()) == []  # stop() unlinks the socket


def test_a_socket_left_by_a_dead_process_is_removed(tmp_path: Path) -> None:
    folder = tmp_path / "signals"
    folder.mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(folder / "123-dead.sock"))
    dead.close()  # the file stays, nobody reads it
    completion._send_datagrams(folder, b"k")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("broker", "kind"),
    [
        ("redis://127.0.0.1:6379/0", "redis"),
        ("filesystem://", "socket"),
        ("memory://", "local"),
    ],
)
def test_the_transport_follows_the_broker(broker: str, kind: str) -> None:
    config = {
        "FLUXOLAB_ENV": "test",
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "CELERY": {"broker_url": broker},
    }
    with fresh_app(config) as other:
        assert completion._transport(other) == kind


def test_notify_in_process_wakes_a_local_waiter(app: Flask) -> None:
    config = {
        "FLUXOLAB_ENV": "test",
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "CELERY": {"broker_url": "memory://"},
    }
    with fresh_app(config) as local, local.app_context():
        waiter = completion.hub().register("node-test:4")
        assert waiter is not None
        completion.notify("node-test:4")
        assert waiter.wait(1)
        waiter.close()
