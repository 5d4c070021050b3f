"""Every counter, histogram and gauge FluxoLab records, with one small helper per event.

Only ``prometheus_client`` is imported here (an import-linter contract keeps it so): the
sandbox, the runner, the claim and the HTTP hooks all record through these helpers. Each call
is an increment or an observation in this process's memory (or, in multiprocess mode, in its
memory-mapped file): no I/O, no lock held across anything slow.

Label values are bounded: route templates (never raw paths), known HTTP methods, status
codes, execution modes and statuses, sandbox error kinds.

Every instrument has a label, even where one value is all it takes: in multiprocess mode an
unlabelled one creates its file when this module is imported, so every short-lived process
that imports the app (a healthcheck's ``celery inspect ping``) would leave files behind,
and a file opened before the folder is emptied at start-up would be lost. A labelled one
creates its file on first use only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from fluxolab.metrics import multiproc

# Seconds; fine at the low end for the webhook acknowledgement (a few ms), up to a waiting call.
LATENCY_BUCKETS = (
    0.002, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
# Seconds; runs and queue waits last from milliseconds to the task time limit (900 s).
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"
multiproc.ensure_folder()  # a first write must never fail for a folder nobody created yet
# No ``*_created`` series beside every counter and histogram: twice the series, no use here.
disable_created_metrics()

HTTP_REQUESTS = Counter(
    "fluxolab_http_requests",
    "HTTP requests answered by the API, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "fluxolab_http_request_duration_seconds",
    "Time the API took to answer a request, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_ACKS = Counter(
    "fluxolab_webhook_acks",
    "Answers to public webhook calls (POST /api/webhooks/execute/<token>), by status code.",
    ["status"],
)
WEBHOOK_ACK_DURATION = Histogram(
    "fluxolab_webhook_ack_duration_seconds",
    "Time from a webhook call's arrival to its answer (202 acknowledgement or result).",
    ["status"],
    buckets=LATENCY_BUCKETS,
)
EXECUTIONS_STARTED = Counter(
    "fluxolab_executions_started",
    "Executions a worker started (first claim: queued -> running), by mode.",
    ["mode"],
)
EXECUTIONS_FINISHED = Counter(
    "fluxolab_executions_finished",
    "Executions that reached a final status, by status and mode.",
    ["status", "mode"],
)
EXECUTION_DURATION = Histogram(
    "fluxolab_execution_duration_seconds",
    "Time from an execution's start to its final status, by mode.",
    ["mode"],
    buckets=RUN_BUCKETS,
)
QUEUE_WAIT = Histogram(
    "fluxolab_execution_queue_wait_seconds",
    "Time from an execution's creation to its start by a worker, by mode.",
    ["mode"],
    buckets=RUN_BUCKETS,
)
NODE_TESTS = Counter(
    "fluxolab_node_tests",
    "Single-node tests a worker ran, by outcome (succeeded, failed, timed_out).",
    ["status"],
)
NODE_TEST_DURATION = Histogram(
    "fluxolab_node_test_duration_seconds",
    "Time a worker spent on one node test, by outcome.",
    ["status"],
    buckets=RUN_BUCKETS,
)
SWEEPER_REPUBLISHED = Counter(
    "fluxolab_sweeper_republished",
    "Executions the beat sweeper published again (queued or lease expired, no worker had them).",
    ["queue"],
)
ROLLUP_DURATION = Histogram(
    "fluxolab_rollup_duration_seconds",
    "Time one execution_stats rollup run took, by outcome (ok, error).",
    ["outcome"],
    buckets=RUN_BUCKETS,
)
ROLLUP_LAST_SUCCESS = Gauge(
    "fluxolab_rollup_last_success_timestamp_seconds",
    "Unix time the stats rollup last finished without an error, by table (execution_stats).",
    ["table"],
    multiprocess_mode="max",
)
SANDBOX_RUNS = Counter(
    "fluxolab_sandbox_runs",
    "Code-node sandbox runs, by outcome: ok or the error kind (timeout, memory, cpu, ...).",
    ["outcome"],
)
SANDBOX_REFUSALS = Counter(
    "fluxolab_sandbox_refusals",
    "Code-node runs refused before starting: bubblewrap cannot confine them on this host.",
    ["reason"],
)


# (route, method, status) -> its counter and histogram children: ``labels()`` validates and
# locks on every call, a dict lookup does not (the keys are bounded: rules x methods x codes).
_http_children: dict[tuple[str | None, str, int], tuple[Any, Any]] = {}
_ack_children: dict[int, tuple[Any, Any]] = {}


def http_request(route: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request and observe its latency (``route``: the URL rule)."""
    children = _http_children.get((route, method, status))
    if children is None:
        label = route or UNMATCHED
        verb = method if method in METHODS else "OTHER"
        children = (
            HTTP_REQUESTS.labels(label, verb, str(status)),
            HTTP_DURATION.labels(label, verb),
        )
        if verb != "OTHER":  # arbitrary method names are not kept as keys
            _http_children[(route, method, status)] = children
    children[0].inc()
    children[1].observe(seconds)


def webhook_ack(status: int, seconds: float) -> None:
    """Count one answered webhook call and observe how long its caller waited."""
    children = _ack_children.get(status)
    if children is None:
        children = _ack_children[status] = (
            WEBHOOK_ACKS.labels(str(status)),
            WEBHOOK_ACK_DURATION.labels(str(status)),
        )
    children[0].inc()
    children[1].observe(seconds)


def execution_started(mode: str, queue_wait_seconds: float) -> None:
    """A worker started an execution for the first time (not a resume or redelivery)."""
    EXECUTIONS_STARTED.labels(mode).inc()
    QUEUE_WAIT.labels(mode).observe(max(queue_wait_seconds, 0.0))


def execution_finished(mode: str, status: str, duration_seconds: float | None) -> None:
    """An execution reached a final status (``duration_seconds``: None when it never ran)."""
    EXECUTIONS_FINISHED.labels(status, mode).inc()
    if duration_seconds is not None:
        EXECUTION_DURATION.labels(mode).observe(max(duration_seconds, 0.0))


def node_test_finished(status: str, seconds: float) -> None:
    """A worker finished one node test (``skipped`` deliveries are not counted)."""
    if status == "skipped":
        return
    NODE_TESTS.labels(status).inc()
    NODE_TEST_DURATION.labels(status).observe(seconds)


def sweeper_republished(count: int) -> None:
    """The sweeper published ``count`` executions again."""
    if count:
        SWEEPER_REPUBLISHED.labels("executions").inc(count)


@contextmanager
def rollup_timer() -> Iterator[None]:
    """Time a rollup run; on success also set the last-success time."""
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        ROLLUP_DURATION.labels("error").observe(time.perf_counter() - started)
        raise
    ROLLUP_DURATION.labels("ok").observe(time.perf_counter() - started)
    ROLLUP_LAST_SUCCESS.labels("execution_stats").set(time.time())


def sandbox_run(outcome: str) -> None:
    """One sandbox run ended: ``ok`` or the ``SandboxError`` kind."""
    SANDBOX_RUNS.labels(outcome).inc()


def sandbox_refused(reason: str) -> None:
    """A sandbox run was refused before it started."""
    SANDBOX_REFUSALS.labels(reason).inc()
