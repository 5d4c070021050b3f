"""Turn what the child left behind (reply, logs, exit status) into a result or a SandboxError."""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .channels import Transcript
from .errors import ErrorKind, SandboxError
from .limits import SandboxLimits, format_bytes, format_seconds

CHILD_KINDS = frozenset({"memory", "cpu", "syntax", "runtime", "output", "items", "internal"})
CPU_SLACK_SECONDS = 0.05  # timing granularity when deciding that SIGKILL came from RLIMIT_CPU


@dataclass
class SandboxResult:
    """A successful run: normalised items, captured print() lines and how long it took."""

    items: list[dict[str, Any]]
    logs: list[str]
    duration_ms: int
    network_isolated: bool = False  # the code ran in an empty network namespace


@dataclass(frozen=True)
class ChildExit:
    """How the child ended: ``returncode`` as in subprocess (negative: signal), CPU seconds used."""

    returncode: int | None  # None when the status could not be collected
    cpu_seconds: float | None = None  # None when unknown (bwrap does not pass it on)


@dataclass
class Run:
    """Everything known about one finished run."""

    transcript: Transcript
    child: ChildExit
    limits: SandboxLimits
    duration_ms: int

    @cached_property
    def logs(self) -> list[str]:
        """Captured output as lines, plus a note when some was dropped over the cap."""
        lines = self.transcript.log.decode("utf-8", errors="replace").split("\n")
        if lines[-1] == "":
            lines.pop()
        if self.transcript.log_dropped:
            lines.append(f"[log truncated: {self.transcript.log_dropped} more bytes were dropped]")
        return lines


def limit_message(kind: str, limits: SandboxLimits) -> str:
    """Return the message for a limit the parent knows better than the child."""
    if kind == "memory":
        return f"Code exceeded its memory limit ({format_bytes(limits.memory_bytes)})"
    if kind == "cpu":
        return f"Code exceeded its CPU time limit ({format_seconds(limits.cpu_seconds)})"
    if kind == "timeout":
        return f"Code exceeded its wall time limit ({format_seconds(limits.wall_seconds)})"
    return f"Code output exceeds {format_bytes(limits.max_output_bytes)}"


def _parse_reply(raw: bytes) -> dict[str, Any] | None:
    """Decode the child's reply; None when there is none or it is not a JSON object."""
    try:
        reply = json.loads(raw) if raw else None
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None


def _valid_items(items: object) -> bool:
    """Check the reply's items have the normalised shape (the child is not trusted)."""
    return isinstance(items, list) and all(
        isinstance(item, dict) and isinstance(item.get("json"), dict) for item in items
    )


def _fail(run: Run, kind: ErrorKind, message: str = "") -> SandboxError:
    """Build the error for a failed run, filling in limit messages."""
    if kind in ("memory", "cpu", "timeout", "output"):
        message = limit_message(kind, run.limits)
    return SandboxError(message, kind, run.logs)


def _from_reply(run: Run, reply: dict[str, Any]) -> SandboxResult:
    """Return the result carried by a reply, or raise the error it reports."""
    if reply.get("status") == "ok" and _valid_items(reply.get("items")):
        isolated = reply.get("network_isolated") is True
        return SandboxResult(reply["items"], run.logs, run.duration_ms, isolated)
    kind, message = reply.get("kind"), reply.get("message")
    if reply.get("status") == "error" and kind in CHILD_KINDS and isinstance(message, str):
        raise _fail(run, kind, message)
    raise _fail(run, "internal", "The sandbox sent a malformed reply")


def _may_be_cpu_limit(run: Run) -> bool:
    """Tell whether a SIGKILL may come from the hard RLIMIT_CPU (we kill only after the exchange).

    Without the child's CPU time, bound it by wall time: the process has at most
    ``1 + max_processes`` threads, so it cannot have used more CPU than that many times the
    time it existed.
    """
    used = run.child.cpu_seconds
    if used is None:
        used = run.duration_ms / 1000 * (1 + run.limits.max_processes)
    return used + CPU_SLACK_SECONDS >= run.limits.cpu_seconds


def _from_exit(run: Run) -> SandboxError:
    """Explain a child that ended without a usable reply.

    The memory limit never shows up here: it is a MemoryError that the child reports.
    """
    code = run.child.returncode
    if code is None:
        return _fail(run, "internal", "The sandbox process status was lost")
    if code == -signal.SIGXCPU or (code == -signal.SIGKILL and _may_be_cpu_limit(run)):
        return _fail(run, "cpu")
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return _fail(run, "runtime", f"Code was killed by signal {name}")
    return _fail(run, "runtime", f"Code ended the process without a result (exit status {code})")


def interpret(run: Run) -> SandboxResult:
    """Return the run's result or raise the SandboxError that best explains its failure."""
    if run.transcript.overflowed:
        raise _fail(run, "output")
    if run.transcript.timed_out:
        raise _fail(run, "timeout")
    reply = _parse_reply(run.transcript.reply)
    if reply is not None:
        return _from_reply(run, reply)
    raise _from_exit(run)
