"""Parent side: start the child inside bubblewrap, supervise it, clean up."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from typing import Any

from fluxolab.metrics import instruments

from . import bwrap, child
from .channels import exchange
from .errors import SandboxError, SandboxRefused
from .limits import SandboxLimits
from .outcome import ChildExit, Run, SandboxResult, interpret

PR_SET_DUMPABLE = 4
logger = logging.getLogger(__name__)

BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
REPLY_SLACK_BYTES = 64 * 1024  # room for the reply envelope and error messages
SIGNAL_EXIT_BASE = 128  # shells' and bwrap's convention: exit status 128 + N for signal N


def _encode_input(code: str, items: list[dict[str, Any]]) -> bytes:
    """Serialise the child's input; raises SandboxError when the items are not plain JSON."""
    try:
        return json.dumps({"code": code, "items": items}, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise SandboxError(f"Input items cannot be sent to the sandbox: {exc}", "internal") from exc


def _child_env(workdir: str, extra_env: Mapping[str, str] | None) -> dict[str, str]:
    """Build the child's whole environment: nothing is inherited from this process."""
    return {**BASE_ENV, "HOME": workdir, "TMPDIR": workdir, **(extra_env or {})}


def _own_rwx(path: str) -> None:
    """Give the owner rwx on a real directory, never through a symlink."""
    with contextlib.suppress(OSError):
        if stat.S_ISDIR(os.lstat(path).st_mode):
            os.chmod(path, stat.S_IRWXU)


def _remove_tree(root: str) -> None:
    """Delete a run's directory, restoring permissions the code may have removed inside it."""
    shutil.rmtree(root, ignore_errors=True)
    if not os.path.lexists(root):
        return
    _own_rwx(root)
    for directory, subdirectories, _files in os.walk(root):  # top-down: fixed before entered
        for name in subdirectories:
            _own_rwx(os.path.join(directory, name))
    shutil.rmtree(root, ignore_errors=True)
    if os.path.lexists(root):
        logger.warning("Code sandbox: could not remove %s", root)


@contextlib.contextmanager
def _workdir() -> Iterator[str]:
    """Yield a fresh private directory for one run and remove it (and all it holds) afterwards."""
    path = tempfile.mkdtemp(prefix="fluxolab-sandbox-")
    try:
        yield path
    finally:
        _remove_tree(path)


def _popen(argv: list[str], cwd: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a process in a new session, with an explicit argv and environment."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        close_fds=True,
        start_new_session=True,
    )


@contextlib.contextmanager
def _started(
    limits: SandboxLimits, extra_env: Mapping[str, str] | None, refusal: str | None
) -> Iterator[tuple[subprocess.Popen[bytes], bool]]:
    """Start the child confined by bubblewrap, or (only if allowed) in a host directory.

    ``refusal`` says why bwrap cannot confine runs here (None: it can). Yields the process and
    whether it is contained; raises SandboxError when it is not and isolation is required.
    """
    config = limits.child_config(os.getpid())
    if refusal is None:
        program = ["-I", "-S", "-B", bwrap.CHILD_PATH, json.dumps({**config, "contained": True})]
        env = _child_env(bwrap.TMP, extra_env)
        yield _popen(bwrap.command(limits, program), "/", env), True
        return
    if limits.require_isolation:
        raise SandboxRefused(refusal, "internal")
    _warn_uncontained(refusal)
    with _workdir() as workdir:
        argv = [sys.executable, "-I", "-S", "-B", child.__file__, json.dumps(config)]
        yield _popen(argv, workdir, _child_env(workdir, extra_env)), False


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group; safe until the child is reaped."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _reap(process: subprocess.Popen[bytes], contained: bool) -> ChildExit:
    """Wait for the (killed or finished) child and collect its status and CPU time.

    bwrap reports a command killed by signal N as exit status 128 + N; it is translated back
    to -N, as subprocess reports it. bwrap exits without reaping its PID namespace's init, so
    the CPU time it reports is its own only: it is dropped.
    """
    try:
        _pid, status, usage = os.wait4(process.pid, 0)
    except ChildProcessError:  # someone else reaped it (e.g. SIGCHLD set to SIG_IGN)
        process.returncode = -1
        return ChildExit(None)
    process.returncode = os.waitstatus_to_exitcode(status)
    if not contained:
        return ChildExit(process.returncode, usage.ru_utime + usage.ru_stime)
    code = process.returncode
    return ChildExit(SIGNAL_EXIT_BASE - code if code > SIGNAL_EXIT_BASE else code)


def _supervise(
    process: subprocess.Popen[bytes],
    contained: bool,
    payload: bytes,
    limits: SandboxLimits,
    started: float,
) -> Run:
    """Exchange data with the child, then kill its group and reap it whatever happened.

    The input starts with the pid of the started process, from which the child takes its uid.
    """
    try:
        transcript = exchange(
            process,
            b"%d\n" % process.pid + payload,
            deadline=started + limits.wall_seconds,
            reply_cap=limits.max_output_bytes + REPLY_SLACK_BYTES,
            log_cap=limits.max_log_bytes,
            on_exit=lambda: _kill_group(process),
        )
    finally:
        _kill_group(process)
        child_exit = _reap(process, contained)
    duration_ms = round((time.monotonic() - started) * 1000)
    return Run(transcript, child_exit, limits, duration_ms)


def run_python(
    code: str,
    items: list[dict[str, Any]],
    limits: SandboxLimits = SandboxLimits(),
    *,
    extra_env: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run user code as a function body on a copy of ``items`` in an isolated child process.

    Returns the normalised items and captured prints; raises SandboxError (see its ``kind``)
    for every failure of the code or of the sandbox. The calling process is never affected.
    Each run is counted by outcome (``fluxolab_sandbox_runs_total``), refusals apart.
    """
    try:
        result = _run_python(code, items, limits, extra_env)
    except SandboxRefused:
        instruments.sandbox_refused("isolation_unavailable")
        raise
    except SandboxError as exc:
        instruments.sandbox_run(exc.kind)
        raise
    instruments.sandbox_run("ok")
    return result


def _run_python(
    code: str,
    items: list[dict[str, Any]],
    limits: SandboxLimits,
    extra_env: Mapping[str, str] | None,
) -> SandboxResult:
    payload = _encode_input(code, items)
    refusal = bwrap.unavailable_reason()  # probed once per process, before the clock starts
    started = time.monotonic()
    try:
        with _started(limits, extra_env, refusal) as (process, contained):
            run = _supervise(process, contained, payload, limits, started)
    except OSError as exc:
        raise SandboxError(f"The sandbox failed: {exc}", "internal") from exc
    result = interpret(run)
    if not result.network_isolated:
        _warn_no_network_isolation()
    return result


@functools.cache
def _warn_uncontained(reason: str) -> None:
    """Log once per process that runs are not confined because the operator allowed it."""
    logger.warning("Code sandbox: CODE_SANDBOX_REQUIRE_ISOLATION is off; %s", reason)


@functools.cache
def _warn_no_network_isolation() -> None:
    """Log once per process that user code can reach the network on this host."""
    logger.warning("Code sandbox: no network namespace available; user code has network access")


def protect_this_process() -> None:
    """Make this (worker) process non-dumpable: sandboxed code running as the same uid then
    cannot read its ``/proc/<pid>/environ`` or memory. A no-op where prctl is unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        logger.warning("Code sandbox: could not mark the worker process non-dumpable")


@functools.cache
def network_isolation_available() -> bool:
    """Probe once whether sandboxed code runs without network access on this host."""
    try:
        return run_python("return {}", []).network_isolated
    except SandboxError:
        return False
