"""Public webhook intake benchmark: gunicorn, PostgreSQL, Redis, Celery workers, one batch.

    scripts/with-services.sh .venv/bin/python bench/webhook_intake.py [options]
    (= make bench-webhooks)

In one batch, each phase on its own fresh database and servers (production settings, as
``executions.py`` starts them):

1. **manual runs**: ``executions.py``'s saturation figure (``POST /api/workflows/<id>/run``
   of the 5-node workflow, workers on), the reference for the end-to-end target;
2. **baseline**: a bare Flask endpoint (``bench/_baseline_app.py``: one ``INSERT``, one
   Celery publish) under the same gunicorn settings: acknowledgements/s; then the **floor**:
   ``bench/_floor_app.py``, a WSGI app that only reads the body and answers 202 (gunicorn's
   own cost per call);
3. **intake alone**: ``POST /api/webhooks/execute/<token>`` of the same workflow started by a
   ``webhook`` node (auth ``none``, ``immediately``), workers stopped so the backlog waits in
   Redis: acknowledgements/s, p50/p99 at ``--connections`` in flight, then p50/p99 open-loop
   at half the sustained rate; CPU ms per request by process;
4. **end to end**: the workers start and drain the backlog (then ``VACUUM (ANALYZE)``),
   then saturation runs with the workers on: webhook-started executions/s (first request
   -> last ``finished_at``);
5. **exactly once**: every accepted request of phases 3-4 must be exactly one execution
   (mode ``webhook``) and one call log row: the sets of ``executionId`` compared;
6. **statements per request** from PostgreSQL's statement log (api and worker).

Prints the tables, the targets (>= 800 acks/s and >= 1.3x the baseline, p99 <= 30 ms at
half the rate, end-to-end >= the manual-run figure, zero lost or duplicated) and one
summary line. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _support import RUN_INPUT, percentile, post_request
from _webhooks import WebhookStack, run_stack
from executions import (
    GROUPS,
    HOST,
    ROOT,
    Saturation,
    Stack,
    add_server_options,
    capacity,
    check_answers,
    closed_loop,
    code_revision,
    log,
    median_saturation,
    open_loop,
    saturation_run,
    saturation_table,
    services_ready,
    statement_pass,
    statement_table,
    warm_and_saturate,
)


class BaselineStack(Stack):
    """``bench/_baseline_app.py`` under the same gunicorn, PostgreSQL and Redis."""

    def start_api(self, app: str = "_baseline_app:app", extra: tuple[str, ...] = ()) -> None:
        """Create its table, then serve it like the API."""
        self.query(
            "CREATE TABLE bench_baseline (id uuid PRIMARY KEY, payload jsonb NOT NULL, "
            "created_at timestamptz NOT NULL)"
        )
        super().start_api(app, ("--pythonpath", str(ROOT / "bench"), *extra))

    def run_request(self) -> bytes:
        """The raw baseline call, with the same body as the webhook call."""
        return post_request(HOST, self.port, "/hook", "", json.dumps(RUN_INPUT).encode())

    def stored(self) -> int:
        """Rows the baseline inserted."""
        return int(self.query("SELECT count(*) FROM bench_baseline")[0][0])


class FloorStack(BaselineStack):
    """``bench/_floor_app.py`` (no framework, database or broker) under the same gunicorn."""

    def start_api(self, app: str = "_floor_app:app", extra: tuple[str, ...] = ()) -> None:
        """Serve the floor app like the API (no table to create)."""
        Stack.start_api(self, app, ("--pythonpath", str(ROOT / "bench"), *extra))


# --- phases --------------------------------------------------------------------------------


def manual_phase(stack: Stack, args: argparse.Namespace) -> list[Saturation]:
    """``executions.py``'s saturation runs (manual runs through ``/run``, workers on)."""
    stack.create_database()
    stack.start_api()
    stack.start_workers()
    stack.setup_account()
    return warm_and_saturate(stack, args, label="manual runs: ")


def acknowledgement_runs(stack: Stack, args: argparse.Namespace, label: str) -> list[Saturation]:
    """Fresh database and server, warm-up, then ``--runs`` closed-loop runs (no workers)."""
    stack.create_database()
    stack.start_api()
    check_answers(asyncio.run(closed_loop(stack.port, stack.run_request(), args.warmup, 8)))
    runs = []
    for index in range(args.runs):
        runs.append(
            saturation_run(stack, args.requests, args.connections, args.timeout, wait=False)
        )
        log(f"{label} {index + 1}/{args.runs}: {runs[-1].rate:.1f} answers/s")
    return runs


def baseline_phase(stack: BaselineStack, args: argparse.Namespace) -> list[Saturation]:
    """The baseline's runs; every answer must be a stored row."""
    runs = acknowledgement_runs(stack, args, "baseline")
    expected = args.warmup + args.runs * args.requests
    if stack.stored() != expected:
        raise SystemExit(f"baseline stored {stack.stored()} rows for {expected} answers")
    stack.redis.delete("bench_baseline")
    return runs


def floor_phase(stack: FloorStack, args: argparse.Namespace) -> list[Saturation]:
    """The same runs against the floor app: gunicorn's own cost per call."""
    return acknowledgement_runs(stack, args, "floor")


def webhook_phase(stack: WebhookStack, args: argparse.Namespace) -> dict[str, Any]:
    """Intake alone, its latency at half the rate, the drain, end to end, the checks."""
    stack.create_database()
    stack.start_api()
    stack.setup_account()  # no worker yet: every accepted call waits in Redis
    accepted: list[str | None] = []
    warm = asyncio.run(closed_loop(stack.port, stack.run_request(), args.warmup, 8))
    check_answers(warm)
    accepted += [request.execution_id for request in warm]
    intake = []
    for index in range(args.runs):
        run = saturation_run(stack, args.requests, args.connections, args.timeout, wait=False)
        accepted += run.execution_ids
        intake.append(run)
        log(f"intake {index + 1}/{args.runs}: {run.rate:.1f} acks/s")
    half = statistics.median(run.rate for run in intake) / 2
    count = max(10, int(half * args.latency_seconds))
    log(f"intake latency at {half:.1f}/s for {args.latency_seconds:.0f} s")
    paced = asyncio.run(open_loop(stack.port, stack.run_request(), count, half, 256))
    check_answers(paced)
    accepted += [request.execution_id for request in paced]
    first, last = min(r.sent for r in paced), max(r.sent for r in paced)
    latency = {
        "rate": (count - 1) / (last - first) if last > first else half,
        "count": count,
        "ms": [(request.done - request.sent) * 1000 for request in paced],
    }
    backlog = int(stack.redis.llen("executions"))
    log(f"starting the workers: {backlog} runs wait in Redis")
    drain_start = time.time()
    stack.start_workers()
    _, drained_at = stack.wait_finished(0.0, len(accepted), args.timeout * 3)
    drain = {"count": len(accepted), "backlog": backlog, "rate": 0.0}
    drain["rate"] = len(accepted) / max(drained_at - drain_start, 1e-9)
    log(f"backlog drained at {drain['rate']:.1f} executions/s; VACUUM (ANALYZE)")
    # The drain left every run's queued and running index entries dead: clean them up
    # as autovacuum would on a box with a spare core, so the end-to-end runs do not pay
    # for the backlog phase (claims count the workspace's running runs by index).
    stack.query("VACUUM (ANALYZE)")
    e2e = []
    for index in range(args.runs):
        run = saturation_run(stack, args.executions, args.connections, args.timeout)
        accepted += run.execution_ids
        e2e.append(run)
        log(f"end to end {index + 1}/{args.runs}: {run.rate:.1f} executions/s")
    check = exactly_once(stack, accepted)
    log(f"statement log pass: {args.statement_runs} calls")
    statements = statement_pass(stack, args.statement_runs, 20.0, args.timeout)
    return {
        "intake": intake,
        "latency": latency,
        "drain": drain,
        "e2e": e2e,
        "check": check,
        "statements": statements,
    }


def exactly_once(stack: WebhookStack, accepted: list[str | None]) -> dict[str, int]:
    """Compare the accepted ``executionId``s with the executions and call logs stored."""
    answered = [execution_id for execution_id in accepted if execution_id]
    ids = set(answered)
    rows = stack.query(
        "SELECT id::text, status FROM executions WHERE workspace_id = %s AND mode = 'webhook'",
        (stack.workspace_id,),
    )
    stored = {row[0] for row in rows}
    logs = stack.query(
        "SELECT count(*), count(DISTINCT l.execution_id) FROM webhook_logs l "
        "JOIN webhooks w ON w.id = l.webhook_id WHERE w.workflow_id = %s",
        (stack.workflow_id,),
    )[0]
    return {
        "accepted": len(accepted),
        "without_id": len(accepted) - len(answered),
        "repeated_ids": len(answered) - len(ids),
        "executions": len(rows),
        "lost": len(ids - stored),
        "extra": len(stored - ids),
        "not_succeeded": sum(1 for row in rows if row[1] != "succeeded"),
        "log_rows": int(logs[0]),
        "log_executions": int(logs[1]),
    }


# --- report --------------------------------------------------------------------------------


def pp(values: list[float]) -> str:
    """``p50 / p99`` in ms."""
    return f"{percentile(values, 0.5):.1f} / {percentile(values, 0.99):.1f} ms"


def report(
    args: argparse.Namespace,
    facts: dict[str, str],
    manual: list[Saturation],
    baseline: list[Saturation],
    floor: list[Saturation],
    hooks: dict[str, Any],
) -> list[str]:
    """Tables for every phase, the targets and the summary line."""
    intake, e2e = hooks["intake"], hooks["e2e"]
    med_manual, med_base = median_saturation(manual), median_saturation(baseline)
    med_intake, med_e2e = median_saturation(intake), median_saturation(e2e)
    lat, check = hooks["latency"], hooks["check"]
    lat_p99 = percentile(lat["ms"], 0.99)
    closed = [ms for run in intake for ms in run.latencies]
    ratio = med_intake.rate / med_base.rate
    lines = [
        f"FluxoLab webhook intake benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine: " + ", ".join(f"{key} {value}" for key, value in facts.items()),
        f"servers: api = gunicorn {args.api_workers} workers x {args.api_threads} threads; "
        f"worker = celery {args.pool} x {args.concurrency} in each of "
        f"{args.worker_processes} workers; load generator = this process "
        f"({args.connections} keep-alive connections in saturation)",
        f"code: {code_revision()}",
        f"command: {shlex.join([sys.executable, *sys.argv])}",
        "",
        "== manual runs (executions.py: POST /api/workflows/<id>/run, workers on) ==",
        *saturation_table(manual)[1:],
        "",
        "== baseline (bare Flask: one INSERT + one Celery publish; exec/s = acks/s) ==",
        *saturation_table(baseline)[1:],
        "",
        "== floor (gunicorn alone: a WSGI app that reads the body and answers 202) ==",
        *saturation_table(floor)[1:],
        "",
        "== webhook intake alone (workers stopped; exec/s = acks/s) ==",
        *saturation_table(intake)[1:],
        f"client latency at {args.connections} in flight (all runs): {pp(closed)}",
        f"open loop at half the rate ({lat['rate']:.1f}/s, {lat['count']} calls): {pp(lat['ms'])}",
        "",
        f"== backlog drain: {hooks['drain']['count']} runs ({hooks['drain']['backlog']} queued "
        f"in Redis) at {hooks['drain']['rate']:.1f} executions/s once the workers started ==",
        "",
        "== webhook end to end (workers on) ==",
        *saturation_table(e2e)[1:],
        "",
        "exactly once: " + ", ".join(f"{key} {value}" for key, value in check.items()),
        *statement_table(hooks["statements"]),
        "",
        "targets:",
        f"  acks/s >= 800: {med_intake.rate:.1f} -> {_met(med_intake.rate >= 800)}",
        f"  acks/s >= 1.3 x baseline ({med_base.rate:.1f}): {ratio:.2f}x -> {_met(ratio >= 1.3)}",
        f"  p99 <= 30 ms at half the rate: {lat_p99:.1f} ms -> {_met(lat_p99 <= 30)}",
        f"  end to end >= manual runs ({med_manual.rate:.1f}/s): {med_e2e.rate:.1f}/s -> "
        f"{_met(med_e2e.rate >= med_manual.rate)}",
        f"  zero lost, zero duplicated: lost {check['lost']}, extra {check['extra']}, "
        f"repeated {check['repeated_ids']} -> "
        f"{_met(check['lost'] == check['extra'] == check['repeated_ids'] == 0)}",
    ]
    cpu = " ".join(f"{name} {med_intake.cpu_ms[name]:.2f}" for name in GROUPS)
    lines += [
        "",
        f"webhooks: intake {med_intake.rate:.1f} acks/s (baseline {med_base.rate:.1f}, "
        f"{ratio:.2f}x; cap {capacity(med_intake):.0f}/s), p50/p99 {pp(closed)} at "
        f"{args.connections} in flight, {pp(lat['ms'])} at {lat['rate']:.0f}/s; end to end "
        f"{med_e2e.rate:.1f} executions/s (manual runs {med_manual.rate:.1f}/s); "
        f"lost {check['lost']}, duplicated {check['extra'] + check['repeated_ids']}; "
        f"intake CPU ms/request {cpu}",
    ]
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (all bounded: the run stops by itself)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--requests", type=int, default=3000, help="calls per intake/baseline run (3000)")
    add("--executions", type=int, default=2000, help="runs per manual/end-to-end run (2000)")
    add("--runs", type=int, default=3, help="saturation runs per phase; medians (3)")
    add("--connections", type=int, default=16, help="in-flight requests in saturation (16)")
    add("--warmup", type=int, default=300, help="calls before measuring, per phase (300)")
    add("--latency-seconds", type=float, default=10.0, help="open-loop run at half rate (10)")
    add("--statement-runs", type=int, default=50, help="calls of the statement-log pass (50)")
    add_server_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the batch; every phase's servers are stopped and its database dropped."""
    args = parse_args(argv)
    facts = services_ready()
    if facts is None:
        return 2
    work = Path(tempfile.mkdtemp(prefix="fluxolab-bench-hooks-"))
    log(f"server logs in {work}")
    manual = run_stack(Stack(args, work), lambda stack: manual_phase(stack, args))
    baseline = run_stack(BaselineStack(args, work), lambda stack: baseline_phase(stack, args))
    floor = run_stack(FloorStack(args, work), lambda stack: floor_phase(stack, args))
    hooks = run_stack(WebhookStack(args, work), lambda stack: webhook_phase(stack, args))
    shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report(args, facts, manual, baseline, floor, hooks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
