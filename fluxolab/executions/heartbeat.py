"""Keep a running execution's lease alive while its worker is busy, however long a node runs.

The engine asks ``should_cancel`` only between nodes, so a node that runs longer than the lease
would let the sweeper hand the run to another worker while this one is still working on it.
One daemon thread per worker process therefore renews the lease of every run the process holds,
each renewal in its own short transaction on its own pooled connection, fenced by the run's
claim token. A renewal that matches no row means the run was taken over: the thread stops
renewing it and the run stops at its next node (its later writes are refused by the token).

Short runs cost nothing: registering is a dict insert, and the first renewal is due only after a
third of the lease. The thread wakes every sixth of a lease, so a lease is renewed at the latest
half a lease after the previous renewal.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import timedelta

from sqlalchemy import Engine

from fluxolab.executions.claim import lease_length, renew_lease, renew_lease_on
from fluxolab.extensions import db

log = logging.getLogger(__name__)
# Node boundaries renew (and read ``cancel_requested``) at most this often.
BOUNDARY_SECONDS = 1.0
# ``release`` waits at most this long for a renewal of the run that is in flight.
RELEASE_WAIT_SECONDS = 15.0


class Lease:
    """One claimed run's lease: the engine's ``should_cancel`` and what the keeper thread saw."""

    def __init__(self, execution_id: uuid.UUID, token: int, length: timedelta, engine: Engine):
        self.execution_id = execution_id
        self.token = token
        self.length = length
        self.engine = engine
        self.interval = length.total_seconds() / 3
        self.renewed = time.monotonic()  # the claim set the lease
        self.canceled = False  # a renewal read ``cancel_requested``
        self.lost = False  # a renewal matched no row: another worker holds the run
        self.released = False

    def __call__(self) -> bool:
        """Return ``True`` when the run must stop: canceled or taken over.

        Between nodes, at most once per ``BOUNDARY_SECONDS``, this renews the lease itself
        (in the run's session) to read a cancel request promptly.
        """
        if self.canceled or self.lost:
            return True
        now = time.monotonic()
        if now - self.renewed < BOUNDARY_SECONDS:
            return False
        self.renewed = now
        flag = renew_lease(self.execution_id, self.token)
        self._note(flag)
        return self.canceled or self.lost

    def due(self, now: float) -> bool:
        """Whether the keeper thread should renew now."""
        return not self.released and not self.lost and now - self.renewed >= self.interval

    def renew(self) -> None:
        """Renew on a connection of its own (keeper thread); record cancel or takeover."""
        self.renewed = time.monotonic()
        with self.engine.begin() as connection:
            flag = renew_lease_on(connection, self.execution_id, self.token, self.length)
        self._note(flag)

    def _note(self, flag: bool | None) -> None:
        if flag is None:
            self.lost = True
            log.warning("execution %s: lease taken over; no longer renewing", self.execution_id)
        elif flag:
            self.canceled = True

    def release(self) -> None:
        """Stop renewing; after this returns no renewal of this run is issued (call once)."""
        _keeper().release(self)


class LeaseKeeper:
    """The process's renewal thread and the leases it keeps (started on first use)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._leases: dict[int, Lease] = {}
        self._renewing: Lease | None = None
        self._tick = 0.0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, lease: Lease) -> None:
        """Keep ``lease`` renewed until ``release``."""
        with self._lock:
            self._leases[id(lease)] = lease
            tick = lease.interval / 2
            if not self._tick or tick < self._tick:  # a shorter lease than so far: wake up
                self._tick = tick
                self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self._thread.start()

    def release(self, lease: Lease) -> None:
        """Forget ``lease``, waiting for a renewal of it that is in flight.

        The caller must hold no lock the renewal could wait for (commit or roll back first).
        """
        deadline = time.monotonic() + RELEASE_WAIT_SECONDS
        with self._lock:
            lease.released = True
            self._leases.pop(id(lease), None)
            while self._renewing is lease and (left := deadline - time.monotonic()) > 0:
                self._settled.wait(left)
            if self._renewing is lease:
                log.warning("execution %s: lease renewal still in flight", lease.execution_id)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._tick)
            self._wake.clear()
            try:
                self._renew_due()
            except Exception:  # never let the thread die; the next tick retries
                log.exception("lease renewal failed")

    def _renew_due(self) -> None:
        while (lease := self._next_due()) is not None:
            try:
                lease.renew()
            finally:
                with self._lock:
                    self._renewing = None
                    self._settled.notify_all()

    def _next_due(self) -> Lease | None:
        now = time.monotonic()
        with self._lock:
            lease = next((held for held in self._leases.values() if held.due(now)), None)
            self._renewing = lease
            return lease


_keeper_instance: LeaseKeeper | None = None
_keeper_lock = threading.Lock()


def _keeper() -> LeaseKeeper:
    """This process's keeper (a forked child builds its own: threads do not survive fork)."""
    global _keeper_instance
    keeper = _keeper_instance
    if keeper is not None and keeper.pid == os.getpid():
        return keeper
    with _keeper_lock:
        if _keeper_instance is None or _keeper_instance.pid != os.getpid():
            _keeper_instance = LeaseKeeper()
        return _keeper_instance


def _forget_keeper() -> None:
    global _keeper_instance, _keeper_lock
    _keeper_instance = None
    _keeper_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_keeper)


def hold(execution_id: uuid.UUID, token: int) -> Lease:
    """Start keeping the lease of a run this worker just claimed (call in its app context)."""
    lease = Lease(execution_id, token, lease_length(), db.engine)
    _keeper().hold(lease)
    return lease
