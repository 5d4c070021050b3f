"""``run``: walk a compiled graph from its trigger, node by node, until nothing is left to run.

Scheduling is deterministic: among the nodes with pending input (and active loops), the one
with the lowest topological rank whose blocking nodes have nothing pending runs next. So a node
runs once with everything its upstream sends in this pass; a Merge runs when each connected
input has received its data or can no longer receive any. A node whose input received no
items does not run and leaves no step (n8n's default); a branch that ends is no error.

``run`` never raises for anything the workflow does: bad params, node and expression errors,
sandbox errors and limits all end in a failed (or timed-out, canceled) ``RunResult`` naming
the node. An invalid definition gives a failed result carrying the validation messages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fluxolab.engine import deadline
from fluxolab.engine.call import ResumeInfo, RunEnv
from fluxolab.engine.context import Checkpoint, Item, Resume, RunContext
from fluxolab.engine.errors import NodeError, NodeTimeout, RunTimeout
from fluxolab.engine.executor import Executor
from fluxolab.engine.graph import Graph
from fluxolab.engine.issues import ValidationIssue
from fluxolab.engine.nodetype import Outputs, WaitRequest
from fluxolab.engine.records import (
    CANCELED,
    FAILED,
    SUCCEEDED,
    TIMED_OUT,
    WAITING,
    RunResult,
    StepRecord,
)
from fluxolab.engine.redaction import redact
from fluxolab.engine.spec import ERROR_OUTPUT, CompiledNode
from fluxolab.engine.state import Progress, StateError, restore, snapshot
from fluxolab.engine.validation import compiled

MAX_MESSAGES = 10
logger = logging.getLogger(__name__)


def normalize_items(items: Any) -> list[Item]:
    """Return run input as items: ``{"json": {...}}`` kept, bare objects wrapped, [] -> [{}]."""
    normalized: list[Item] = []
    for item in items if isinstance(items, list) else [items] if items else []:
        if isinstance(item, Mapping) and isinstance(item.get("json"), Mapping):
            normalized.append(item if isinstance(item, dict) else dict(item))
        elif isinstance(item, Mapping):
            normalized.append({"json": dict(item)})
        else:
            normalized.append({"json": {"value": item}})
    return normalized or [{"json": {}}]


def visible_output(node: CompiledNode, outputs: Outputs) -> list[Item]:
    """Return what a node emitted, all outputs in declared order (the error output excluded)."""
    if len(outputs) == 1 and ERROR_OUTPUT not in outputs:
        return next(iter(outputs.values()))
    lists = [outputs[port] for port in node.outputs if port != ERROR_OUTPUT and outputs.get(port)]
    if len(lists) == 1:
        return lists[0]
    return [item for items in lists for item in items]


def failure(message: str, error_type: str, node: CompiledNode | None = None) -> dict[str, Any]:
    """Return a run error ``{"message", "nodeId", "nodeName", "type"}``."""
    return {
        "message": message,
        "nodeId": node.id if node else None,
        "nodeName": node.name if node else None,
        "type": error_type,
    }


def _invalid(issues: list[ValidationIssue]) -> RunResult:
    """Return the failed result of a definition that does not validate."""
    text = "; ".join(issue.message for issue in issues[:MAX_MESSAGES])
    error = {
        "message": f"Invalid workflow: {text}",
        "nodeId": issues[0].node_id,
        "nodeName": None,
        "type": "ValidationError",
        "issues": [issue.to_dict() for issue in issues],
    }
    return RunResult(status=FAILED, error=error)


class CallerError(Exception):
    """An exception raised by a caller-supplied hook (``should_cancel``, ``on_checkpoint``)."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


class Runner:
    """Executes one ``run`` call over a compiled graph."""

    def __init__(
        self,
        graph: Graph,
        ctx: RunContext,
        env: RunEnv,
        progress: Progress,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        self.graph = graph
        self.payload = payload  # the resume payload for the waiting node
        self.ctx = ctx
        self.env = env
        self.progress = progress
        self.call_started = ctx.now()
        if progress.started_at is None:
            progress.started_at = self.call_started.isoformat()
        self.executor = Executor(env, self.time_left)
        self.steps: list[StepRecord] = []
        self.unsaved: list[StepRecord] = []  # steps since the last checkpoint
        self.checkpointed = 0  # steps already handed to on_checkpoint
        self.active: set[int] = {
            index for index, node in enumerate(graph.nodes) if env.node_states.get(node.id)
        }

    def elapsed_s(self, now: datetime | None = None) -> float:
        """Return the active run time at ``now``, including earlier calls before a resume."""
        moment = now or self.ctx.now()
        return self.progress.elapsed_before_s + (moment - self.call_started).total_seconds()

    def time_left(self, now: datetime) -> float | None:
        """Return the seconds left at ``now`` before the run's overall timeout."""
        return self.ctx.limits.run_timeout_s - self.elapsed_s(now)

    def next_node(self) -> int | None:
        """Return the next node to run, or None when nothing is left."""
        progress = self.progress
        if progress.resume_index is not None:
            return progress.resume_index
        if not self.active and len(progress.pending) <= 1:
            return next(iter(progress.pending), None)
        candidates = set(progress.pending) | self.active
        busy = progress.pending_mask
        for index in self.active:
            busy |= 1 << index
        blocking, rank = self.graph.blocking, self.graph.rank
        ready = [index for index in candidates if not blocking[index] & busy]
        return min(ready or candidates, key=rank.__getitem__)

    def go(self) -> RunResult:
        """Run nodes until the graph is exhausted, a node fails, or the run must stop."""
        while (index := self.next_node()) is not None:
            node = self.graph.nodes[index]
            now = self.ctx.now()
            stop = self._guard(node, now)
            if stop is not None:
                return stop
            resume = None
            if self.progress.resume_index == index:
                resume = ResumeInfo(self.payload)
                self.progress.resume_index = None
            inputs = self.progress.take(index)
            self.progress.runs += 1
            outcome = self.executor.execute(node, inputs, resume, now)
            if outcome.wait is not None:
                return self._waiting(node, inputs, outcome.wait)
            assert outcome.step is not None
            self.steps.append(outcome.step)
            self.unsaved.append(outcome.step)
            if outcome.error is not None:
                return self._stopped(node, outcome.error)
            self._advance(node, outcome.outputs)
        return self.result(SUCCEEDED)

    def _guard(self, node: CompiledNode, now: datetime) -> RunResult | None:
        """Return the stop result when the run is canceled, out of time or out of node runs."""
        try:
            canceled = self.ctx.should_cancel()
        except Exception as exc:
            raise CallerError(exc) from exc
        if canceled:
            return self.result(CANCELED, failure("Execution was canceled", "Canceled", node))
        if self.elapsed_s(now) >= self.ctx.limits.run_timeout_s:
            return self._timed_out(node, "before")
        if self.progress.runs >= self.ctx.limits.max_node_runs:
            limit = self.ctx.limits.max_node_runs
            message = f"Execution exceeded {limit} node runs (a runaway loop?)"
            return self.result(FAILED, failure(message, "LimitExceeded", node))
        return None

    def _stopped(self, node: CompiledNode, error: NodeError) -> RunResult:
        """The result of a run a node's failure stopped: timed out when a timeout did it."""
        if isinstance(error, RunTimeout):
            return self._timed_out(node, "in")
        if self.elapsed_s(self.ctx.now()) >= self.ctx.limits.run_timeout_s:
            return self._timed_out(node, "in")
        status = TIMED_OUT if isinstance(error, NodeTimeout) else FAILED
        return self.result(status, failure(error.message, error.type, node))

    def _timed_out(self, node: CompiledNode, where: str) -> RunResult:
        """The run's overall time ran out before or inside ``node``."""
        limit = self.ctx.limits.run_timeout_s
        message = f"Execution timed out after {limit:g} s ({where} node '{node.name}')"
        return self.result(TIMED_OUT, failure(message, "Timeout", node))

    def _advance(self, node: CompiledNode, outputs: Outputs) -> None:
        """Record what the node emitted, route it downstream and checkpoint side effects."""
        index = node.index
        visible = visible_output(node, outputs)
        self.progress.last_output = visible
        if self.graph.referenced >> index & 1:
            for key in self.graph.output_keys[index]:
                self.env.node_outputs[key] = visible
        for port, items in outputs.items():
            if items:
                for edge in self.graph.edges[index].get(port, ()):
                    self.progress.add(edge.target, edge.port, items)
        if node.type.loop:
            if self.env.node_states.get(node.id):
                self.active.add(index)
            else:
                self.active.discard(index)
        if node.type.side_effects:
            self._checkpoint()

    def _checkpoint(self, waiting: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """Hand the caller a snapshot plus the steps since the last one (when it asked)."""
        if self.ctx.on_checkpoint is None and waiting is None:
            return None
        state = snapshot(self.graph, self.progress, self.env, self.elapsed_s(), waiting)
        if self.ctx.on_checkpoint is not None:
            try:
                self.ctx.on_checkpoint(Checkpoint(state, self.unsaved))
            except Exception as exc:
                raise CallerError(exc) from exc
            self.checkpointed += len(self.unsaved)
            self.unsaved = []
        return state

    def _waiting(
        self, node: CompiledNode, inputs: dict[str, list[Item]], request: WaitRequest
    ) -> RunResult:
        """Stop the run at a waiting node, checkpointing a state that resumes at that node."""
        until = request.until.isoformat() if request.until else None
        waiting = {"nodeId": node.id, "inputs": inputs, "kind": request.kind, "until": until}
        state = self._checkpoint(waiting)
        wait = {"kind": request.kind, "nodeId": node.id, "nodeName": node.name, "until": until}
        result = self.result(WAITING)
        result.state = state
        result.wait = {**wait, **request.details}
        return result

    def result(self, status: str, error: dict[str, Any] | None = None) -> RunResult:
        """Return the result of this call with its steps, response and last output.

        The error, response and output are stored with the run: secrets are masked in them.
        """
        secrets = self.env.secrets
        return RunResult(
            status=status,
            steps=self.steps,
            error=redact(error, secrets),
            response=redact(self.env.response, secrets),
            output=redact(self.progress.last_output, secrets),
            checkpointed=self.checkpointed,
        )


def _start(graph: Graph, ctx: RunContext, input_items: Any) -> Progress:
    """Return the bookkeeping of a fresh run: the trigger holds the run's input items."""
    trigger = ctx.trigger_node_id
    start = graph.by_id[trigger].index if trigger is not None else graph.start
    progress = Progress()
    if start is not None:
        progress.add(start, "0", normalize_items(input_items))
    return progress


def run(
    definition: Mapping[str, Any],
    input_items: list[Item],
    ctx: RunContext,
    resume: Resume | None = None,
) -> RunResult:
    """Run a workflow definition (or continue one from ``resume``) and return the run record."""
    graph, issues = compiled(definition)
    if graph is None:
        return _invalid(issues)
    if ctx.trigger_node_id is not None and ctx.trigger_node_id not in graph.by_id:
        message = f"Trigger node '{ctx.trigger_node_id}' is not in the workflow"
        return RunResult(status=FAILED, error=failure(message, "ValidationError"))
    env = RunEnv(ctx)
    try:
        progress = restore(graph, resume.state, env) if resume else _start(graph, ctx, input_items)
    except StateError as exc:
        return RunResult(status=FAILED, error=failure(str(exc), "ResumeError"))
    runner = Runner(graph, ctx, env, progress, resume.payload if resume else None)
    try:
        with deadline.held():  # every node is bounded: keep the timer's handler meanwhile
            return runner.go()
    except CallerError as exc:
        raise exc.original from None  # the caller's own hook failed: its error, not the run's
    except ctx.fatal:
        raise
    except Exception as exc:  # an engine defect must not take the worker down with it
        logger.exception("Engine error in execution %s", ctx.execution_id)
        return runner.result(FAILED, failure(f"Engine error: {exc!r}", "InternalError"))
