"""Talk to the child over its pipes within a deadline, never buffering more than the caps."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import IO

CHUNK = 64 * 1024
EXIT_GRACE_SECONDS = 0.5  # after the child exits, how long its pipes may take to reach EOF
POLL_SECONDS = 0.05  # exit polling interval when pidfd_open is unavailable


@dataclass
class CappedBuffer:
    """Keep at most ``limit`` bytes; count the rest as dropped."""

    limit: int
    data: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    def feed(self, chunk: bytes) -> None:
        """Append what fits and count what does not."""
        room = max(self.limit - len(self.data), 0)
        self.data += chunk[:room]
        self.dropped += max(len(chunk) - room, 0)


@dataclass
class Transcript:
    """What came back from the child, and why the exchange stopped."""

    reply: bytes
    log: bytes
    log_dropped: int
    timed_out: bool  # the deadline passed while the child was still running
    overflowed: bool  # the reply channel exceeded its cap


def _open_pidfd(pid: int) -> int | None:
    """Return a pidfd that becomes readable when the process exits, if the kernel has them."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _has_exited(pid: int) -> bool:
    """Tell whether the child has ended, without reaping it (the caller reaps it later)."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


class _Exchange:
    """Pumps one child's stdin, stdout (reply) and stderr (logs) with a selector."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        payload: bytes,
        reply_cap: int,
        on_exit: Callable[[], None],
    ) -> None:
        self.process = process
        self.on_exit = on_exit
        self.payload = memoryview(payload)
        self.reply_cap = reply_cap
        self.reply = bytearray()
        self.selector = selectors.DefaultSelector()
        self.open_streams = 0
        self.exited = False
        self.overflowed = False
        self.pidfd = _open_pidfd(process.pid)

    def register(self, log: CappedBuffer) -> None:
        """Watch the pipes (stderr feeding ``log``) and the pidfd."""
        stdin, stdout, stderr = self.process.stdin, self.process.stdout, self.process.stderr
        assert stdin is not None and stdout is not None and stderr is not None
        os.set_blocking(stdin.fileno(), False)
        self.selector.register(stdin, selectors.EVENT_WRITE, partial(self._write_input, stdin))
        self.selector.register(
            stdout, selectors.EVENT_READ, partial(self._read, stdout, self._keep)
        )
        self.selector.register(stderr, selectors.EVENT_READ, partial(self._read, stderr, log.feed))
        self.open_streams = 2
        if self.pidfd is not None:
            self.selector.register(self.pidfd, selectors.EVENT_READ, self._mark_exited)

    def _close(self, stream: IO[bytes]) -> None:
        """Stop watching a pipe and close our end of it."""
        self.selector.unregister(stream)
        stream.close()

    def _write_input(self, stream: IO[bytes]) -> None:
        """Send the next slice of the input; close stdin once all of it is sent."""
        try:
            sent = os.write(stream.fileno(), self.payload[:CHUNK])
        except BlockingIOError:
            return
        except BrokenPipeError:  # the child stopped reading; its exit status will say why
            sent = len(self.payload)
        self.payload = self.payload[sent:]
        if not self.payload:
            self._close(stream)

    def _read(self, stream: IO[bytes], sink: Callable[[bytes], None]) -> None:
        """Move one chunk from a pipe to its sink; close the pipe at EOF."""
        chunk = os.read(stream.fileno(), CHUNK)
        if chunk:
            sink(chunk)
        else:
            self.open_streams -= 1
            self._close(stream)

    def _keep(self, chunk: bytes) -> None:
        """Append reply bytes, flagging an overflow instead of buffering past the cap."""
        if len(self.reply) + len(chunk) > self.reply_cap:
            self.overflowed = True
        else:
            self.reply += chunk

    def _mark_exited(self) -> None:
        """Record the child's exit once and let the caller kill what it left behind."""
        if not self.exited:
            self.exited = True
            self.on_exit()

    def run(self, deadline: float) -> bool:
        """Pump until the child is done, the reply overflows or the deadline passes (-> False)."""
        while not self.overflowed and not (self.exited and self.open_streams == 0):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self.exited
            wait = remaining if self.pidfd is not None else min(remaining, POLL_SECONDS)
            for key, _ in self.selector.select(wait):
                key.data()
            if self.pidfd is None and not self.exited and _has_exited(self.process.pid):
                self._mark_exited()
            if self.exited:
                deadline = min(deadline, time.monotonic() + EXIT_GRACE_SECONDS)
        return True

    def close(self) -> None:
        """Release the selector, the pidfd and every pipe still open."""
        self.selector.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def exchange(
    process: subprocess.Popen[bytes],
    payload: bytes,
    *,
    deadline: float,
    reply_cap: int,
    log_cap: int,
    on_exit: Callable[[], None],
) -> Transcript:
    """Send the payload and collect the reply and logs until the child ends or a limit is hit."""
    log = CappedBuffer(log_cap)
    pump = _Exchange(process, payload, reply_cap, on_exit)
    try:
        pump.register(log)
        finished = pump.run(deadline)
    finally:
        pump.close()
    return Transcript(
        reply=bytes(pump.reply),
        log=bytes(log.data),
        log_dropped=log.dropped,
        timed_out=not finished,
        overflowed=pump.overflowed,
    )
