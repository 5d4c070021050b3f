"""End-to-end execution benchmark: API (gunicorn), Redis, PostgreSQL and one Celery worker.

    scripts/with-services.sh .venv/bin/python bench/executions.py [options]   (= make bench)

Starts the API and a worker on loopback against a fresh database, registers a user and
creates the issue's 5-node workflow through the API, then measures: (1) saturation,
``--executions`` runs as fast as the system takes them, ``--runs`` times: sustained
executions/s, CPU ms per execution by process, transactions, rows and Redis commands per
execution; (2) latency, open-loop paced arrivals at half the saturated rate and at 60/s:
queued->succeeded p50/p99 from the executions table and API latency at the client;
(3) statements per execution (API and worker) from a short pass with PostgreSQL's statement
log on; (4) with ``--profile DIR``, a py-spy profile of the API and the worker.
Prints a table and one summary line. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from _support import (
    RUN_INPUT,
    WORKFLOW,
    Child,
    HttpPool,
    Proc,
    busiest_others,
    count_statements,
    cpu_seconds,
    machine_busy_seconds,
    machine_facts,
    percentile,
    pid_from_file,
    post_request,
    process_table,
    self_cpu_seconds,
    summarize_profile,
    tree_pids,
    wait_for,
)
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
DB_NAME = "fluxolab_bench"
GROUPS = ("api", "worker", "postgres", "redis", "loadgen")
STATS_SETTLE = 1.5  # s: PostgreSQL backends flush their counters at most once a second
EXECUTION_ID = re.compile(rb'"executionId":\s*"([0-9a-f-]{36})"')
PROGRESS = sys.stderr


def log(message: str) -> None:
    """Progress on stderr (the results go to stdout)."""
    print(f"bench: {message}", file=PROGRESS, flush=True)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Request:
    """One run request: when it was due (or sent), when it was answered, and the answer."""

    sent: float
    done: float
    status: int
    execution_id: str | None
    body: bytes


async def _send(pool: HttpPool, raw: bytes, sent: float) -> Request:
    status, body = await pool.request(raw)
    match = EXECUTION_ID.search(body)
    execution_id = match.group(1).decode() if match else None
    return Request(sent, time.time(), status, execution_id, body)


async def closed_loop(port: int, raw: bytes, count: int, connections: int) -> list[Request]:
    """Send ``count`` requests, ``connections`` at a time, each as soon as one is answered."""
    pool = HttpPool(HOST, port, connections)
    remaining = iter(range(count))
    results: list[Request] = []

    async def lane() -> None:
        for _ in remaining:
            results.append(await _send(pool, raw, time.time()))

    await asyncio.gather(*(lane() for _ in range(connections)))
    await pool.close()
    return results


async def open_loop(
    port: int, raw: bytes, count: int, rate: float, connections: int
) -> list[Request]:
    """Send ``count`` requests at fixed intervals whatever the answers (open loop).

    Latency counts from when a request was due, so a slow server is not hidden by the
    generator waiting for it (no coordinated omission).
    """
    pool = HttpPool(HOST, port, connections)
    start = time.time() + 0.05
    tasks = []
    for index in range(count):
        due = start + index / rate
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_send(pool, raw, due)))
    results = list(await asyncio.gather(*tasks))
    await pool.close()
    return results


@dataclass
class Sample:
    """CPU seconds per process group and of the whole machine, at one instant."""

    wall: float
    cpu: dict[str, float]
    system: dict[str, float]  # of which in the kernel (syscalls, loopback TCP, scheduling)
    busy: float
    total: float
    steal: float
    table: dict[int, Proc]
    ours: set[int]


class Stack:
    """The servers under test, the bench database and the account the runs belong to."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        admin = make_url(os.environ["DATABASE_URL"])
        self.admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
        self.dsn = admin.set(drivername="postgresql", database=DB_NAME).render_as_string(
            hide_password=False
        )
        self.app_url = admin.set(database=DB_NAME)
        self.broker = os.environ["REDIS_URL"]
        services = os.environ.get("FLUXOLAB_SERVICES_DIR")
        self.services = Path(services) if services else None
        self.port = free_port()
        self.api: Child | None = None
        self.workers: list[Child] = []
        self.conn: psycopg.Connection[Any] | None = None
        self.own_queries = 0
        self.statement_log = False  # whether this run turned PostgreSQL's statement log on
        self.redis = redis.Redis.from_url(self.broker)
        self.token = ""
        self.workspace_id = ""
        self.workflow_id = ""
        self.keys = {"jwt": secrets.token_urlsafe(48), "fernet": Fernet.generate_key().decode()}

    # --- servers ---------------------------------------------------------------------------

    def child_env(self, application: str) -> dict[str, str]:
        """Production settings with explicit secrets, the bench database and broker."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
        url = self.app_url.set(query={"application_name": application})
        env.update(
            FLUXOLAB_ENV="production",
            FLUXOLAB_VAR_DIR=str(self.work),
            JWT_SECRET_KEY=self.keys["jwt"],
            CREDENTIALS_ENCRYPTION_KEYS=self.keys["fernet"],
            DATABASE_URL=url.render_as_string(hide_password=False),
            CELERY_BROKER_URL=self.broker,  # read by celeryconfig; set, never inherited
            REDIS_URL=self.broker,
            RATELIMIT_ENABLED="false",
            RATELIMIT_STORAGE_URI="memory://",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
        )
        if self.args.task_events:
            env["CELERY_TASK_EVENTS"] = "true"
        return env

    def create_database(self) -> None:
        """Drop and create the bench database, migrate it (as compose does) and flush Redis."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        migrate = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
        done = subprocess.run(
            migrate, cwd=ROOT, env=self.child_env("migrate"), capture_output=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"migration failed:\n{done.stderr.decode()[-3000:]}")
        self.redis.flushdb()
        self.conn = psycopg.connect(self.dsn, autocommit=True, application_name="bench")

    def start_api(self, app: str = "wsgi:app", extra: tuple[str, ...] = ()) -> None:
        """gunicorn ``app`` with ``--api-workers`` x ``--api-threads`` (gthread when > 1)."""
        argv = [
            sys.executable, "-m", "gunicorn", app, *extra, "--bind", f"{HOST}:{self.port}",
            "--workers", str(self.args.api_workers), "--threads", str(self.args.api_threads),
            "--graceful-timeout", "5",
        ]  # fmt: skip
        if self.args.access_log:
            argv += ["--access-logfile", "-"]
        self.api = Child("api", argv, self.work / "api.log").start(self.child_env("api"), ROOT)
        health = f"http://{HOST}:{self.port}/api/health"
        if not wait_for(lambda: self._answers(health), timeout=60, interval=0.2):
            raise SystemExit(f"the API did not answer {health}:\n{self.api.tail()}")

    def start_workers(self) -> None:
        """Start ``--worker-processes`` Celery workers (``--pool`` x ``--concurrency`` each)."""
        env = self.child_env("worker")
        for index in range(self.args.worker_processes):
            argv = [
                sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "executions",
                "--pool", self.args.pool, "--concurrency", str(self.args.concurrency),
                "--loglevel", "WARNING", "--hostname", f"bench{index}-{os.getpid()}@%h",
            ]  # fmt: skip
            log_path = self.work / f"worker{index}.log"
            self.workers.append(Child(f"worker{index}", argv, log_path).start(env, ROOT))

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        """Stop the servers, reset PostgreSQL logging, drop the bench database."""
        for child in (self.api, *self.workers):
            if child is not None:
                child.stop()
        if self.conn is not None:
            if self.statement_log:
                set_statement_log(self.conn, on=False)
            self.conn.close()
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')

    # --- account and workflow through the API ----------------------------------------------

    def register_and_login(self, client: httpx.Client, prefix: str = "bench") -> None:
        """Register a fresh account through the API and keep its token and workspace."""
        email = f"{prefix}-{secrets.token_hex(4)}@example.com"
        password = f"{secrets.token_urlsafe(16)}-Aa1!"  # the password policy's four classes
        registered = client.post(
            "/auth/register",
            json={"email": email, "password": password, "displayName": "Bench"},
        )
        _expect(registered, 201)
        login = client.post("/auth/login", json={"email": email, "password": password})
        _expect(login, 200)
        self.token = login.json()["token"]
        self.workspace_id = login.json()["user"]["workspaceId"]

    def setup_account(self) -> None:
        """Register and log in, lift the plan's limits, create the workflow (all via the API)."""
        with httpx.Client(base_url=f"http://{HOST}:{self.port}/api", timeout=30) as client:
            self.register_and_login(client)
            self.lift_plan_limits()
            created = client.post(
                "/workflows",
                json={"name": "bench: 5 nodes", "definition": WORKFLOW},
                headers={"Authorization": f"Bearer {self.token}"},
            )
            _expect(created, 201)
            self.workflow_id = created.json()["workflow"]["id"]

    def lift_plan_limits(self) -> None:
        """No execution or workflow quota, concurrency 64 (the worker runs far fewer at once)."""
        rows = self.query(
            "UPDATE plans SET limits = limits || %s::jsonb "
            "WHERE id = (SELECT plan_id FROM workspaces WHERE id = %s) RETURNING code, limits",
            (
                json.dumps({"executions": None, "workflows": None, "concurrency": 64}),
                self.workspace_id,
            ),
        )
        log(f"plan limits lifted: {rows}")

    def run_request(self) -> bytes:
        """The raw POST /api/workflows/<id>/run request with the benchmark's input."""
        path = f"/api/workflows/{self.workflow_id}/run"
        return post_request(HOST, self.port, path, self.token, json.dumps(RUN_INPUT).encode())

    # --- database --------------------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on the bench connection (counted, to subtract from the totals)."""
        assert self.conn is not None
        self.own_queries += 1
        cursor = self.conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []

    def wait_finished(self, since: float, expected: int, timeout: float) -> tuple[int, float]:
        """Poll every 100 ms until ``expected`` runs created after ``since`` have finished.

        Returns ``(succeeded, epoch of the last finished_at)``; exits on timeout or failures.
        """
        deadline = time.monotonic() + timeout
        created = datetime.fromtimestamp(since, UTC)
        while True:
            finished, succeeded, last = self.query(
                "SELECT count(*) FILTER (WHERE status IN "
                "('succeeded', 'failed', 'canceled', 'timed_out')), "
                "count(*) FILTER (WHERE status = 'succeeded'), max(finished_at) "
                "FROM executions WHERE workspace_id = %s AND created_at >= %s",
                (self.workspace_id, created),
            )[0]
            if finished >= expected:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"only {finished}/{expected} finished after {timeout:.0f} s")
            time.sleep(0.1)
        if succeeded != finished:
            sample = self.query(
                "SELECT status, error FROM executions WHERE workspace_id = %s "
                "AND created_at >= %s AND status <> 'succeeded' LIMIT 1",
                (self.workspace_id, created),
            )
            raise SystemExit(f"{finished - succeeded} executions did not succeed: {sample}")
        return int(succeeded), float(last.timestamp()) if last else since

    def timings(self, since: float) -> list[tuple[str, float, float, float]]:
        """``(id, created, started, finished)`` epochs of the runs created after ``since``."""
        rows = self.query(
            "SELECT id, created_at, started_at, finished_at FROM executions "
            "WHERE workspace_id = %s AND created_at >= %s",
            (self.workspace_id, datetime.fromtimestamp(since, UTC)),
        )
        return [(str(i), c.timestamp(), s.timestamp(), f.timestamp()) for i, c, s, f in rows]

    def db_counters(self) -> dict[str, int]:
        """Transactions and row counters of the bench database (pg_stat_database)."""
        row = self.query(
            "SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_deleted, "
            "tup_fetched, tup_returned FROM pg_stat_database WHERE datname = %s",
            (DB_NAME,),
        )[0]
        names = ("transactions", "inserted", "updated", "deleted", "fetched", "returned")
        return {name: int(value) for name, value in zip(names, row, strict=True)}

    def redis_calls(self) -> Counter[str]:
        """Commands Redis has processed, by command (INFO commandstats)."""
        stats: dict[str, Any] = self.redis.info("commandstats")
        return Counter(
            {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}
        )

    # --- CPU -------------------------------------------------------------------------------

    def sample(self) -> Sample:
        """CPU seconds of each process group (each with all its descendants) and the machine."""
        table = process_table()
        roots: dict[str, list[int]] = {
            "api": [self.api.pid] if self.api else [],
            "worker": [worker.pid for worker in self.workers],
            "postgres": self._service_pid("pg/postmaster.pid"),
            "redis": self._service_pid("redis.pid"),
        }
        trees = {name: tree_pids(pids, table) for name, pids in roots.items()}
        both = {name: cpu_seconds(pids, table) for name, pids in trees.items()}
        both["loadgen"] = self_cpu_seconds()
        cpu = {name: total for name, (total, _) in both.items()}
        system = {name: kernel for name, (_, kernel) in both.items()}
        ours = {os.getpid()}.union(*trees.values())
        return Sample(time.time(), cpu, system, *machine_busy_seconds(), table, ours)

    def _service_pid(self, name: str) -> list[int]:
        pid = pid_from_file(self.services / name) if self.services else None
        return [pid] if pid else []


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise SystemExit(
            f"{response.request.method} {response.request.url}: {response.status_code} "
            f"{response.text[:500]}"
        )


def set_statement_log(conn: psycopg.Connection[Any], *, on: bool) -> None:
    """Turn PostgreSQL's log of every statement (prefixed with application_name) on or off."""
    if on:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("ALTER SYSTEM SET log_line_prefix = '%a|'")
    else:
        conn.execute("ALTER SYSTEM RESET log_statement")
        conn.execute("ALTER SYSTEM RESET log_line_prefix")
    conn.execute("SELECT pg_reload_conf()")


# --- phases --------------------------------------------------------------------------------


def check_answers(requests: list[Request]) -> None:
    """Exit unless every run request was accepted with 202."""
    bad = [request for request in requests if request.status != 202]
    if bad:
        raise SystemExit(f"{len(bad)} run requests failed, e.g. {bad[0].status} {bad[0].body!r}")


@dataclass
class Saturation:
    """One saturation run: rates, CPU ms per execution by process, work per execution."""

    count: int
    rate: float  # executions finished per second, first request -> last finished_at
    accept_rate: float  # requests answered per second by the API
    cpu_ms: dict[str, float]
    system_share: dict[str, float]  # share of each group's CPU spent in the kernel
    other_ms: float  # machine CPU not in the groups (other processes, unattributed kernel)
    busy: float  # share of all CPUs in use during the run
    steal: float  # share of all CPUs the hypervisor took
    db: dict[str, float]
    redis_commands: dict[str, float]  # per execution, by command
    others: list[tuple[str, float]]  # busiest processes outside the benchmark, CPU seconds
    execution_ids: list[str | None] = field(default_factory=list)  # of the answers, in order
    latencies: list[float] = field(default_factory=list)  # ms, request sent -> answered


def saturation_run(
    stack: Stack, count: int, connections: int, timeout: float, *, wait: bool = True
) -> Saturation:
    """Fire ``count`` runs with ``connections`` in flight and wait until all succeeded.

    ``wait=False`` measures the answers only (the rate is then the accept rate): the
    intake with the workers stopped, or a server that starts no run.
    """
    time.sleep(STATS_SETTLE)
    db_before = stack.db_counters()
    own_before = stack.own_queries
    redis_before = stack.redis_calls()
    before = stack.sample()
    requests = asyncio.run(closed_loop(stack.port, stack.run_request(), count, connections))
    check_answers(requests)
    answered = max(r.done for r in requests)
    last = stack.wait_finished(before.wall, count, timeout)[1] if wait else answered
    after = stack.sample()
    redis_commands = stack.redis_calls() - redis_before
    redis_commands.pop("info", None)  # only this benchmark sends INFO
    time.sleep(STATS_SETTLE)
    db_after = stack.db_counters()
    db = {name: (db_after[name] - db_before[name]) / count for name in db_after}
    db["transactions"] -= (stack.own_queries - own_before) / count
    cpu = {name: (after.cpu[name] - before.cpu[name]) * 1000 / count for name in GROUPS}
    busy = after.busy - before.busy
    return Saturation(
        count=count,
        rate=count / (last - before.wall),
        accept_rate=count / (answered - before.wall),
        cpu_ms=cpu,
        system_share={
            name: (after.system[name] - before.system[name]) * 1000 / count / max(cpu[name], 1e-9)
            for name in GROUPS
        },
        other_ms=busy * 1000 / count - sum(cpu.values()),
        busy=busy / (after.total - before.total),
        steal=(after.steal - before.steal) / (after.total - before.total),
        db=db,
        redis_commands={name: calls / count for name, calls in redis_commands.items()},
        others=busiest_others(before.table, after.table, before.ours | after.ours),
        execution_ids=[request.execution_id for request in requests],
        latencies=[(request.done - request.sent) * 1000 for request in requests],
    )


@dataclass
class Latency:
    """An open-loop run at a fixed arrival rate, latencies in milliseconds."""

    rate: float
    achieved: float
    count: int
    queued_to_succeeded: list[float]
    queue_wait: list[float]  # created -> started (API commit, broker, worker pickup, claim)
    running: list[float]  # started -> finished (engine, steps, finish)
    api: list[float]  # client: request due -> response
    end_to_end: list[float]  # client: request due -> finished_at


def latency_run(stack: Stack, rate: float, seconds: float, timeout: float) -> Latency:
    """Paced arrivals at ``rate``/s for ``seconds``; latencies from the table and the client."""
    count = max(10, int(rate * seconds))
    start = time.time()
    requests = asyncio.run(open_loop(stack.port, stack.run_request(), count, rate, 256))
    check_answers(requests)
    stack.wait_finished(start, count, timeout)
    rows = stack.timings(start)
    due = {request.execution_id: request.sent for request in requests}
    first, last = min(r.sent for r in requests), max(r.sent for r in requests)
    return Latency(
        rate=rate,
        achieved=(count - 1) / (last - first) if last > first else rate,
        count=count,
        queued_to_succeeded=[(finished - created) * 1000 for _, created, _, finished in rows],
        queue_wait=[(started - created) * 1000 for _, created, started, _ in rows],
        running=[(finished - started) * 1000 for _, _, started, finished in rows],
        api=[(request.done - request.sent) * 1000 for request in requests],
        end_to_end=[(finished - due[i]) * 1000 for i, _, _, finished in rows if i in due],
    )


# Transaction control and the pool's pre-ping (";"), as opposed to statements that touch data.
CONTROL_STATEMENTS = {"", "BEGIN", "COMMIT", "ROLLBACK", "DEALLOCATE"}


def statement_pass(stack: Stack, count: int, rate: float, timeout: float) -> dict[str, Any]:
    """Count statements per execution by application from PostgreSQL's statement log."""
    pg_log = stack.services / "pg.log" if stack.services else None
    if count <= 0 or pg_log is None or not pg_log.exists() or stack.conn is None:
        return {}
    stack.statement_log = True
    set_statement_log(stack.conn, on=True)
    time.sleep(0.5)
    offset = pg_log.stat().st_size
    start = time.time()
    try:
        requests = asyncio.run(open_loop(stack.port, stack.run_request(), count, rate, 64))
        check_answers(requests)
        stack.wait_finished(start, count, timeout)
        time.sleep(0.3)
    finally:
        set_statement_log(stack.conn, on=False)
        stack.statement_log = False
    with pg_log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace")
    per_app, shapes = count_statements(text)
    control: dict[str, float] = {}
    for (app, shape), calls in shapes.items():
        if shape.split(" ")[0].rstrip(";") in CONTROL_STATEMENTS:
            control[app] = control.get(app, 0.0) + calls / count
    return {
        "count": count,
        "control": control,
        "per_app": {app: calls / count for app, calls in per_app.items() if app != "bench"},
        "shapes": [
            (app, shape, calls / count)
            for (app, shape), calls in shapes.most_common()
            if app in ("api", "worker")
        ],
    }


def profile_run(stack: Stack, args: argparse.Namespace) -> list[str]:
    """Profile API and worker with py-spy during one extra saturation run; return a report."""
    folder = Path(args.profile).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    spies = {}
    for name, child in (("api", stack.api), ("worker", stack.workers[0])):
        assert child is not None  # with several workers, only the first is profiled
        out = folder / f"{name}.txt"
        argv = [
            args.py_spy, "record", "--pid", str(child.pid), "--subprocesses", "--nonblocking",
            "--rate", str(args.profile_rate), "--format", "raw", "--output", str(out),
        ]  # fmt: skip
        log_file = (folder / f"{name}.py-spy.log").open("wb")
        spies[name] = (subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT), out)
    time.sleep(1.0)
    run = saturation_run(stack, args.executions, args.connections, args.timeout)
    for proc, _ in spies.values():
        proc.send_signal(signal.SIGINT)
    lines = [f"profile: py-spy during one extra run ({run.rate:.1f}/s under the profiler)"]
    for name, (proc, out) in spies.items():
        proc.wait(timeout=60)
        if not out.exists():
            lines.append(f"  {name}: no profile (see {folder / (name + '.py-spy.log')})")
            continue
        profile = summarize_profile(out, top=args.profile_top)
        packages = ", ".join(f"{p} {share:.0%}" for p, share in profile.packages)
        lines += [
            f"  {name}: {profile.samples} busy samples ({profile.idle} idle left out), {out}",
            f"    self time by package: {packages}",
            "    top functions by self time | by inclusive time:",
        ]
        for (own, own_share), (inc, inc_share) in zip(
            profile.self_time, profile.inclusive, strict=False
        ):
            lines.append(f"    {own_share:>6.1%} {own:<58.58} | {inc_share:>6.1%} {inc}")
    return lines


# --- report --------------------------------------------------------------------------------


def header(stack: Stack, facts: dict[str, str]) -> list[str]:
    """Machine, versions, configuration and the exact command."""
    pg = stack.query("SHOW server_version")[0][0]
    redis_version = stack.redis.info("server")["redis_version"]
    args = stack.args
    command = shlex.join([sys.executable, *sys.argv])
    return [
        f"FluxoLab execution benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine: " + ", ".join(f"{key} {value}" for key, value in facts.items()),
        f"servers: PostgreSQL {pg}, Redis {redis_version}; api = gunicorn "
        f"{args.api_workers} workers x {args.api_threads} threads; worker = celery "
        + ("solo" if args.pool == "solo" else f"{args.pool} x {args.concurrency}")
        + (f" in each of {args.worker_processes} workers" if args.worker_processes > 1 else "")
        + (", task events on" if args.task_events else ", task events off")
        + "; load generator = this process "
        f"({args.connections} keep-alive connections in saturation)",
        f"code: {code_revision()}",
        f"command: {command}",
    ]


def code_revision() -> str:
    """The commit measured, and how many tracked files differ from it (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    changed = len(status.splitlines())
    return f"commit {head.strip()}" + (
        f" + uncommitted changes in {changed} files" if changed else ""
    )


def capacity(run: Saturation) -> float:
    """Executions/s the box could sustain if our processes had every CPU to themselves."""
    return (os.cpu_count() or 1) * 1000 / sum(run.cpu_ms.values())


def _saturation_row(label: str, run: Saturation) -> str:
    cpu = " ".join(f"{run.cpu_ms[name]:>8.2f}" for name in GROUPS)
    return (
        f"{label:>6} {run.rate:>7.1f} {run.accept_rate:>8.1f} {cpu} "
        f"{sum(run.cpu_ms.values()):>6.2f} {run.other_ms:>6.2f} {run.busy:>5.0%} "
        f"{capacity(run):>6.1f}"
    )


def saturation_table(runs: list[Saturation]) -> list[str]:
    """One row per run plus the median row, then work per execution and interference."""
    cols = " ".join(f"{name:>8}" for name in GROUPS)
    lines = [
        "",
        f"saturation: {runs[0].count} executions per run; CPU ms per execution by process "
        "(ours = their sum; other = rest of the machine; cap/s = CPUs x 1000 / ours)",
        f"{'run':>6} {'exec/s':>7} {'accept/s':>8} {cols} {'ours':>6} {'other':>6} {'busy':>5} "
        f"{'cap/s':>6}",
    ]
    lines += [_saturation_row(str(index + 1), run) for index, run in enumerate(runs)]
    med = median_saturation(runs)
    lines.append(_saturation_row("median", med))
    kernel = " ".join(f"{med.system_share[name]:>8.0%}" for name in GROUPS)
    lines.append(f"{'kernel':>6} {'':>7} {'':>8} {kernel}   (share of each process's CPU)")
    db = ", ".join(f"{name} {value:.2f}" for name, value in med.db.items() if name in DB_SHOWN)
    lines.append(
        f"per execution (median): PostgreSQL {db}; "
        f"Redis commands {sum(med.redis_commands.values()):.1f} ({redis_split(med)})"
    )
    others = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in med.others) or "none"
    lines.append(f"CPU steal {med.steal:.1%}; busiest other processes during the runs: {others}")
    return lines


DB_SHOWN = ("transactions", "inserted", "updated", "deleted")


def redis_split(run: Saturation) -> str:
    """``lpush 1.0, publish 3.0, ...``: Redis commands per execution, most frequent first."""
    ranked = sorted(run.redis_commands.items(), key=lambda item: item[1], reverse=True)
    return ", ".join(f"{name} {calls:.2f}" for name, calls in ranked if calls >= 0.01)


def median_saturation(runs: list[Saturation]) -> Saturation:
    """Field-by-field medians of the runs."""

    def med(values: list[float]) -> float:
        return float(statistics.median(values))

    return Saturation(
        count=runs[0].count,
        rate=med([r.rate for r in runs]),
        accept_rate=med([r.accept_rate for r in runs]),
        cpu_ms={name: med([r.cpu_ms[name] for r in runs]) for name in GROUPS},
        system_share={name: med([r.system_share[name] for r in runs]) for name in GROUPS},
        other_ms=med([r.other_ms for r in runs]),
        busy=med([r.busy for r in runs]),
        steal=med([r.steal for r in runs]),
        db={name: med([r.db[name] for r in runs]) for name in runs[0].db},
        redis_commands={
            name: med([r.redis_commands.get(name, 0.0) for r in runs])
            for name in set().union(*(r.redis_commands for r in runs))
        },
        others=[item for run in runs for item in run.others],
    )


def latency_table(runs: list[Latency]) -> list[str]:
    """p50/p99 (ms) of each latency run."""

    def pp(values: list[float]) -> str:
        return f"{percentile(values, 0.5):>6.1f}/{percentile(values, 0.99):<7.1f}"

    lines = [
        "",
        "latency (open loop), ms p50/p99:",
        f"{'rate/s':>7} {'count':>6} {'queued->succeeded':>17} {'queue wait':>14} "
        f"{'running':>14} {'API request':>14} {'request->done':>14}",
    ]
    for run in runs:
        lines.append(
            f"{run.achieved:>7.1f} {run.count:>6}    {pp(run.queued_to_succeeded)} "
            f"{pp(run.queue_wait)} {pp(run.running)} {pp(run.api)} {pp(run.end_to_end)}"
        )
    return lines


def statement_table(result: dict[str, Any]) -> list[str]:
    """Statements per execution by application, and the most frequent statement shapes."""
    if not result:
        return ["", "statements: skipped (--statement-runs 0, or no pg.log from with-services.sh)"]
    per_app, control = result["per_app"], result["control"]
    split = ", ".join(
        f"{app} {value:.1f} ({value - control.get(app, 0):.1f} data + "
        f"{control.get(app, 0):.1f} BEGIN/COMMIT/ROLLBACK/DEALLOCATE/ping)"
        for app, value in sorted(per_app.items())
    )
    lines = [
        "",
        f"statements per execution ({result['count']} runs with log_statement=all): {split}; "
        f"total {sum(per_app.values()):.1f}",
    ]
    lines += [f"  {calls:>5.2f}  {app:<6} {shape}" for app, shape, calls in result["shapes"]]
    return lines


def summary_line(sat: Saturation, lat: list[Latency], statements: dict[str, Any]) -> str:
    """The one-line result (and the two targets: >= 120/s; p99 <= 50 ms at 60/s)."""
    parts = [
        f"executions: sustained {sat.rate:.1f}/s (target >= 120; CPU-bound capacity "
        f"{capacity(sat):.0f}/s, other load {sat.other_ms:.1f} ms/execution)"
    ]
    for run in lat:
        p50, p99 = (
            percentile(run.queued_to_succeeded, 0.5),
            percentile(run.queued_to_succeeded, 0.99),
        )
        parts.append(f"queued->succeeded at {run.achieved:.0f}/s p50 {p50:.1f} ms p99 {p99:.1f} ms")
    cpu = " ".join(f"{name} {sat.cpu_ms[name]:.2f}" for name in GROUPS)
    parts.append(f"CPU ms/execution {cpu}")
    per_app = statements.get("per_app", {})
    queries = " ".join(f"{app} {value:.1f}" for app, value in sorted(per_app.items()))
    parts.append(f"statements/execution {queries or 'n/a'}")
    parts.append(f"transactions/execution {sat.db['transactions']:.1f}")
    return "; ".join(parts)


# --- main ----------------------------------------------------------------------------------


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The options of the servers under test (shared with the other benchmarks)."""
    add = parser.add_argument
    add("--api-workers", type=int, default=2, help="gunicorn worker processes (2)")
    add("--api-threads", type=int, default=4, help="threads per gunicorn worker (4)")
    add("--access-log", action="store_true", help="gunicorn access log on (off by default)")
    add("--pool", default="solo", help="celery pool: solo, prefork, threads (solo)")
    add("--concurrency", type=int, default=1, help="celery pool size; solo: 1 (1)")
    add("--worker-processes", type=int, default=2, help="celery worker processes (2)")
    add("--task-events", action="store_true", help="workers send task events, as with Flower")
    add("--timeout", type=float, default=300.0, help="max seconds to wait for a phase (300)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (all bounded: the run stops by itself)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--executions", type=int, default=2000, help="runs per saturation run (2000)")
    add("--runs", type=int, default=3, help="saturation runs; medians are reported (3)")
    add("--connections", type=int, default=16, help="in-flight requests in saturation (16)")
    add("--warmup", type=int, default=300, help="runs before measuring (300)")
    add("--rates", default="half,60", help="latency arrival rates; 'half' = saturated/2")
    add("--latency-seconds", type=float, default=15.0, help="length of each latency run (15)")
    add("--statement-runs", type=int, default=50, help="runs of the statement-log pass (50)")
    add_server_options(parser)
    add("--profile", metavar="DIR", help="also profile API and worker with py-spy into DIR")
    add("--py-spy", default="py-spy", help="py-spy executable (py-spy)")
    add("--profile-rate", type=int, default=100, help="py-spy samples per second (100)")
    add("--profile-top", type=int, default=25, help="functions listed per profile (25)")
    return parser.parse_args(argv)


def latency_rates(spec: str, saturated: float) -> list[float]:
    """Turn ``half,60`` into arrival rates."""
    return [saturated / 2 if part == "half" else float(part) for part in spec.split(",") if part]


def warm_and_saturate(stack: Stack, args: argparse.Namespace, label: str = "") -> list[Saturation]:
    """Warm up with ``--warmup`` runs, then ``--runs`` saturation runs of ``--executions``."""
    log(f"{label}warm-up: {args.warmup} runs")
    start = time.time()
    check_answers(asyncio.run(closed_loop(stack.port, stack.run_request(), args.warmup, 8)))
    stack.wait_finished(start, args.warmup, timeout=120)
    runs = []
    for index in range(args.runs):
        runs.append(saturation_run(stack, args.executions, args.connections, args.timeout))
        log(f"{label}saturation {index + 1}/{args.runs}: {runs[-1].rate:.1f} executions/s")
    return runs


def measure(stack: Stack, args: argparse.Namespace, facts: dict[str, str]) -> list[str]:
    """Set up, warm up, run every phase; return the report lines."""
    log(f"server logs in {stack.work}; migrating a fresh database")
    stack.create_database()
    stack.start_api()
    stack.start_workers()
    stack.setup_account()
    runs = warm_and_saturate(stack, args)
    median = median_saturation(runs)
    latencies = []
    for rate in latency_rates(args.rates, median.rate):
        log(f"latency at {rate:.1f}/s for {args.latency_seconds:.0f} s")
        latencies.append(latency_run(stack, rate, args.latency_seconds, args.timeout))
    log(f"statement log pass: {args.statement_runs} runs")
    statements = statement_pass(stack, args.statement_runs, 20.0, args.timeout)
    lines = header(stack, facts)
    lines += saturation_table(runs) + latency_table(latencies) + statement_table(statements)
    if args.profile:
        log("profiling one more saturation run with py-spy")
        lines += ["", *profile_run(stack, args)]
    lines += ["", summary_line(median, latencies, statements)]
    return lines


def services_ready() -> dict[str, str] | None:
    """Check that ``scripts/with-services.sh`` set the environment and make Ctrl-C (even in
    the background) and SIGTERM stop the run cleanly; return the machine facts, taken before
    anything starts, or ``None`` (with a message) when the services are missing."""
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        print(f"bench: {', '.join(missing)} not set: run it with scripts/with-services.sh")
        return None
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    return machine_facts()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; servers are stopped and the bench database dropped in every case."""
    args = parse_args(argv)
    facts = services_ready()
    if facts is None:
        return 2
    work = Path(tempfile.mkdtemp(prefix="fluxolab-bench-"))
    stack = Stack(args, work)
    try:
        lines = measure(stack, args, facts)
    except (SystemExit, KeyboardInterrupt):
        for child in (stack.api, *stack.workers):
            if child is not None:
                print(f"--- {child.name} log ---\n{child.tail()}", file=sys.stderr)
        print(f"bench: logs kept in {work}", file=sys.stderr)
        raise
    finally:
        stack.close()
    shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
