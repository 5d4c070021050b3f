"""Node-test benchmark: ``POST /api/workflows/nodes/test`` for a `set` node through a worker.

    scripts/with-services.sh .venv/bin/python bench/node_test.py [options]

Starts the API (gunicorn) and Celery workers on the ``node_tests`` queue against a fresh
database, registers a user through the API, then measures: (1) latency, open-loop paced
tests at ``--rates`` (default 20/s): the round trip at the client (request due -> 200 with
the result), split from the ``node_tests`` row into API -> worker pickup, worker run and
store, and signal -> answer; (2) saturation, ``--tests`` requests with ``--connections`` in
flight, ``--runs`` times: tests answered per second with their result, and CPU ms per test
by process. Prints a table and one summary line. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from _support import Child, machine_facts, percentile, post_request
from executions import (
    GROUPS,
    HOST,
    ROOT,
    Request,
    Stack,
    closed_loop,
    code_revision,
    log,
    open_loop,
)

SET_NODE = {
    "nodeType": "set",
    "config": {"fields": [{"name": "b", "value": "{{ $json.a + 1 }}"}]},
    "inputData": {"a": 1},
}
EXPECTED_OUTPUT = b'"main":[{"json":{"a":1,"b":2}}]'


class NodeTestStack(Stack):
    """The executions benchmark's servers, with workers on ``node_tests`` and a bounded wait."""

    def child_env(self, application: str) -> dict[str, str]:
        env = super().child_env(application)
        env.update(
            NODE_TEST_WAIT_SECONDS=str(self.args.wait),
            MAX_WAITERS_PER_PROCESS=str(self.args.waiters),
        )
        return env

    def start_workers(self) -> None:
        env = self.child_env("worker")
        for index in range(self.args.worker_processes):
            argv = [
                sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "node_tests",
                "--pool", self.args.pool, "--concurrency", str(self.args.concurrency),
                "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
                "--hostname", f"bench-nodes{index}-{os.getpid()}@%h",
            ]  # fmt: skip
            log_path = self.work / f"worker{index}.log"
            self.workers.append(Child(f"worker{index}", argv, log_path).start(env, ROOT))

    def setup_account(self) -> None:
        """Register and log in through the API (node tests need no workflow and no quota)."""
        with httpx.Client(base_url=f"http://{HOST}:{self.port}/api", timeout=30) as client:
            self.register_and_login(client, prefix="bench-nodes")

    def test_request(self) -> bytes:
        """The raw ``POST /api/workflows/nodes/test`` request of a `set` node."""
        body = json.dumps(SET_NODE).encode()
        return post_request(HOST, self.port, "/api/workflows/nodes/test", self.token, body)

    def rows(self, since: float) -> list[tuple[str, float, float, float]]:
        """``(id, created, started, finished)`` epochs of the tests created after ``since``."""
        rows = self.query(
            "SELECT id, created_at, started_at, finished_at FROM node_tests "
            "WHERE workspace_id = %s AND created_at >= %s AND finished_at IS NOT NULL",
            (self.workspace_id, datetime.fromtimestamp(since, UTC)),
        )
        return [(str(i), c.timestamp(), s.timestamp(), f.timestamp()) for i, c, s, f in rows]


def answered(requests: list[Request]) -> tuple[int, int]:
    """Return ``(200 with the expected output, 202)``; exit on anything else."""
    ok = sum(1 for r in requests if r.status == 200 and EXPECTED_OUTPUT in r.body)
    pending = sum(1 for r in requests if r.status == 202)
    if ok + pending != len(requests):
        bad = next(
            r
            for r in requests
            if r.status not in (200, 202) or (r.status == 200 and EXPECTED_OUTPUT not in r.body)
        )
        raise SystemExit(f"unexpected answer {bad.status}: {bad.body[:300]!r}")
    return ok, pending


@dataclass
class Latency:
    """An open-loop run at one arrival rate; latencies in milliseconds."""

    rate: float
    achieved: float
    count: int
    pending: int  # answered 202 (the wait ran out, or the waiter cap was reached)
    round_trip: list[float]  # client: request due -> 200 with the result
    to_worker: list[float]  # row created -> claimed (API commit, publish, broker, pickup)
    in_worker: list[float]  # claimed -> result stored (engine, result UPDATE and commit)


def latency_run(stack: NodeTestStack, rate: float, seconds: float) -> Latency:
    """Paced arrivals at ``rate``/s for ``seconds`` (no coordinated omission)."""
    count = max(10, int(rate * seconds))
    start = time.time()
    requests = asyncio.run(open_loop(stack.port, stack.test_request(), count, rate, 256))
    _ok, pending = answered(requests)
    rows = stack.rows(start)
    first, last = min(r.sent for r in requests), max(r.sent for r in requests)
    return Latency(
        rate=rate,
        achieved=(count - 1) / (last - first) if last > first else rate,
        count=count,
        pending=pending,
        round_trip=[(r.done - r.sent) * 1000 for r in requests if r.status == 200],
        to_worker=[(started - created) * 1000 for _, created, started, _ in rows],
        in_worker=[(finished - started) * 1000 for _, _, started, finished in rows],
    )


@dataclass
class Saturation:
    """A closed-loop run: answers per second and CPU ms per test by process."""

    count: int
    rate: float  # 200 answers per second (first request -> last answer)
    pending: int
    cpu_ms: dict[str, float]
    busy: float


def saturation_run(stack: NodeTestStack, count: int, connections: int) -> Saturation:
    """``count`` tests with ``connections`` in flight, each sent as soon as one is answered."""
    before = stack.sample()
    requests = asyncio.run(closed_loop(stack.port, stack.test_request(), count, connections))
    after = stack.sample()
    ok, pending = answered(requests)
    elapsed = max(r.done for r in requests) - before.wall
    return Saturation(
        count=count,
        rate=ok / elapsed,
        pending=pending,
        cpu_ms={name: (after.cpu[name] - before.cpu[name]) * 1000 / count for name in GROUPS},
        busy=(after.busy - before.busy) / (after.total - before.total),
    )


def _ms(values: list[float]) -> str:
    return f"{percentile(values, 0.5):>7.1f} {percentile(values, 0.99):>7.1f}"


def report(
    stack: NodeTestStack, facts: dict[str, str], lat: list[Latency], sat: list[Saturation]
) -> list[str]:
    args = stack.args
    pg = stack.query("SHOW server_version")[0][0]
    lines = [
        f"FluxoLab node-test benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine: " + ", ".join(f"{key} {value}" for key, value in facts.items()),
        f"servers: PostgreSQL {pg}, Redis {stack.redis.info('server')['redis_version']}; "
        f"api = gunicorn {args.api_workers} workers x {args.api_threads} threads "
        f"(NODE_TEST_WAIT_SECONDS={args.wait}, MAX_WAITERS_PER_PROCESS={args.waiters}); "
        f"worker = {args.worker_processes} x celery -Q node_tests --pool {args.pool}"
        + (f" --concurrency {args.concurrency}" if args.pool != "solo" else ""),
        f"code: {code_revision()}",
        "command: " + " ".join([sys.executable, *sys.argv]),
        "",
        "latency (open loop), ms: p50 p99",
        f"{'rate':>6} {'tests':>6} {'202':>4} {'round trip':>15} {'API->worker':>15} "
        f"{'in worker':>15}",
    ]
    for run in lat:
        lines.append(
            f"{run.achieved:>6.1f} {run.count:>6} {run.pending:>4} {_ms(run.round_trip)} "
            f"{_ms(run.to_worker)} {_ms(run.in_worker)}"
        )
    cols = " ".join(f"{name:>8}" for name in GROUPS)
    lines += [
        "",
        f"saturation (closed loop, {args.connections} in flight): tests answered 200 per "
        "second; CPU ms per test by process",
        f"{'run':>6} {'tests/s':>8} {'202':>5} {cols} {'busy':>5}",
    ]
    for index, run in enumerate(sat, 1):
        cpu = " ".join(f"{run.cpu_ms[name]:>8.2f}" for name in GROUPS)
        lines.append(f"{index:>6} {run.rate:>8.1f} {run.pending:>5} {cpu} {run.busy:>5.0%}")
    return lines


def summary(lat: list[Latency], sat: list[Saturation]) -> str:
    parts = [
        f"node test round trip at {run.achieved:.0f}/s p50 {percentile(run.round_trip, 0.5):.1f}"
        f" ms p99 {percentile(run.round_trip, 0.99):.1f} ms ({run.pending} answered 202)"
        for run in lat
    ]
    if sat:
        parts.append(f"saturated {statistics.median(run.rate for run in sat):.1f} tests/s")
    return "summary: " + "; ".join(parts) + " (target p50 <= 15 ms, p99 <= 50 ms at 20/s)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--rates", default="20", help="open-loop arrival rates per second (20)")
    add("--latency-seconds", type=float, default=30.0, help="length of each latency run (30)")
    add("--tests", type=int, default=2000, help="tests per saturation run (2000)")
    add("--runs", type=int, default=3, help="saturation runs (3)")
    add("--connections", type=int, default=2, help="in flight during saturation (2)")
    add("--warmup", type=int, default=200, help="tests before measuring (200)")
    add("--wait", type=float, default=10.0, help="NODE_TEST_WAIT_SECONDS (10)")
    add("--waiters", type=int, default=2, help="MAX_WAITERS_PER_PROCESS (2)")
    add("--api-workers", type=int, default=2, help="gunicorn worker processes (2)")
    add("--api-threads", type=int, default=4, help="threads per gunicorn worker (4)")
    add("--pool", default="prefork", help="celery pool (prefork, as docker-compose)")
    add("--concurrency", type=int, default=2, help="celery pool size (2)")
    add("--worker-processes", type=int, default=1, help="celery worker processes (1)")
    args = parser.parse_args(argv)
    args.access_log = args.task_events = False  # what the executions Stack reads
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not all(os.environ.get(name) for name in ("DATABASE_URL", "REDIS_URL")):
        print("bench: DATABASE_URL/REDIS_URL not set: run it with scripts/with-services.sh")
        return 2
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    facts = machine_facts()
    work = Path(tempfile.mkdtemp(prefix="fluxolab-bench-nodes-"))
    stack = NodeTestStack(args, work)
    try:
        log(f"server logs in {work}; migrating a fresh database")
        stack.create_database()
        stack.start_api()
        stack.start_workers()
        stack.setup_account()
        log(f"warm-up: {args.warmup} tests")
        answered(asyncio.run(closed_loop(stack.port, stack.test_request(), args.warmup, 2)))
        latencies = []
        for rate in (float(part) for part in args.rates.split(",") if part):
            log(f"latency at {rate:g}/s for {args.latency_seconds:g} s")
            latencies.append(latency_run(stack, rate, args.latency_seconds))
        runs = []
        for index in range(args.runs):
            runs.append(saturation_run(stack, args.tests, args.connections))
            log(f"saturation {index + 1}/{args.runs}: {runs[-1].rate:.1f} tests/s")
        lines = [*report(stack, facts, latencies, runs), "", summary(latencies, runs)]
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
