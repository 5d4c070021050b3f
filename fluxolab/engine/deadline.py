"""Interrupt running code when a deadline passes: one interval timer shared by every limit.

Checks between nodes cannot stop a node that is busy in Python. ``bounded(seconds)`` arms the
process's real-time interval timer (``ITIMER_REAL``, delivered as ``SIGALRM``), so the block is
interrupted wherever it is and ``Expired`` is raised at its edge. Every time limit of the
process goes through ``limit`` and so through the same timer: the engine's node and run
deadlines, and the solo worker's soft and hard task limits (``workers.executions``). The timer
always goes off no later than the nearest pending limit; nested limits compose instead of
replacing each other. A timer armed by other code before the first limit is kept as one more
limit and given back when the last one ends.

Signals reach only the main thread: elsewhere (a ``threads`` pool) nothing is armed and the
engine relies on its checks between nodes and on the Code sandbox's own wall time. Celery's
prefork children run tasks in their main thread, so they are interrupted like solo workers.
``shielded()`` defers interrupts while code that must finish its own cleanup runs (the Code
node's sandbox, which kills and reaps its child at the same deadline).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

MIN_DELAY_S = 0.0001  # setitimer(0) disarms: an overdue limit is re-armed this soon
REPEAT_S = 0.1  # a repeating limit fires again this often until its block has ended
ARM_SLACK_S = 0.001  # a timer set this little later than a new limit is left as it is


@dataclass(eq=False, slots=True)
class _Limit:
    """One deadline: ``fire`` raises in the interrupted code (or ends the process).

    ``live`` is emptied (one C call, so no signal handler runs halfway) as the very first
    step of leaving the block: a limit whose block ended never fires, even when the rest of
    its clean-up was cut short. A repeating limit fires every ``repeat_s`` until then, since
    an exception raised where Python cannot propagate it (a weakref callback, ``__del__``)
    is printed and dropped.
    """

    at: float  # time.monotonic()
    fire: Callable[[], None]
    deferrable: bool = True  # may wait for the end of a shielded block
    repeat_s: float | None = None
    foreign: bool = False  # a timer armed by other code before ours
    live: list[bool] = field(default_factory=lambda: [True])


class _Timer:
    """The process's limits and the state of the shared ``SIGALRM`` handler."""

    def __init__(self) -> None:
        self.limits: list[_Limit] = []
        self.deferred: list[_Limit] = []
        self.previous: Any = None  # the handler installed before ours
        self.shield_depth = 0
        self.installed = False  # our handler is the SIGALRM handler
        self.holds = 0  # open ``held`` blocks: the handler stays installed between limits
        self.armed_at: float | None = None  # when the timer goes off (time.monotonic())
        self.busy = False  # bookkeeping under way: the handler only notes that it missed
        self.missed = False  # an alarm came during bookkeeping: re-arm once it is done


_timer = _Timer()


class Expired(Exception):
    """The block of ``bounded`` ran past its deadline and was interrupted."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"interrupted after {seconds:g} s")
        self.seconds = seconds


class _Interrupt(BaseException):
    """Raised inside a bounded block at its deadline (a BaseException: ``except Exception``
    in node code cannot swallow it); ``bounded`` turns its own into ``Expired``."""


def available() -> bool:
    """Return whether this thread can be interrupted by the timer (the main thread, POSIX)."""
    return _HAS_TIMER and threading.get_ident() == threading.main_thread().ident


_HAS_TIMER = hasattr(signal, "setitimer")


def _set_timer(at: float | None) -> None:
    """Set the timer to go off at ``at`` (None: disarm it)."""
    delay = 0.0 if at is None else max(at - time.monotonic(), MIN_DELAY_S)
    signal.setitimer(signal.ITIMER_REAL, delay)
    _timer.armed_at = at


def _arm_for(at: float) -> None:
    """Make the timer go off no later than ``at``.

    A limit that ends leaves the timer as it is: an alarm with nothing due only re-arms, so
    a node costs at most one timer call, and none while the run's deadline is the nearest.
    """
    if _timer.armed_at is None or at < _timer.armed_at - ARM_SLACK_S:
        _set_timer(at)


def _arm() -> None:
    """Drop limits whose block ended; arm the timer for the nearest one left (or disarm)."""
    _timer.limits[:] = [entry for entry in _timer.limits if entry.live]
    _set_timer(min((entry.at for entry in _timer.limits), default=None))


def _due(now: float) -> _Limit | None:
    """Return the earliest due limit that may fire now; defer the others while shielded."""
    due = sorted((e for e in _timer.limits if e.live and e.at <= now), key=lambda e: e.at)
    for entry in due:
        if entry.deferrable and _timer.shield_depth:
            _timer.limits.remove(entry)
            _timer.deferred.append(entry)
            continue
        if entry.repeat_s is None:
            _timer.limits.remove(entry)
        else:
            entry.at = now + entry.repeat_s
        return entry
    return None


def _on_alarm(signum: int, frame: Any) -> None:
    """Fire the earliest limit that is due (or defer it while shielded), then re-arm."""
    if _timer.busy:
        _timer.missed = True  # the bookkeeping under way re-arms when it is done
        return
    chosen = _due(time.monotonic())
    _arm()
    if chosen is not None:
        chosen.fire()


def _unbusy() -> None:
    """End a bookkeeping step; re-arm if an alarm came meanwhile."""
    _timer.busy = False
    if _timer.missed:
        _timer.missed = False
        if _timer.installed:
            _arm()


def _install() -> None:
    """Install the handler; a timer someone else armed becomes a foreign limit."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    _timer.previous = previous
    _timer.installed = True
    left, _interval = signal.getitimer(signal.ITIMER_REAL)
    _timer.armed_at = None
    if left > 0 and callable(previous):
        fire = partial(previous, signal.SIGALRM, None)
        _timer.limits.append(_Limit(time.monotonic() + left, fire, foreign=True))
        _timer.armed_at = _timer.limits[-1].at


def _uninstall() -> None:
    """Give the timer back to the handler that was there before, with its time left."""
    foreign = [entry for entry in _timer.limits if entry.foreign and entry.live]
    _timer.limits.clear()
    _timer.deferred.clear()
    _set_timer(None)
    previous = _timer.previous
    signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
    _timer.installed = False
    if foreign:
        _set_timer(foreign[0].at)
        _timer.armed_at = None  # not ours any more


def _own_limits() -> bool:
    """Return whether any limit of ours is pending or deferred, or a ``held`` block is open."""
    pending = (*_timer.limits, *_timer.deferred)
    return _timer.holds > 0 or any(entry.live and not entry.foreign for entry in pending)


@contextmanager
def limit(
    seconds: float,
    fire: Callable[[], None],
    deferrable: bool = True,
    repeat_s: float | None = None,
) -> Iterator[None]:
    """Call ``fire`` in the running code once ``seconds`` have passed, unless the block ended.

    ``fire`` raises (interrupting the block) or ends the process; with ``repeat_s`` it is
    called again that often until the block ends. A ``deferrable`` limit waits for the end
    of a shielded block. Outside the main thread nothing is armed.
    """
    if not available():
        yield
        return
    entry = _open(seconds, fire, deferrable, repeat_s)
    try:
        yield
    finally:
        entry.live.clear()  # first: from here on this limit never fires
        _release(entry)


def _open(
    seconds: float, fire: Callable[[], None], deferrable: bool, repeat_s: float | None
) -> _Limit:
    """Add a limit due in ``seconds`` (installing the handler if needed) and arm for it."""
    entry = _Limit(time.monotonic() + max(float(seconds), 0.0), fire, deferrable, repeat_s)
    _timer.busy = True
    try:
        if not _timer.installed:
            _install()
        _timer.limits.append(entry)
    finally:
        _unbusy()
        _arm_for(entry.at)
    return entry


@contextmanager
def held() -> Iterator[None]:
    """Keep the handler installed for the block, so that each limit inside costs one timer
    call instead of installing and removing the handler (a run holds it for all its nodes)."""
    if not available():
        yield
        return
    _timer.busy = True
    try:
        if not _timer.installed:
            _install()
        _timer.holds += 1
    finally:
        _unbusy()
    try:
        yield
    finally:
        _timer.holds -= 1
        _release(None)


def _release(entry: _Limit | None) -> None:
    """Forget ``entry`` (whether it fired or not); give the timer back once none is left."""
    _timer.busy = True
    try:
        for pending in (_timer.limits, _timer.deferred):
            if entry in pending:
                pending.remove(entry)
        if not _own_limits():
            _uninstall()
    finally:
        _unbusy()


@contextmanager
def shielded() -> Iterator[None]:
    """Defer deferrable interrupts until the block ends (for code that must clean up)."""
    if not available():
        yield
        return
    _timer.shield_depth += 1
    try:
        yield
    finally:
        _timer.shield_depth -= 1
        if not _timer.shield_depth and _timer.deferred:
            _timer.busy = True
            _timer.limits.extend(_timer.deferred)  # due: the earliest live one fires now
            _timer.deferred.clear()
            _unbusy()
            _on_alarm(signal.SIGALRM, None)


@contextmanager
def bounded(seconds: float | None) -> Iterator[None]:
    """Run the block for at most ``seconds`` (None: unbounded); raises Expired when cut short.

    Outside the main thread the block is not interrupted (see the module docstring).
    """
    if seconds is None or not available():
        yield
        return
    token = object()
    entry = _open(seconds, partial(_interrupt, token), True, REPEAT_S)
    try:
        try:
            yield
        finally:
            entry.live.clear()  # first: from here on this limit never fires
            _release(entry)
    except _Interrupt as exc:
        if exc.args[0] is not token:
            raise  # an enclosing block's deadline
        raise Expired(seconds) from None


def _interrupt(token: object) -> None:
    """Raise the interrupt of the bounded block ``token`` names in the running code."""
    raise _Interrupt(token)
