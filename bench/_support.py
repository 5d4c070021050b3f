"""Benchmark helpers: child processes, CPU accounting from /proc, a lean HTTP/1.1 client,
machine facts, percentiles, PostgreSQL statement-log counting and py-spy profile summaries.

Linux only (``/proc``). Nothing here imports FluxoLab: the load generator stays lean.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The 5-node workflow: manual trigger -> set -> if (true branch) -> set -> no-op.
WORKFLOW: dict[str, Any] = {
    "nodes": [
        {"id": "t", "type": "manual"},
        {
            "id": "s1",
            "type": "set",
            "params": {"fields": [{"name": "n", "value": "{{ $json.n }}"}]},
        },
        {
            "id": "if",
            "type": "if-condition",
            "params": {"condition": "{{ $json.n }}", "operator": "greater", "value": 1},
        },
        {"id": "s2", "type": "set", "params": {"fields": [{"name": "big", "value": "yes"}]}},
        {"id": "end", "type": "no-op"},
    ],
    "connections": [
        {"from": "t", "to": "s1"},
        {"from": "s1", "to": "if"},
        {"from": "if", "to": "s2", "output": "true"},
        {"from": "s2", "to": "end"},
    ],
}
RUN_INPUT = {"n": 5}


# --- child processes -------------------------------------------------------------------------


@dataclass
class Child:
    """A server started in its own process group, with its output in a log file."""

    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str], cwd: Path) -> Child:
        """Start the command in a new session (so ``killpg`` reaches its worker processes)."""
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        """The leader's pid (gunicorn or Celery master)."""
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        """Tell whether the leader still runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the leader, wait, then SIGKILL the whole group; always reaps the leader."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of the group
        self.proc.wait()
        if self.log is not None:
            self.log.close()

    def tail(self, lines: int = 30) -> str:
        """The end of the child's log, indented, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n".join(f"  | {line}" for line in text)


# --- CPU accounting --------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    """One process: parent, name and CPU ticks (its own plus those of reaped children)."""

    ppid: int
    name: str
    user: int
    system: int

    @property
    def ticks(self) -> int:
        """User plus system ticks."""
        return self.user + self.system


def _read_stat(pid: int) -> Proc | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    head, _, rest = raw.rpartition(")")
    fields = rest.split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return Proc(int(fields[1]), head.partition("(")[2], utime + cutime, stime + cstime)


def process_table() -> dict[int, Proc]:
    """Return ``{pid: Proc}`` for every process visible in /proc."""
    table: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            proc = _read_stat(int(entry))
            if proc is not None:
                table[int(entry)] = proc
    return table


def tree_pids(roots: Iterable[int], table: dict[int, Proc]) -> set[int]:
    """``roots`` and all their live descendants."""
    children: dict[int, list[int]] = {}
    for pid, proc in table.items():
        children.setdefault(proc.ppid, []).append(pid)
    seen: set[int] = set()
    stack = [pid for pid in roots if pid in table]
    while stack:
        pid = stack.pop()
        if pid not in seen:
            seen.add(pid)
            stack.extend(children.get(pid, []))
    return seen


def cpu_seconds(pids: Iterable[int], table: dict[int, Proc]) -> tuple[float, float]:
    """``(total, system)`` CPU seconds of these processes, with their exited (reaped) children."""
    procs = [table[pid] for pid in pids if pid in table]
    total = sum(proc.ticks for proc in procs) / CLOCK_TICKS
    return total, sum(proc.system for proc in procs) / CLOCK_TICKS


def busiest_others(
    before: dict[int, Proc], after: dict[int, Proc], ours: set[int], top: int = 3
) -> list[tuple[str, float]]:
    """The processes outside the benchmark that used the most CPU seconds between samples."""
    deltas = [
        (f"{proc.name}[{pid}]", (proc.ticks - (before[pid].ticks if pid in before else 0)))
        for pid, proc in after.items()
        if pid not in ours
    ]
    deltas.sort(key=lambda entry: entry[1], reverse=True)
    return [(name, ticks / CLOCK_TICKS) for name, ticks in deltas[:top] if ticks > 0]


def self_cpu_seconds() -> tuple[float, float]:
    """``(total, system)`` CPU seconds of this process (the load generator), all threads."""
    times = os.times()
    return times.user + times.system, times.system


def machine_busy_seconds() -> tuple[float, float, float]:
    """Return ``(busy, total, steal)`` CPU seconds of the whole machine since boot."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    busy = sum(values[:3]) + values[5] + values[6]  # user nice system irq softirq
    total = busy + values[3] + values[4]  # + idle iowait (steal: not ours to use)
    return busy / CLOCK_TICKS, total / CLOCK_TICKS, values[7] / CLOCK_TICKS


def pid_from_file(path: Path) -> int | None:
    """Read a pid from the first line of a pid file (postmaster.pid, redis.pid)."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# --- machine facts and statistics ------------------------------------------------------------


def machine_facts() -> dict[str, str]:
    """CPU count and model, memory, kernel, Python and load average."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return {
        "cpus": str(os.cpu_count()),
        "cpu model": model.group(1) if model else "unknown",
        "memory": f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "unknown",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.5 for p50, 0.99 for p99); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


# --- a lean HTTP/1.1 keep-alive client -------------------------------------------------------


class HttpPool:
    """Up to ``size`` keep-alive connections to one server, sending prebuilt requests.

    Far cheaper per request than a general client, so the load generator takes little of
    the CPU the system under test needs. Reconnects when the server closed an idle
    connection.
    """

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue()
        )
        for _ in range(size):
            self.idle.put_nowait(None)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request; return ``(status, body)``."""
        conn = await self.idle.get()
        try:
            for attempt in (1, 2):
                if conn is None:
                    conn = await asyncio.open_connection(self.host, self.port)
                try:
                    status, body, keep = await _exchange(conn, raw)
                except (ConnectionError, asyncio.IncompleteReadError):
                    conn[1].close()
                    conn = None
                    if attempt == 2:
                        raise
                    continue
                if not keep:
                    conn[1].close()
                    conn = None
                return status, body
            raise ConnectionError("unreachable")
        finally:
            self.idle.put_nowait(conn)

    async def close(self) -> None:
        """Close every idle connection."""
        while not self.idle.empty():
            conn = self.idle.get_nowait()
            if conn is not None:
                conn[1].close()


async def _exchange(
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes
) -> tuple[int, bytes, bool]:
    reader, writer = conn
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head:
        raise ConnectionError("closed")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection", "").lower() != "close"


def post_request(host: str, port: int, path: str, token: str, body: bytes) -> bytes:
    """Build the bytes of a JSON POST with a bearer token, if any (HTTP/1.1, keep-alive)."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


# --- PostgreSQL statement log and py-spy profiles ---------------------------------------------

_STATEMENT = re.compile(r"^(\w*)\|LOG:  (?:statement|execute [^:]*): (.*)$")


def count_statements(log_text: str) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """Count logged statements per application name, and per (application, statement shape).

    Expects ``log_line_prefix = '%a|'`` and ``log_statement = 'all'``; PostgreSQL continues
    a multi-line statement on lines that start with a tab. The shape is the statement's
    verb and tables, without literals or parameters.
    """
    statements: list[tuple[str, list[str]]] = []
    for line in log_text.splitlines():
        match = _STATEMENT.match(line)
        if match:
            statements.append((match.group(1), [match.group(2)]))
        elif line.startswith("\t") and statements:
            statements[-1][1].append(line)
        else:
            statements.append(("", []))  # another message ends the statement
    per_app: Counter[str] = Counter()
    shapes: Counter[tuple[str, str]] = Counter()
    for app, lines in statements:
        if lines:
            per_app[app] += 1
            shapes[(app, _shape(" ".join(lines)))] += 1
    return per_app, shapes


def _shape(statement: str) -> str:
    """``SELECT count(*) FROM executions``, ``UPDATE executions SET status, ...``, ``BEGIN``."""
    text = re.sub(r"\s+", " ", re.sub(r"\$\d+|'[^']*'", "?", statement)).strip()
    words = text.split(" ")
    verb = words[0].upper()
    if verb == "SELECT":
        tables = re.findall(r"\b(?:FROM|JOIN) (\w+)", text)
        first = words[1] if len(words) > 1 else ""
        what = first.rstrip(",") if "(" in first and not first.startswith("(") else "..."
        source = f" FROM {' JOIN '.join(tables)}" if tables else ""
        return f"SELECT {what}{source}"
    if verb == "UPDATE" and len(words) > 1:
        columns = re.findall(r"(\w+)=", text.partition(" WHERE ")[0])
        more = ", ..." if len(columns) > 3 else ""
        return f"UPDATE {words[1]} SET {', '.join(columns[:3])}{more}"  # noqa: S608  (a label)
    table = re.search(r"\bINTO (\w+)", text)
    return f"{verb} {table.group(1)}" if table else " ".join(words[:2])[:60]


# Leaf frames where a thread waits (py-spy's idle detection is racy with --nonblocking).
IDLE_LEAVES = (
    "selectors.py:",
    "concurrent/futures/thread.py:_worker",
    "threading.py:Condition.wait",
    "gunicorn/arbiter.py:Arbiter.",
    "kombu/utils/eventio.py:_epoll.poll",
    "billiard/connection.py:Connection._recv",
)
# Frames that are only plumbing around the work (roots, thread pools, CLI, process start).
PLUMBING = (
    "<frozen", "threading.py", "concurrent/", "click/", "runpy", "gunicorn/", "flask/app.py",
    "flask/views.py", "celery/bin/", "celery/__main__", "celery/bootsteps", "celery/worker/worker",
    "billiard/process", "billiard/popen", "celery/concurrency/", "process ", "thread ",
)  # fmt: skip


@dataclass
class Profile:
    """A py-spy ``--format raw`` profile reduced to shares of the busy samples."""

    samples: int
    idle: int
    packages: list[tuple[str, float]]  # self time by top-level package
    self_time: list[tuple[str, float]]  # top functions by self time
    inclusive: list[tuple[str, float]]  # top functions by inclusive time (plumbing left out)


def summarize_profile(raw_path: Path, top: int = 20) -> Profile:
    """Read py-spy raw output (``frame;frame;... count`` lines) and rank functions."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    busy = idle = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(frame) for frame in stack.split(";")]
        if frames[-1].startswith(IDLE_LEAVES):
            idle += count
            continue
        busy += count
        own[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for name in set(frames):
            inclusive[name] += count
    share = 1 / busy if busy else 0.0
    return Profile(
        samples=busy,
        idle=idle,
        packages=[(name, count * share) for name, count in packages.most_common(10)],
        self_time=[(name, count * share) for name, count in own.most_common(top)],
        inclusive=[
            (name, count * share)
            for name, count in inclusive.most_common()
            if not name.startswith(PLUMBING)
        ][:top],
    )


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``path/to/file.py:func`` (line numbers dropped)."""
    match = re.match(r"^(.*) \((.*?)(?::\d+)?\)$", frame)
    if not match:
        return frame
    func, path = match.groups()
    path = re.sub(r"^.*?(site-packages|lib/python3\.\d+)/", "", path)
    return f"{path.removeprefix(str(Path.cwd()) + '/')}:{func}"


def _package(name: str) -> str:
    path = name.partition(":")[0]
    first = path.split("/")[0]
    return first.removesuffix(".py") if first else "?"


def wait_for(predicate: object, timeout: float, interval: float = 0.1) -> bool:
    """Poll a zero-argument callable until it returns true or ``timeout`` seconds pass."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def get_request(host: str, port: int, path: str, token: str) -> bytes:
    """Build the bytes of a GET with a bearer token (HTTP/1.1, keep-alive)."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()


@dataclass
class TimedStatement:
    """One statement from PostgreSQL's ``log_min_duration_statement`` log, with its values."""

    app: str
    ms: float
    sql: str
    params: dict[str, str]

    def with_values(self) -> str:
        """The statement with its logged parameter values in place of ``$1``, ``$2`` ..."""
        return re.sub(r"\$(\d+)\b", lambda m: self.params.get(m.group(0), m.group(0)), self.sql)


_TIMED = re.compile(r"^(\w*)\|LOG:  duration: ([\d.]+) ms  (?:statement|execute [^:]*): (.*)$")
_PARAMS = re.compile(r"^(\w*)\|DETAIL:  parameters: (.*)$")
_VALUE = re.compile(r"(\$\d+) = ('(?:[^']|'')*'|NULL)")


def timed_statements(log_text: str) -> list[TimedStatement]:
    """The executed statements of a log written with ``log_min_duration_statement = 0`` and
    ``log_line_prefix = '%a|'`` (parse and bind lines left out), in log order."""
    found: list[TimedStatement] = []
    current: TimedStatement | None = None
    for line in log_text.splitlines():
        timed, params = _TIMED.match(line), _PARAMS.match(line)
        if timed:
            current = TimedStatement(timed.group(1), float(timed.group(2)), timed.group(3), {})
            found.append(current)
        elif line.startswith("\t") and current is not None:
            current.sql += "\n" + line[1:]
        elif params and current is not None and current.app == params.group(1):
            current.params = dict(_VALUE.findall(params.group(2)))
            current = None
        else:
            current = None
    return found
