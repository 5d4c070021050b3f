"""Behaviour of the Code node sandbox: contract, limits, isolation and cleanup."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fluxolab.engine.sandbox import (
    SandboxError,
    SandboxLimits,
    SandboxResult,
    bwrap,
    network_isolation_available,
    run_python,
)

# Generous wall time: CPU-limit tests must end on the CPU limit even on a loaded machine.
TEST_LIMITS = SandboxLimits(cpu_seconds=1, wall_seconds=10)
ITEMS = [{"json": {"n": 1}}, {"json": {"n": 2}}]
IS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(
    not IS_ROOT,
    reason="needs root: only then does the child get a uid (and process count) of its own",
)


def run(code: str, limits: SandboxLimits = TEST_LIMITS) -> SandboxResult:
    """Run code on ITEMS with the test limits."""
    return run_python(code, ITEMS, limits)


def fail(code: str, limits: SandboxLimits = TEST_LIMITS) -> SandboxError:
    """Run code that must fail and return the error."""
    with pytest.raises(SandboxError) as caught:
        run(code, limits)
    return caught.value


def live_processes_of(uid: int) -> list[int]:
    """Return the host's non-zombie processes whose real uid is ``uid``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status_file:
                fields = dict(line.split(":", 1) for line in status_file if ":" in line)
        except OSError:
            continue  # the process ended while we looked
        state, real_uid = fields["State"].split()[0], int(fields["Uid"].split()[0])
        if real_uid == uid and state not in "ZX":
            members.append(int(entry))
    return members


def wait_until_gone(uid: int, timeout: float = 2.0) -> list[int]:
    """Give SIGKILLed processes a moment to die; return whatever of ``uid`` is still alive."""
    deadline = time.monotonic() + timeout
    while (alive := live_processes_of(uid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive


@pytest.fixture
def bwrap_command(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Point the sandbox at another bwrap executable (the probe is re-run)."""

    def use(command: str) -> None:
        monkeypatch.setattr(bwrap, "BWRAP", command)
        bwrap.unavailable_reason.cache_clear()
        bwrap.fixed_args.cache_clear()

    yield use
    bwrap.unavailable_reason.cache_clear()
    bwrap.fixed_args.cache_clear()


@pytest.fixture
def listening_port() -> Iterator[tuple[socket.socket, int]]:
    """A TCP server on loopback in the parent's network namespace."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server, server.getsockname()[1]
    server.close()


# --- the user-code contract ---------------------------------------------------------------


def test_returns_transformed_items() -> None:
    result = run("return [{'json': {'n': item['json']['n'] * 10}} for item in items]")

    assert result.items == [{"json": {"n": 10}}, {"json": {"n": 20}}]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(
            "return [{'a': 1}, {'b': 2}]",
            [{"json": {"a": 1}}, {"json": {"b": 2}}],
            id="list-of-dicts",
        ),
        pytest.param("return {'a': 1}", [{"json": {"a": 1}}], id="single-dict"),
        pytest.param("return {'json': {'a': 1}}", [{"json": {"a": 1}}], id="single-item"),
        pytest.param("return []", [], id="empty-list"),
        pytest.param(
            "return [{'json': {}, 'pairedItem': {'item': 0}}]",
            [{"json": {}, "pairedItem": {"item": 0}}],
            id="item-keeps-paired-item",
        ),
        pytest.param(
            "return [{'json': 1, 'x': 2}]",
            [{"json": {"json": 1, "x": 2}}],
            id="dict-with-json-key-wrapped",
        ),
    ],
)
def test_return_value_is_normalised_to_items(code: str, expected: list[dict]) -> None:
    assert run(code).items == expected


def test_default_code_return_data_with_semicolon_passes_items_through() -> None:
    assert run("return data;").items == ITEMS


def test_items_and_data_are_the_same_list() -> None:
    result = run("return {'same': items is data, 'count': len(items)}")

    assert result.items == [{"json": {"same": True, "count": 2}}]


@pytest.mark.parametrize(
    ("code", "detail"),
    [
        pytest.param("return 42", "(got int)", id="int"),
        pytest.param("return 'text'", "(got str)", id="str"),
        pytest.param("x = 1", "(got NoneType)", id="no-return"),
        pytest.param("return [1, 2]", "(item 0 is a int)", id="list-of-ints"),
        pytest.param(
            "return [{'json': 5}]", '(item 0 has a non-dict "json")', id="item-json-not-dict"
        ),
        pytest.param("yield {'a': 1}", "(got generator)", id="generator"),
    ],
)
def test_rejects_return_values_that_are_not_items(code: str, detail: str) -> None:
    error = fail(code)

    assert error.kind == "runtime"
    assert error.message == f"Code must return a list of items or a dict {detail}"


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import datetime\nreturn {'at': datetime.date(2024, 1, 1)}", id="date"),
        pytest.param("return {'x': float('nan')}", id="nan"),
    ],
)
def test_rejects_results_that_are_not_json(code: str) -> None:
    error = fail(code)

    assert error.kind == "runtime"
    assert error.message.startswith("Code returned a value that is not JSON: ")


def test_print_output_goes_to_logs_not_items() -> None:
    result = run("print('hello')\nprint('a', 1)\nreturn {'ok': True}")

    assert result.logs == ["hello", "a 1"]
    assert result.items == [{"json": {"ok": True}}]


def test_logs_are_kept_when_the_code_fails() -> None:
    error = fail("print('before')\nraise ValueError('boom')")

    assert error.logs == ["before"]


def test_logs_printed_before_a_timeout_are_kept() -> None:
    limits = SandboxLimits(cpu_seconds=1, wall_seconds=1.5)  # startup may be slow on a busy host
    error = fail("import time\nprint('started')\ntime.sleep(100)", limits)

    assert (error.kind, error.logs) == ("timeout", ["started"])


def test_stdin_is_empty_for_user_code() -> None:
    assert run("import sys\nreturn {'stdin': sys.stdin.read()}").items == [{"json": {"stdin": ""}}]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        pytest.param("a = 1\nb = 2\nc = = 3", "SyntaxError: invalid syntax (line 3)", id="invalid"),
        pytest.param("x = 1\n  y = 2", "IndentationError: unexpected indent (line 2)", id="indent"),
        pytest.param(
            "x = 1\nawait x", "SyntaxError: 'await' outside async function (line 2)", id="compile"
        ),
    ],
)
def test_syntax_errors_report_the_users_line(code: str, message: str) -> None:
    error = fail(code)

    assert (error.kind, error.message) == ("syntax", message)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        pytest.param(
            "x = 1\ny = x / 0\nreturn []",
            "ZeroDivisionError: division by zero (line 2)",
            id="top-level",
        ),
        pytest.param(
            "def half(v):\n    return v / 0\n\nreturn half(1)",
            "ZeroDivisionError: division by zero (line 2)",
            id="inside-user-function",
        ),
        pytest.param(
            "x = 1\nreturn int('abc')",
            "ValueError: invalid literal for int() with base 10: 'abc' (line 2)",
            id="inside-builtin",
        ),
        pytest.param("import sys\nsys.exit(3)", "SystemExit: 3 (line 2)", id="sys-exit"),
        pytest.param("raise KeyError", "KeyError (line 1)", id="no-message"),
    ],
)
def test_runtime_errors_report_type_message_and_users_line(code: str, message: str) -> None:
    error = fail(code)

    assert (error.kind, error.message) == ("runtime", message)


def test_items_that_are_not_json_are_refused_before_starting() -> None:
    with pytest.raises(SandboxError) as caught:
        run_python("return data", [{"json": {"x": object()}}], TEST_LIMITS)

    assert caught.value.kind == "internal"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"cpu_seconds": 0}, id="cpu-zero"),
        pytest.param({"wall_seconds": 0}, id="wall-zero"),
        pytest.param({"memory_bytes": 1024}, id="memory-too-small"),
        pytest.param({"max_processes": -1}, id="processes-negative"),
        pytest.param({"max_open_files": 3}, id="files-too-few"),
        pytest.param({"tmp_bytes": 0}, id="tmp-zero-would-be-unlimited"),
        pytest.param({"tmp_files": 0}, id="tmp-no-files"),
    ],
)
def test_limits_out_of_range_are_rejected(changes: dict) -> None:
    with pytest.raises(ValueError, match="SandboxLimits"):
        SandboxLimits(**changes)


# --- resource limits ------------------------------------------------------------------------


def test_busy_loop_hits_the_cpu_limit() -> None:
    error = fail("while True: pass")

    assert (error.kind, error.message) == ("cpu", "Code exceeded its CPU time limit (1 s)")


def test_cpu_limit_holds_when_the_code_ignores_sigxcpu() -> None:
    error = fail("import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True: pass")

    assert error.kind == "cpu"


def test_sleeping_code_hits_the_wall_time_limit() -> None:
    limits = SandboxLimits(cpu_seconds=1, wall_seconds=0.5)
    started = time.monotonic()
    error = fail("import time\ntime.sleep(100)", limits)

    assert (error.kind, error.message) == ("timeout", "Code exceeded its wall time limit (0.5 s)")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("x = bytearray(10**10)", id="one-huge-allocation"),
        pytest.param("a = []\nwhile True: a.append('x' * 10**6)", id="growing-list"),
    ],
)
def test_memory_bombs_hit_the_memory_limit(code: str) -> None:
    limits = SandboxLimits(cpu_seconds=2, wall_seconds=10, memory_bytes=128 * 1024 * 1024)
    error = fail(code, limits)

    assert (error.kind, error.message) == ("memory", "Code exceeded its memory limit (128 MiB)")


@pytest.mark.parametrize(
    ("code", "signal_name"),
    [
        pytest.param(
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "SIGKILL", id="kill"
        ),
        pytest.param(
            "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)", "SIGTERM", id="term"
        ),
        pytest.param("import ctypes\nctypes.string_at(0)", "SIGSEGV", id="segfault"),
    ],
)
def test_code_killed_by_a_signal_says_which(code: str, signal_name: str) -> None:
    error = fail(code, SandboxLimits(cpu_seconds=5, wall_seconds=10))  # far from the CPU limit

    assert (error.kind, error.message) == ("runtime", f"Code was killed by signal {signal_name}")


def test_a_late_sigkill_is_not_taken_for_a_limit() -> None:
    code = "import os, signal, time\ntime.sleep(0.3)\nos.kill(os.getpid(), signal.SIGKILL)"
    error = fail(code, SandboxLimits(cpu_seconds=5, wall_seconds=10))

    assert error.message == "Code was killed by signal SIGKILL"


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import os\nwhile True: os.fork()", id="fork-bomb"),
        pytest.param("import subprocess\nsubprocess.run(['true'])", id="subprocess"),
        pytest.param("import threading\nthreading.Thread(target=print).start()", id="thread"),
    ],
)
def test_starting_processes_fails_with_a_resource_error(code: str) -> None:
    error = fail(code)

    assert error.kind == "runtime"
    assert error.message.endswith("(line 2)")
    assert "BlockingIOError" in error.message or "can't start new thread" in error.message


@root_only
def test_fork_bomb_leaves_no_process_behind() -> None:
    error = fail("import os\nprint(os.getuid(), flush=True)\nwhile True: os.fork()")

    assert wait_until_gone(int(error.logs[0])) == []


@root_only
def test_processes_left_by_a_finished_run_are_killed() -> None:
    limits = SandboxLimits(cpu_seconds=1, wall_seconds=10, max_processes=2)
    code = "import os, time\nif os.fork() == 0:\n    time.sleep(100)\nreturn {'uid': os.getuid()}"
    result = run(code, limits)

    assert wait_until_gone(result.items[0]["json"]["uid"]) == []


@root_only
def test_processes_of_a_timed_out_run_are_killed() -> None:
    limits = SandboxLimits(cpu_seconds=1, wall_seconds=1.5, max_processes=2)
    code = "import os, time\nprint(os.getuid(), flush=True)\nos.fork()\ntime.sleep(100)"
    error = fail(code, limits)

    assert error.kind == "timeout"
    assert wait_until_gone(int(error.logs[0])) == []


def test_the_worker_keeps_working_after_a_failed_run() -> None:
    fail("import os\nwhile True: os.fork()")

    assert run("return data").items == ITEMS


def test_oversized_result_is_an_output_error() -> None:
    limits = SandboxLimits(cpu_seconds=2, wall_seconds=10, max_output_bytes=1024 * 1024)
    error = fail("return [{'i': i, 'pad': 'x' * 1000} for i in range(2000)]", limits)

    assert (error.kind, error.message) == ("output", "Code output exceeds 1 MiB")


def test_flooding_the_result_channel_is_cut_off_by_the_parent() -> None:
    limits = SandboxLimits(cpu_seconds=2, wall_seconds=10, max_output_bytes=1024 * 1024)
    code = (
        "import os, stat\n"
        "for fd in range(3, 16):\n"
        "    try:\n"
        "        if stat.S_ISFIFO(os.fstat(fd).st_mode):\n"
        "            os.write(fd, b'x' * 4_000_000)\n"
        "    except OSError:\n"
        "        pass\n"
        "return {}"
    )
    error = fail(code, limits)

    assert error.kind == "output"


def test_print_spam_is_bounded() -> None:
    limits = SandboxLimits(cpu_seconds=2, wall_seconds=10, max_log_bytes=1024)
    result = run("for i in range(20_000):\n    print('line', i)\nreturn {}", limits)

    kept = "\n".join(result.logs[:-1]).encode()
    assert len(kept) <= 1024
    assert result.logs[0] == "line 0"
    assert result.logs[-1].startswith("[log truncated: ")


def test_writing_a_large_file_fails() -> None:
    code = (
        "with open('big.bin', 'wb') as f:\n    for _ in range(100):\n        f.write(b'x' * 10**6)"
    )
    error = fail(code)

    assert (error.kind, error.message) == ("runtime", "OSError: [Errno 27] File too large (line 3)")


# --- isolation ------------------------------------------------------------------------------


def test_parent_secrets_are_not_in_the_child_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET_KEY", "jwt-secret-value")
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:password@db/fluxolab")
    result = run("import os\nreturn dict(os.environ)")

    assert set(result.items[0]["json"]) == {"PATH", "LANG", "HOME", "TMPDIR", "PWD"}  # PWD: bwrap


def test_extra_env_reaches_the_child() -> None:
    result = run_python(
        "import os\nreturn {'tz': os.environ['TZ']}", [], TEST_LIMITS, extra_env={"TZ": "UTC"}
    )

    assert result.items == [{"json": {"tz": "UTC"}}]


@root_only
def test_code_runs_as_an_unprivileged_user_without_a_way_back() -> None:
    code = (
        "import os\n"
        "try:\n"
        "    os.setuid(0)\n"
        "except PermissionError:\n"
        "    return {'uid': os.getuid()}"
    )
    result = run(code)

    assert result.items[0]["json"]["uid"] not in (0, os.getuid())


def test_parent_environment_is_not_readable_through_proc() -> None:
    if not IS_ROOT and not network_isolation_available():
        pytest.skip("without root or a user namespace the child shares the worker's uid")
    error = fail("import os\nreturn {'env': open(f'/proc/{os.getppid()}/environ').read()}")

    assert error.message.startswith("PermissionError: ")


def test_network_is_unreachable(listening_port: tuple[socket.socket, int]) -> None:
    if not IS_ROOT and not network_isolation_available():
        pytest.skip("no network namespace for unprivileged users on this host")
    server, port = listening_port
    error = fail(
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\nreturn {{}}"
    )

    assert error.message in {
        "OSError: [Errno 101] Network is unreachable (line 2)",  # its loopback is down
        "ConnectionRefusedError: [Errno 111] Connection refused (line 2)",  # or up, and empty
    }
    with pytest.raises(BlockingIOError):
        server.accept()


@root_only
def test_result_reports_network_isolation() -> None:
    assert run("return {}").network_isolated is True


def test_working_directory_starts_empty() -> None:
    assert run("import os\nreturn {'files': os.listdir('.')}").items == [{"json": {"files": []}}]


# --- refusing to run without isolation -----------------------------------------------------


def test_runs_are_refused_when_bubblewrap_is_missing(bwrap_command: Callable[[str], None]) -> None:
    bwrap_command("fluxolab-no-such-bwrap")
    error = fail("return {}")

    assert error.kind == "internal"
    assert "bubblewrap is not installed" in error.message
    assert "apt-get install bubblewrap" in error.message
    assert "CODE_SANDBOX_REQUIRE_ISOLATION=false" in error.message


def test_runs_are_refused_when_bwrap_cannot_create_namespaces(
    bwrap_command: Callable[[str], None], tmp_path: Path
) -> None:
    denied = tmp_path / "bwrap"
    denied.write_text(
        "#!/bin/sh\necho 'bwrap: Creating new namespace failed: Operation not permitted' >&2\n"
        "exit 1\n"
    )
    denied.chmod(0o755)
    bwrap_command(str(denied))
    error = fail("return {}")

    assert error.kind == "internal"
    assert "Creating new namespace failed: Operation not permitted" in error.message
    assert "CAP_SYS_ADMIN" in error.message and "user namespaces" in error.message


def test_an_operator_may_accept_weaker_isolation(bwrap_command: Callable[[str], None]) -> None:
    bwrap_command("fluxolab-no-such-bwrap")
    limits = SandboxLimits(cpu_seconds=1, wall_seconds=10, require_isolation=False)
    result = run("import os\nreturn {'cwd': os.getcwd()}", limits)

    workdir = result.items[0]["json"]["cwd"]
    assert workdir != "/tmp" and not os.path.exists(workdir)  # a host directory, removed
