"""Completion signals: a worker says "``key`` is done", API threads waiting for it wake up.

Used where an HTTP request waits (bounded) for work a Celery worker does: node tests
(``POST /api/workflows/nodes/test``) and, later, webhooks answering ``when_complete``. The
result itself always lives in the database; a signal only says "read it now", so a lost
signal costs a caller its wait (it answers 202), never a result.

Protocol (race-free):

1. The API registers a waiter (``hub().register(key)``) **before** it publishes the task, so
   a signal sent the moment the work ends finds the waiter in place. Over the per-process
   cap (``MAX_WAITERS_PER_PROCESS``) ``register`` answers None at once and the caller answers
   202: waiting callers can never take all of the server's threads.
2. The caller gives its database connection back to the pool (it never waits holding one),
   then ``Waiter.wait(timeout)``; before each wait it clears the waiter and re-reads the row,
   so a result that landed before the subscription was live (or during a reconnect: the
   listener then wakes every waiter to re-check) is not missed.
3. The worker commits the result, then calls ``notify(key)``.

Transports, chosen from the Celery broker URL so the same code runs everywhere:

- ``redis://``: Redis pub/sub on one channel (``CHANNEL``), the key as the message. One
  listener thread per API process, started lazily (after a gunicorn fork), subscribed once
  and reconnecting with a back-off; it sets the ``threading.Event`` of the waiters of that
  key. One channel rather than one per key: no subscribe round trip per request, and every
  API process receives each completion (a few bytes) and ignores the keys it does not wait
  for.
- ``filesystem://`` (standalone, no Redis): Unix datagram sockets. Each API process binds
  one socket in ``$FLUXOLAB_VAR_DIR/signals/`` (the directory *is* the registry of live
  listeners); ``notify`` sends the key as one datagram to every socket there and unlinks
  sockets nobody listens on any more (a process that died). The kernel wakes the listener
  thread blocked in ``recv``: no polling and no server, and it works wherever the
  filesystem broker does (one machine; all processes share the var folder).
- anything else (``memory://`` in tests, eager setups): worker and API share the process,
  ``notify`` wakes this process's waiters directly.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import redis
from flask import Flask, current_app

log = logging.getLogger(__name__)

CHANNEL = "fluxolab:completions"
SOCKET_DIR = "signals"
MAX_DATAGRAM = 512
RECONNECT_MAX_S = 2.0


class Waiter:
    """One caller waiting for one key; ``wait`` returns when signalled or after ``timeout``."""

    def __init__(self, hub: Waiters, key: str) -> None:
        self.hub = hub
        self.key = key
        self.event = threading.Event()

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; return whether a signal came (then clear it)."""
        signalled = self.event.wait(max(timeout, 0.0))
        self.event.clear()
        return signalled

    def clear(self) -> None:
        """Forget a signal already received (before re-reading the result)."""
        self.event.clear()

    def close(self) -> None:
        """Stop waiting: unregister and free the slot (idempotent)."""
        self.hub._unregister(self)

    def __enter__(self) -> Waiter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class Listener(Protocol):
    """The receiving side of a transport: delivers keys to a hub from a background thread."""

    def start(self, hub: Waiters) -> None:
        """Begin listening (idempotent); keys go to ``hub.deliver``."""

    def ready(self, timeout: float) -> bool:
        """Return once signals sent from now on will arrive (False after ``timeout``)."""

    def stop(self) -> None:
        """End the listening thread."""


class Waiters:
    """The per-process hub: waiters by key, a cap on how many wait at once, one listener."""

    def __init__(self, listener: Listener | None, cap: int) -> None:
        self.listener = listener
        self.cap = cap
        self._slots = threading.BoundedSemaphore(cap) if cap > 0 else None
        self._lock = threading.Lock()
        self._by_key: dict[str, set[Waiter]] = {}
        self._started = False

    def register(self, key: str) -> Waiter | None:
        """Return a waiter for ``key``, or None at once when ``cap`` callers already wait."""
        if self._slots is None or not self._slots.acquire(blocking=False):
            return None
        waiter = Waiter(self, key)
        with self._lock:
            self._by_key.setdefault(key, set()).add(waiter)
        self._ensure_listening()
        return waiter

    def wait(self, key: str, timeout: float) -> bool:
        """Wait up to ``timeout`` for ``key`` (False at once when over the cap).

        Only for work published before the call whose result the caller re-reads anyway;
        the two-step ``register``/``Waiter.wait`` is the race-free form.
        """
        waiter = self.register(key)
        if waiter is None:
            return False
        with waiter:
            return waiter.wait(timeout)

    def deliver(self, key: str) -> None:
        """Wake every waiter of ``key`` (called by the listener thread)."""
        with self._lock:
            waiting = list(self._by_key.get(key, ()))
        for waiter in waiting:
            waiter.event.set()

    def wake_all(self) -> None:
        """Wake every waiter so each re-reads its result (after a listener reconnected)."""
        with self._lock:
            waiting = [w for group in self._by_key.values() for w in group]
        for waiter in waiting:
            waiter.event.set()

    def waiting(self) -> int:
        """Return how many callers wait now."""
        with self._lock:
            return sum(len(group) for group in self._by_key.values())

    def _unregister(self, waiter: Waiter) -> None:
        with self._lock:
            group = self._by_key.get(waiter.key)
            if group is None or waiter not in group:
                return
            group.discard(waiter)
            if not group:
                del self._by_key[waiter.key]
        assert self._slots is not None
        self._slots.release()

    def close(self) -> None:
        """Stop the listener thread (tests, shutdown); waiters left time out."""
        if self.listener is not None and self._started:
            self.listener.stop()

    def _ensure_listening(self) -> None:
        """Start the listener on first use; no wait for it to be subscribed.

        A waiter registered before the subscription is live may miss its signal, but the
        listener wakes every waiter once subscribed (``wake_all``), and each re-reads its
        result then: nothing is missed and nobody blocks on the connection.
        """
        if self.listener is None or self._started:
            return
        with self._lock:
            if not self._started:
                self.listener.start(self)
                self._started = True


# --- transports --------------------------------------------------------------------------


def _transport(app: Flask) -> str:
    url = str(app.extensions["celery"].conf.broker_url or "")
    if url.startswith(("redis://", "rediss://", "redis+socket://", "unix://")):
        return "redis"
    if url.startswith("filesystem"):
        return "socket"
    return "local"


def _broker_url(app: Flask) -> str:
    return str(app.extensions["celery"].conf.broker_url)


def socket_dir(app: Flask) -> Path:
    """Return the folder of the standalone listeners' sockets (``$FLUXOLAB_VAR_DIR/signals``)."""
    return Path(app.config["VAR_DIR"]) / SOCKET_DIR


class RedisListener:
    """One thread subscribed to ``CHANNEL``; reconnects with a back-off and wakes everyone."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._pubsub: Any = None

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(Exception):
            if self._pubsub is not None:
                self._pubsub.close()  # ends listen() in the thread

    def start(self, hub: Waiters) -> None:
        thread = threading.Thread(
            target=self._run, args=(hub,), name="completion-listener", daemon=True
        )
        thread.start()

    def ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def _run(self, hub: Waiters) -> None:
        delay = 0.05
        client = redis.Redis.from_url(self.url, health_check_interval=30)
        while not self._stopped.is_set():
            pubsub = self._pubsub = client.pubsub()
            try:
                pubsub.subscribe(CHANNEL)
                for message in pubsub.listen():
                    kind = message.get("type")
                    if kind == "subscribe":
                        self._ready.set()
                        hub.wake_all()  # anything sent while we were away: re-read now
                        delay = 0.05
                    elif kind == "message":
                        hub.deliver(_text(message.get("data")))
            except Exception as exc:  # connection lost, server restarted ...
                if self._stopped.is_set():
                    return
                log.warning("completion listener lost Redis (%s); reconnecting", exc)
            finally:
                self._ready.clear()
                with contextlib.suppress(Exception):
                    pubsub.close()
            self._stopped.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)


class SocketListener:
    """A Unix datagram socket in the signals folder, read by one thread (standalone)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path: Path | None = None
        self._sock: socket.socket | None = None

    def start(self, hub: Waiters) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.folder / f"{os.getpid()}-{secrets.token_hex(4)}.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(str(path))
        except OSError:
            sock.close()
            log.warning("cannot bind the completion socket %s; waiters rely on timeouts", path)
            return
        self.path, self._sock = path, sock
        atexit.register(self._unlink)
        thread = threading.Thread(
            target=self._run, args=(hub, sock), name="completion-listener", daemon=True
        )
        thread.start()

    def ready(self, timeout: float) -> bool:
        return self._sock is not None  # bound before start() returned

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            self._unlink()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in recv
            sock.close()

    def _run(self, hub: Waiters, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(MAX_DATAGRAM)
            except OSError:
                return  # closed by stop()
            if not data and self._sock is None:
                return
            hub.deliver(_text(data))

    def _unlink(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()


def _text(data: Any) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)


# --- the process's hub and the worker side ----------------------------------------------


_hub_lock = threading.Lock()


def hub(app: Flask | None = None) -> Waiters:
    """Return this process's hub for ``app`` (the current app), built on first use.

    Rebuilt in a forked child (gunicorn workers): threads and sockets do not survive a fork.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    entry = app.extensions.get("completion")
    if entry is not None and entry[0] == os.getpid():
        return cast(Waiters, entry[1])
    with _hub_lock:
        entry = app.extensions.get("completion")
        if entry is not None and entry[0] == os.getpid():
            return cast(Waiters, entry[1])
        kind = _transport(app)
        listener: Listener | None = None
        if kind == "redis":
            listener = RedisListener(_broker_url(app))
        elif kind == "socket":
            listener = SocketListener(socket_dir(app))
        waiters = Waiters(listener, int(app.config["MAX_WAITERS_PER_PROCESS"]))
        app.extensions["completion"] = (os.getpid(), waiters)
        return waiters


_clients: dict[tuple[int, str], redis.Redis] = {}
_sender: dict[int, socket.socket] = {}


def notify(key: str) -> None:
    """Tell every waiter of ``key``, in any API process, that its result is stored.

    Call after the commit that stored it. Never raises: a lost signal only makes a caller
    answer 202 after its wait, and the result stays readable.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        kind = _transport(app)
        if kind == "redis":
            _redis_client(_broker_url(app)).publish(CHANNEL, key)
        elif kind == "socket":
            _send_datagrams(socket_dir(app), key.encode())
        else:
            hub(app).deliver(key)
    except Exception as exc:
        log.warning("could not signal completion of %s: %s", key, exc)


def _redis_client(url: str) -> redis.Redis:
    client = _clients.get((os.getpid(), url))
    if client is None:
        client = _clients[(os.getpid(), url)] = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=2
        )
    return client


def _send_datagrams(folder: Path, data: bytes) -> None:
    """Send ``data`` to every listener socket in ``folder``; unlink the dead ones."""
    sender = _sender.get(os.getpid())
    if sender is None:
        sender = _sender[os.getpid()] = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sender.setblocking(False)
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return  # no API process ever waited
    for entry in entries:
        if not entry.name.endswith(".sock"):
            continue
        try:
            sender.sendto(data, entry.path)
        except (ConnectionRefusedError, FileNotFoundError):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)  # its process is gone
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ENOBUFS):
                raise
            log.warning("completion listener %s is not reading; signal dropped", entry.name)


@contextlib.contextmanager
def registered(key: str) -> Iterator[Waiter | None]:
    """``hub().register(key)`` as a context manager (None over the cap); closes the waiter."""
    waiter = hub().register(key)
    try:
        yield waiter
    finally:
        if waiter is not None:
            waiter.close()


T = TypeVar("T")


def wait_for(waiter: Waiter, wait_s: float, read: Callable[[], T], done: Callable[[T], bool]) -> T:
    """Sleep on ``waiter``, then ``read()``, until ``done(value)`` or ``wait_s`` passed.

    The waiter was registered before the work was published, so the first sleep cannot
    miss the signal; a wake-up without a result (the listener reconnected) reads and sleeps
    again. ``Waiter.wait`` clears the signal before the read, so one that comes between
    the read and the next sleep ends that sleep at once. The caller gives its database
    connection back before calling, and ``read`` gives it back after each read.
    """
    deadline = time.monotonic() + wait_s
    while True:
        waiter.wait(deadline - time.monotonic())
        value = read()
        if done(value) or time.monotonic() >= deadline:
            return value


def execution_key(execution_id: object) -> str:
    """The key of an execution's signal: sent when it records a webhook answer or ends."""
    return f"execution:{execution_id}"
