"""Chaos soak: webhook intake at a steady rate while workers, the API, Redis and PostgreSQL fail.

    scripts/with-services.sh .venv/bin/python bench/chaos.py [--seconds 300] [--rate 100]
    (= make bench-chaos)

Production settings, as ``executions.py`` starts them: the API under gunicorn, two
``--pool solo`` Celery workers on ``executions`` (as docker-compose.yml runs them), one
worker on ``maintenance`` and ``node_tests`` and one beat (the sweeper re-publishes what a
fault dropped). The workflow: webhook -> set -> HTTP Request (a POST to a recorder in this
process: a side effect, so the engine checkpoints the steps before it) -> no-op.

Open-loop load: one ``POST /api/webhooks/execute/<token>`` every 1/``--rate`` s on a fixed
schedule, each on its own connection, whatever the answers (latency counts from when a
request was due). Meanwhile, on a schedule scaled to ``--seconds``:

- every ``--kill-every`` s a worker is SIGKILLed (in turn) and started again at once;
- once, a new gunicorn is started on the same port (both bind with ``SO_REUSEPORT``) and
  the old one is SIGTERMed (graceful stop); connections refused or reset without an answer
  while the two overlap are counted apart;
- once, Redis is shut down without saving and started again (empty: queued messages lost);
- once, PostgreSQL is restarted (``pg_ctl restart -m fast``).

Then the queue drains and the checks run: every 202 became exactly one execution and it
succeeded; no step ran twice in an execution (the steps recorded before a worker died are
not run again); every other answer was a 503 or 429 with ``Retry-After``, or a refused /
reset connection during the API switch; no 500, no other status, no client timeout; no
execution that no 202 announced. Prints the figures (p99 acknowledgement per fault window)
and exits 1 on any violation. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from _support import Child, percentile, wait_for
from _webhooks import WebhookStack, run_stack
from executions import HOST, ROOT, add_server_options, code_revision, free_port, log, services_ready

RECORDER_PATH = "/hit"
STEP_NODES = ("t", "s1", "call", "end")
FINISHED = ("succeeded", "failed", "canceled", "timed_out")


def chaos_workflow(recorder_port: int) -> dict[str, Any]:
    """webhook -> set -> HTTP Request to the recorder (with the execution id) -> no-op."""
    trigger = {
        "id": "t",
        "type": "webhook",
        "params": {"path": "chaos", "method": "POST", "authentication": "none"},
    }
    return {
        "nodes": [
            trigger,
            {
                "id": "s1",
                "type": "set",
                "params": {"fields": [{"name": "n", "value": "{{ $json.body.n }}"}]},
            },
            {
                "id": "call",
                "type": "http-request",
                "params": {
                    "url": f"http://{HOST}:{recorder_port}{RECORDER_PATH}",
                    "method": "POST",
                    "body": {"execution": "{{ $execution.id }}", "n": "{{ $json.n }}"},
                },
            },
            {"id": "end", "type": "no-op"},
        ],
        "connections": [
            {"from": "t", "to": "s1"},
            {"from": "s1", "to": "call"},
            {"from": "call", "to": "end"},
        ],
    }


# --- the side-effect recorder ----------------------------------------------------------------


class Recorder:
    """An HTTP server in a thread of its own: counts the HTTP Request node's calls per run."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hits: Counter[str] = Counter()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, daemon=True, name="recorder")
        self.ready = threading.Event()

    def start(self) -> Recorder:
        self.thread.start()
        self.ready.wait(10)
        return self

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, HOST, self.port))
        self.ready.set()
        self.loop.run_forever()
        server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length)
                marker = body.find(b'"execution"')
                if marker >= 0:
                    start = body.index(b'"', body.index(b":", marker)) + 1
                    self.hits[body[start : start + 36].decode()] += 1
                answer = b'{"ok": true}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


# --- the load: one connection per request, open loop -------------------------------------------


@dataclass
class Answer:
    """One request: when it was due, when it ended, and how."""

    due: float
    done: float
    kind: str  # "202", "503", "429", "500", "<status>", "refused", "reset", "timeout"
    retry_after: bool = False
    execution_id: str | None = None
    detail: str = ""


async def one_request(port: int, raw: bytes, due: float, timeout: float) -> Answer:
    """Send ``raw`` on a new connection; classify the outcome (never retried)."""
    sent = False
    try:
        async with asyncio.timeout(timeout):
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
            except ConnectionRefusedError:
                return Answer(due, time.time(), "refused")
            try:
                writer.write(raw)
                sent = True
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
            finally:
                writer.close()
    except TimeoutError:
        return Answer(due, time.time(), "timeout", detail="sent" if sent else "connecting")
    except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
        return Answer(due, time.time(), "reset", detail=type(exc).__name__)
    answer = Answer(due, time.time(), str(status), "retry-after" in headers)
    if status == 202:
        marker = body.find(b'"executionId"')
        if marker >= 0:
            start = body.index(b'"', body.index(b":", marker)) + 1
            answer.execution_id = body[start : start + 36].decode()
    else:
        answer.detail = body[:200].decode(errors="replace")
    return answer


async def open_loop(
    port: int, raw: bytes, rate: float, seconds: float, timeout: float, start: float
) -> list[Answer]:
    """Fire one request every ``1/rate`` s from ``start`` for ``seconds`` (fixed schedule)."""
    tasks = []
    count = int(rate * seconds)
    for index in range(count):
        due = start + index / rate
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one_request(port, raw, due, timeout)))
    return list(await asyncio.gather(*tasks))


# --- the system under test and its faults --------------------------------------------------------


@dataclass
class Fault:
    """One fault: what, when it began and when the system was whole again (epoch seconds)."""

    kind: str  # "worker kill", "API switch", "Redis restart", "PostgreSQL restart"
    start: float
    end: float = 0.0
    note: str = ""


class ChaosStack(WebhookStack):
    """The webhook stack plus beat, a maintenance worker, and the means to break them."""

    workflow_name = "chaos: webhook, set, HTTP Request, no-op"

    def __init__(self, args: argparse.Namespace, work: Path, recorder: Recorder) -> None:
        super().__init__(args, work)
        self.workflow = chaos_workflow(recorder.port)
        self.extras: list[Child] = []
        self.retired: list[Child] = []
        self.generation = 0
        self.faults: list[Fault] = []

    def child_env(self, application: str) -> dict[str, str]:
        """The webhook stack's settings; the HTTP Request node may call the recorder."""
        env = super().child_env(application)
        env["EGRESS_ALLOW"] = HOST
        return env

    def api_argv(self, probe_port: int) -> list[str]:
        """gunicorn on the shared port (``SO_REUSEPORT``) and on a port of its own to probe.

        ``--preload``: the master loads the app before it binds, so a new generation never
        listens on the shared port (and takes its share of the connections) before its
        workers can answer.
        """
        return [
            sys.executable, "-m", "gunicorn", "wsgi:app", "--reuse-port", "--preload",
            "--bind", f"{HOST}:{self.port}", "--bind", f"{HOST}:{probe_port}",
            "--workers", str(self.args.api_workers), "--threads", str(self.args.api_threads),
            "--graceful-timeout", str(self.args.graceful_timeout),
        ]  # fmt: skip

    def start_api(self, app: str = "wsgi:app", extra: tuple[str, ...] = ()) -> None:
        """Start a gunicorn generation and wait until its own probe port answers."""
        self.api = self.spawn_api()

    def spawn_api(self) -> Child:
        """A new gunicorn next to the running one; returns once its workers serve requests."""
        probe = free_port()
        self.generation += 1
        name = f"api{self.generation}"
        child = Child(name, self.api_argv(probe), self.work / f"{name}.log")
        child.start(self.child_env("api"), ROOT)
        health = f"http://{HOST}:{probe}/api/health"
        # The master loaded the app before it bound (--preload): once its workers are forked
        # it serves. (A probe through the port would wait behind the queued traffic.)
        log_path = child.log_path

        def booted() -> bool:
            text = log_path.read_text(errors="replace")
            return text.count("Booting worker with pid") >= self.args.api_workers

        if not wait_for(booted, timeout=180, interval=0.2):
            raise SystemExit(f"{name} did not start its workers:\n{child.tail()}")
        if self.generation == 1 and not wait_for(lambda: _answers(health, 10.0), timeout=60):
            raise SystemExit(f"{name} did not answer {health}:\n{child.tail()}")
        time.sleep(1.0)
        return child

    def worker_child(self, index: int) -> Child:
        argv = [
            sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "executions",
            "--pool", "solo", "--loglevel", "WARNING", "--hostname", f"chaos{index}@%h",
        ]  # fmt: skip
        return Child(f"worker{index}", argv, self.work / f"worker{index}.log")

    def start_workers(self) -> None:
        """Two (``--worker-processes``) solo workers, one maintenance worker and beat."""
        env = self.child_env("worker")
        for index in range(self.args.worker_processes):
            self.workers.append(self.worker_child(index).start(env, ROOT))
        system = [
            sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q",
            "maintenance,node_tests", "--pool", "solo", "--loglevel", "WARNING",
            "--hostname", "chaos-system@%h",
        ]  # fmt: skip
        beat = [
            sys.executable, "-m", "celery", "-A", "workers", "beat", "--loglevel", "WARNING",
            "--schedule", str(self.work / "celerybeat-schedule"),
        ]  # fmt: skip
        self.extras.append(Child("system", system, self.work / "system.log").start(env, ROOT))
        self.extras.append(Child("beat", beat, self.work / "beat.log").start(env, ROOT))

    # --- faults ------------------------------------------------------------------------------

    def kill_worker(self, index: int) -> None:
        """SIGKILL worker ``index`` (its whole process group) and start it again at once."""
        fault = Fault("worker kill", time.time(), note=f"worker{index}")
        old = self.workers[index]
        os.killpg(old.pid, signal.SIGKILL)
        old.stop(timeout=0)
        self.workers[index] = self.worker_child(index).start(self.child_env("worker"), ROOT)
        fault.end = time.time()
        self.faults.append(fault)

    def switch_api(self) -> None:
        """Start the next gunicorn on the same port, then SIGTERM the running one."""
        fault = Fault("API switch", time.time())
        old = self.api
        assert old is not None
        self.api = self.spawn_api()
        fault.note = f"new ready after {time.time() - fault.start:.1f} s"
        stopped = time.time()
        os.kill(old.pid, signal.SIGTERM)
        assert old.proc is not None
        try:
            old.proc.wait(timeout=self.args.graceful_timeout + 10)
        except subprocess.TimeoutExpired:
            fault.note += "; old one did not stop in time"
        old.stop(timeout=0)
        self.retired.append(old)
        fault.note += f"; old stopped {time.time() - stopped:.1f} s after SIGTERM"
        fault.end = time.time()
        self.faults.append(fault)

    def restart_redis(self) -> None:
        """Shut Redis down without saving (its queues are lost) and start it again."""
        assert self.services is not None
        fault = Fault("Redis restart", time.time())
        pid_path = self.services / "redis.pid"
        old_pid = int(pid_path.read_text().split()[0])
        client = redis.Redis.from_url(self.broker)
        with contextlib.suppress(redis.ConnectionError):  # SHUTDOWN answers by closing
            client.shutdown(nosave=True)
        wait_for(lambda: not Path(f"/proc/{old_pid}").exists(), timeout=20)
        time.sleep(self.args.outage)
        subprocess.run(["redis-server", str(self.services / "redis.conf")], check=True)
        if not wait_for(lambda: _pings(self.broker), timeout=20):
            raise SystemExit("Redis did not come back")
        fault.end = time.time()
        self.faults.append(fault)

    def restart_postgres(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server is back in ~1 s."""
        assert self.services is not None
        fault = Fault("PostgreSQL restart", time.time())
        pg_ctl = os.environ.get("FLUXOLAB_PG_CTL", "pg_ctl")
        user = os.environ.get("FLUXOLAB_PG_USER", "")
        argv = [pg_ctl, "-D", str(self.services / "pg"), "-l", str(self.services / "pg.log")]
        argv += ["-m", "fast", "-w", "-t", "60", "restart"]
        if user:
            argv = ["runuser", "-u", user, "--", *argv]
        done = subprocess.run(argv, capture_output=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"pg_ctl restart failed: {done.stderr.decode()[-2000:]}")
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.reconnect()
        fault.end = time.time()
        self.faults.append(fault)

    def reconnect(self) -> None:
        """The bench's own connection, after PostgreSQL came back."""
        import psycopg

        def connect() -> bool:
            try:
                self.conn = psycopg.connect(self.dsn, autocommit=True, application_name="bench")
            except psycopg.OperationalError:
                return False
            return True

        if not wait_for(connect, timeout=30, interval=0.2):
            raise SystemExit("PostgreSQL did not come back")

    def close(self) -> None:
        """Stop beat and the maintenance worker too, then what ``Stack.close`` stops."""
        for child in (*self.extras, *self.retired):
            child.stop()
        if self.conn is None:
            self.reconnect()
        super().close()


def _answers(url: str, timeout: float) -> bool:
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def fault_plan(args: argparse.Namespace) -> list[tuple[float, str, int]]:
    """``(offset s, action, worker index)``: kills every ``--kill-every`` s, one of each other."""
    plan: list[tuple[float, str, int]] = []
    offset, index = args.kill_every, 0
    while offset < args.seconds - 1:
        plan.append((offset, "kill", index % args.worker_processes))
        offset += args.kill_every
        index += 1
    for fraction, action in ((0.23, "api"), (0.43, "redis"), (0.67, "postgres")):
        plan.append((args.seconds * fraction, action, 0))
    return sorted(plan)


def run_faults(stack: ChaosStack, plan: list[tuple[float, str, int]], start: float) -> None:
    """Carry out the plan (in a thread, while the load runs); faults never overlap."""
    for offset, action, index in plan:
        delay = start + offset - time.time()
        if delay > 0:
            time.sleep(delay)
        log(f"t={time.time() - start:5.1f} s: {action} {index if action == 'kill' else ''}")
        if action == "kill":
            stack.kill_worker(index)
        elif action == "api":
            stack.switch_api()
        elif action == "redis":
            stack.restart_redis()
        else:
            stack.restart_postgres()


# --- checks ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the soak saw, and what broke the promise."""

    answers: list[Answer]
    kinds: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


def classify(answers: list[Answer], faults: list[Fault]) -> Outcome:
    """Count answers by kind; anything but 202 / 503 or 429 with Retry-After is a violation,
    except a refused or reset connection during the API switch (counted apart)."""
    outcome = Outcome(answers)
    switch = [(f.start, f.end + 1.0) for f in faults if f.kind == "API switch"]
    bad: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for answer in answers:
        kind = answer.kind
        if kind in ("refused", "reset"):
            during = any(start <= answer.done <= end for start, end in switch)
            kind = f"{kind} during the API switch" if during else f"{kind} outside the switch"
        elif kind in ("503", "429") and not answer.retry_after:
            kind = f"{kind} without Retry-After"
        elif kind == "202" and answer.execution_id is None:
            kind = "202 without executionId"
        outcome.kinds[kind] += 1
        allowed = kind in ("202", "503", "429") or kind.endswith("during the API switch")
        if not allowed:
            bad[kind] += 1
            examples.setdefault(kind, f"{answer.detail} (t={answer.due:.1f})")
    for kind, count in bad.items():
        outcome.violations.append(f"{count} x {kind}, e.g. {examples[kind]}")
    return outcome


def wait_drained(stack: ChaosStack, ids: set[str], timeout: float) -> float:
    """Poll until every accepted execution has finished; return the seconds it took."""
    start = time.time()
    deadline, next_report = start + timeout, start + 15
    while True:
        try:
            rows = stack.query(
                "SELECT count(*) FROM executions WHERE id = ANY(%s::uuid[]) AND status IN "
                "('succeeded', 'failed', 'canceled', 'timed_out')",
                (list(ids),),
            )
        except Exception:
            stack.reconnect()
            continue
        finished = int(rows[0][0])
        if finished >= len(ids) or time.time() > deadline:
            log(f"drain: {finished}/{len(ids)} finished after {time.time() - start:.0f} s")
            return time.time() - start
        if time.time() >= next_report:
            states = stack.query(
                "SELECT status, count(*) FROM executions WHERE id = ANY(%s::uuid[]) GROUP BY 1",
                (list(ids),),
            )
            log(f"drain: {dict(states)} after {time.time() - start:.0f} s")
            next_report = time.time() + 15
        time.sleep(1.0)


def check_runs(stack: ChaosStack, outcome: Outcome, recorder: Recorder) -> None:
    """Exactly one finished execution per 202, succeeded, each step once, no orphans."""
    answered = [a.execution_id for a in outcome.answers if a.execution_id]
    ids = set(answered)
    rows = stack.query(
        "SELECT id::text, status, deliveries FROM executions "
        "WHERE workspace_id = %s AND mode = 'webhook'",
        (stack.workspace_id,),
    )
    status = {row[0]: row[1] for row in rows}
    deliveries = Counter(int(row[2]) for row in rows)
    steps = stack.query(
        "SELECT execution_id::text, node_id, count(*) FROM execution_steps s "
        "JOIN executions e ON e.id = s.execution_id WHERE e.workspace_id = %s "
        "GROUP BY 1, 2",
        (stack.workspace_id,),
    )
    per_run: dict[str, dict[str, int]] = {}
    for execution_id, node_id, count in steps:
        per_run.setdefault(execution_id, {})[node_id] = int(count)
    lost = ids - set(status)
    orphans = set(status) - ids
    unfinished = [i for i in ids & set(status) if status[i] not in FINISHED]
    failed = [i for i in ids & set(status) if status[i] in FINISHED and status[i] != "succeeded"]
    repeated = [i for i, nodes in per_run.items() if any(c > 1 for c in nodes.values())]
    incomplete = [i for i in ids & set(status) if sorted(per_run.get(i, {})) != sorted(STEP_NODES)]
    no_call = [i for i in ids & set(status) if status[i] == "succeeded" and not recorder.hits[i]]
    called_again = [i for i in ids if recorder.hits[i] > 1]
    figures = {
        "accepted": len(answered),
        "distinct execution ids": len(ids),
        "lost": len(lost),
        "duplicated": (len(answered) - len(ids)) + len(orphans) + len(repeated),
        "executions without a 202": len(orphans),
        "unfinished": len(unfinished),
        "not succeeded": len(failed),
        "executions with a step recorded twice": len(repeated),
        "executions without their 4 steps": len(incomplete),
        "succeeded without the HTTP call": len(no_call),
        "HTTP call sent again (unrecorded step re-run after a kill)": len(called_again),
        "claims per execution": dict(sorted(deliveries.items())),
    }
    outcome.figures.update(figures)
    checks = {
        "lost": lost,
        "repeated execution ids": len(answered) - len(ids),
        "executions without a 202": orphans,
        "unfinished": unfinished,
        "not succeeded": failed,
        "a step recorded twice": repeated,
        "without their 4 steps": incomplete,
        "succeeded without the HTTP call": no_call,
    }
    for name, found in checks.items():
        count = found if isinstance(found, int) else len(found)
        if count:
            sample = "" if isinstance(found, int) else f", e.g. {sorted(found)[:3]}"
            outcome.violations.append(f"{count} x {name}{sample}")
    if failed:
        errors = stack.query(
            "SELECT status, error::text FROM executions WHERE id = ANY(%s::uuid[]) LIMIT 3",
            (failed[:3],),
        )
        outcome.violations.append(f"not succeeded: {errors}")


def p99(answers: list[Answer]) -> str:
    """p50 / p99 / max acknowledgement latency (due -> answer) in ms, and how many."""
    values = [(a.done - a.due) * 1000 for a in answers]
    if not values:
        return "-"
    return (
        f"{percentile(values, 0.5):.0f} / {percentile(values, 0.99):.0f} / "
        f"{max(values):.0f} ms (n={len(values)})"
    )


def latency_table(outcome: Outcome, faults: list[Fault], settle: float) -> list[str]:
    """Acknowledgement latency overall and per fault window (fault start -> end + settle)."""
    lines = [
        f"acknowledgement latency p50 / p99 / max (due -> answer; window = fault + {settle:g} s):"
    ]
    lines.append(f"  overall: {p99(outcome.answers)}")
    for kind in ("worker kill", "API switch", "Redis restart", "PostgreSQL restart"):
        windows = [(f.start, f.end + settle) for f in faults if f.kind == kind]
        if not windows:
            continue
        inside = [a for a in outcome.answers if any(s <= a.due <= e for s, e in windows)]
        answered = [a for a in inside if a.kind == "202"]
        other = Counter(a.kind for a in inside if a.kind != "202")
        spans = ", ".join(f"{f.end - f.start:.1f}" for f in faults if f.kind == kind)
        lines.append(
            f"  during {kind} ({len(windows)} x, lasted {spans} s): 202 {p99(answered)}"
            + (f"; others {dict(other)}" if other else "")
        )
    quiet = [
        a for a in outcome.answers if not any(f.start <= a.due <= f.end + settle for f in faults)
    ]
    lines.append(f"  outside every fault window: {p99(quiet)}")
    return lines


def report(
    args: argparse.Namespace,
    facts: dict[str, str],
    outcome: Outcome,
    faults: list[Fault],
    extra: dict[str, Any],
) -> list[str]:
    """The figures, the faults, the violations."""
    first = min(a.due for a in outcome.answers)
    lines = [
        f"FluxoLab chaos soak, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine: " + ", ".join(f"{key} {value}" for key, value in facts.items()),
        f"servers: api = gunicorn {args.api_workers} workers x {args.api_threads} threads "
        f"(--reuse-port, --graceful-timeout {args.graceful_timeout}); {args.worker_processes} "
        "solo workers on executions; 1 solo worker on maintenance,node_tests; beat",
        f"code: {code_revision()}",
        f"command: {shlex.join([sys.executable, *sys.argv])}",
        f"load: {len(outcome.answers)} webhook calls at {args.rate:g}/s for {args.seconds:g} s "
        f"(open loop, one connection each, client timeout {args.client_timeout:g} s)",
        "",
        "faults (t from the first request):",
    ]
    for fault in faults:
        lines.append(
            f"  t={fault.start - first:6.1f} s  {fault.kind:<19} {fault.end - fault.start:5.1f} s"
            + (f"  {fault.note}" if fault.note else "")
        )
    lines += ["", "answers: " + ", ".join(f"{k} {v}" for k, v in sorted(outcome.kinds.items()))]
    lines += [f"drain after the load: {extra['drain']:.0f} s"]
    lines += ["runs: " + ", ".join(f"{k} {v}" for k, v in outcome.figures.items())]
    lines += latency_table(outcome, faults, args.settle)
    lines += [""]
    if outcome.violations:
        lines += ["VIOLATIONS:", *(f"  {v}" for v in outcome.violations)]
    fig = outcome.figures
    refused = sum(v for k, v in outcome.kinds.items() if k != "202")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(outcome.kinds.items()) if k != "202")
    lines.append(
        f"chaos: {fig.get('accepted', 0)} accepted, {refused} refused ({kinds or '-'}), "
        f"lost {fig.get('lost', '?')}, duplicated {fig.get('duplicated', '?')}, "
        f"p99 {p99(outcome.answers)}; "
        + ("PASSED" if not outcome.violations else f"FAILED ({len(outcome.violations)} checks)")
    )
    return lines


# --- main ---------------------------------------------------------------------------------------


def soak(
    stack: ChaosStack, args: argparse.Namespace, recorder: Recorder
) -> tuple[Outcome, dict[str, Any]]:
    """Start everything, run the load and the faults, drain, check."""
    stack.create_database()
    stack.start_api()
    stack.start_workers()
    stack.setup_account()
    raw = stack.run_request()
    log("warm-up: 20 calls")
    warm = asyncio.run(open_loop(stack.port, raw, 10, 2, args.client_timeout, time.time()))
    if any(a.kind != "202" for a in warm):
        raise SystemExit(f"warm-up failed: {[a for a in warm if a.kind != '202'][:3]}")
    start = time.time() + 0.5
    plan = fault_plan(args)
    errors: list[BaseException] = []

    def faults() -> None:
        try:
            run_faults(stack, plan, start)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=faults, name="faults", daemon=True)
    thread.start()
    log(f"load: {args.rate:g}/s for {args.seconds:g} s, {len(plan)} faults")
    answers = asyncio.run(
        open_loop(stack.port, raw, args.rate, args.seconds, args.client_timeout, start)
    )
    thread.join()
    if errors:
        raise SystemExit(f"a fault could not be carried out: {errors[0]!r}")
    outcome = classify(warm + answers, stack.faults)
    ids = {a.execution_id for a in outcome.answers if a.execution_id}
    log(f"load done: {outcome.kinds}; draining {len(ids)} runs")
    drain = wait_drained(stack, ids, args.drain_timeout)
    check_runs(stack, outcome, recorder)
    return outcome, {"drain": drain}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (all bounded: the run stops by itself)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--seconds", type=float, default=300.0, help="length of the load (300)")
    add("--rate", type=float, default=100.0, help="webhook calls per second (100)")
    add("--kill-every", type=float, default=20.0, help="seconds between worker kills (20)")
    add("--outage", type=float, default=1.0, help="seconds Redis stays down (1)")
    add("--graceful-timeout", type=int, default=30, help="gunicorn --graceful-timeout (30)")
    add("--client-timeout", type=float, default=15.0, help="a call unanswered by then hung (15)")
    add("--settle", type=float, default=5.0, help="seconds after a fault counted in it (5)")
    add("--drain-timeout", type=float, default=600.0, help="longest wait for the drain (600)")
    add_server_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the soak; every server is stopped and the bench database dropped at the end."""
    args = parse_args(argv)
    facts = services_ready()
    if facts is None:
        return 2
    if not os.environ.get("FLUXOLAB_SERVICES_DIR"):
        print("bench: FLUXOLAB_SERVICES_DIR not set: run it with scripts/with-services.sh")
        return 2
    work = Path(tempfile.mkdtemp(prefix="fluxolab-bench-chaos-"))
    log(f"server logs in {work}")
    recorder = Recorder().start()
    stack = ChaosStack(args, work, recorder)
    outcome, extra = run_stack(stack, lambda s: soak(s, args, recorder))
    print("\n".join(report(args, facts, outcome, stack.faults, extra)))
    if outcome.violations:
        print(f"bench: logs kept in {work}", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
