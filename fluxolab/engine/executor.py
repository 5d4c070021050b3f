"""Run one node once, with its settings: retries, timeout, error handling and step limits.

One ``StepRecord`` per node run, carrying the number of the last attempt. Failures follow
``onError``: "stop" fails the run; "continue" emits ``{"json": {"error": message}}`` on the
first output; "errorOutput" emits the input items with ``json.error`` set on the ``error``
output. Such a step is recorded as "failed" (with its outputs) while the run goes on.
Limit violations are never retried or continued.

The node function runs ``deadline.bounded`` by the nearer of its ``timeoutMs`` and the run's
time left: a node still busy then is interrupted where it is and fails with ``NodeTimeout``
(retried like any failure) or ``RunTimeout`` (the run ends timed out). Its loop state is put
back as it was before the attempt, so an interrupt never leaves it half written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fluxolab.engine import deadline
from fluxolab.engine.call import NodeCall, ResumeInfo, RunEnv
from fluxolab.engine.context import Item
from fluxolab.engine.errors import LimitExceeded, NodeError, NodeTimeout, RunTimeout
from fluxolab.engine.nodetype import LOOP_RETURN, Outputs, WaitRequest
from fluxolab.engine.records import FAILED, SKIPPED, SUCCEEDED, StepRecord
from fluxolab.engine.redaction import redact
from fluxolab.engine.spec import ERROR_OUTPUT, CompiledNode
from fluxolab.engine.storage import StepStore

TimeLeft = Callable[[datetime], float | None]  # seconds the run has left at a moment


@dataclass
class NodeRun:
    """The outcome of one node run: its record, the real outputs to route, a wait or a failure."""

    step: StepRecord | None  # None while the node waits (recorded when it resumes)
    outputs: Outputs
    wait: WaitRequest | None = None
    error: NodeError | None = None  # set when the failure must stop the run


def input_items(inputs: Mapping[str, list[Item]]) -> list[Item]:
    """Return all input items in port order ("0", "1", ..., then the loop return)."""
    if len(inputs) == 1:
        return next(iter(inputs.values()))
    ordered = sorted(inputs, key=lambda port: (port == LOOP_RETURN, port))
    return [item for port in ordered for item in inputs[port]]


def _no_time_limit(moment: datetime) -> float | None:
    """Return None: no run deadline (used by single-node tests)."""
    return None


class Executor:
    """Runs nodes for one run environment and records their steps."""

    def __init__(self, env: RunEnv, time_left: TimeLeft = _no_time_limit) -> None:
        self.env = env
        self.ctx = env.ctx
        self.time_left = time_left
        self.store = StepStore(env.ctx.limits.max_step_bytes)

    def execute(
        self,
        node: CompiledNode,
        inputs: Mapping[str, list[Item]],
        resume: ResumeInfo | None = None,
        started: datetime | None = None,
    ) -> NodeRun:
        """Run ``node`` on ``inputs`` with retries; never raises for node failures."""
        started = started or self.ctx.now()
        if node.disabled:
            passed = {node.outputs[0]: inputs.get("0") or []} if node.outputs else {}
            return NodeRun(self.record(node, inputs, passed, started, SKIPPED, 1), passed)
        attempt = 0
        while True:
            attempt += 1
            now = started if attempt == 1 else self.ctx.now()
            call = NodeCall(node, inputs, self.env, now, resume, self._deadline(node, now))
            try:
                result = self._attempt(node, call)
            except NodeError as exc:
                if self._should_retry(node, exc, attempt):
                    self.ctx.sleep(node.settings.wait_between_s)
                    continue
                return self._failed(node, inputs, exc, started, attempt, call.logs)
            if isinstance(result, WaitRequest):
                return NodeRun(None, {}, wait=result)
            step = self.record(node, inputs, result, started, SUCCEEDED, attempt, call.logs)
            return NodeRun(step, result)

    def _deadline(self, node: CompiledNode, now: datetime) -> float | None:
        """Return the seconds a call started ``now`` may take: node timeout, run time left."""
        left = self.time_left(now)
        timeout_ms = node.settings.timeout_ms
        if timeout_ms is not None:
            left = timeout_ms / 1000.0 if left is None else min(left, timeout_ms / 1000.0)
        return None if left is None else max(left, 0.0)

    def _attempt(self, node: CompiledNode, call: NodeCall) -> Outputs | WaitRequest:
        """Call the node function once; unexpected exceptions become NodeErrors."""
        begun = call.now
        saved = self._state_copy(node)
        try:
            with deadline.bounded(call.deadline_s):
                result = node.type.run(call)
        except deadline.Expired:
            self._put_state(node, saved)
            raise self._interrupted(node, call) from None
        except NodeError as exc:
            self._raise_fatal_cause(exc)
            raise
        except self.ctx.fatal:
            raise
        except Exception as exc:
            self._raise_fatal_cause(exc)
            raise NodeError(
                f"Unexpected error: {type(exc).__name__}: {exc}", "InternalError"
            ) from exc
        timeout_ms = node.settings.timeout_ms
        if timeout_ms is not None:
            elapsed_ms = (self.ctx.now() - begun).total_seconds() * 1000.0
            if elapsed_ms > timeout_ms:
                raise NodeTimeout(f"Node timed out after {timeout_ms} ms")
        if isinstance(result, WaitRequest):
            return result
        return self._checked(node, result)

    def _raise_fatal_cause(self, error: BaseException) -> None:
        """Re-raise a fatal exception (the worker's time limit) that ``error`` was raised over.

        Code that turns every exception into its own error (the expression evaluator does)
        must not turn the worker's soft time limit into an ordinary node failure.
        """
        seen: set[int] = set()
        cause = error.__cause__ or error.__context__
        while cause is not None and id(cause) not in seen:
            if isinstance(cause, self.ctx.fatal):
                raise cause from None
            seen.add(id(cause))
            cause = cause.__cause__ or cause.__context__

    def _interrupted(self, node: CompiledNode, call: NodeCall) -> NodeError:
        """Return why a call was interrupted: its node's timeout, or the run's time ran out."""
        timeout_ms = node.settings.timeout_ms
        run_left = self.time_left(call.now)
        if timeout_ms is not None and (run_left is None or timeout_ms / 1000.0 <= run_left):
            return NodeTimeout(f"Node timed out after {timeout_ms} ms")
        limit = self.ctx.limits.run_timeout_s
        return RunTimeout(f"Execution timed out after {limit:g} s (in node '{node.name}')")

    def _state_copy(self, node: CompiledNode) -> dict[str, Any] | None:
        """Return a copy of the node's loop state before an attempt (None when it has none)."""
        state = self.env.node_states.get(node.id)
        return None if state is None else dict(state)

    def _put_state(self, node: CompiledNode, saved: dict[str, Any] | None) -> None:
        """Put back the loop state an interrupted attempt may have left half written."""
        if saved is None:
            self.env.node_states.pop(node.id, None)
        else:
            self.env.node_states[node.id] = saved

    def _checked(self, node: CompiledNode, result: Outputs) -> Outputs:
        """Keep only declared outputs; raises LimitExceeded past ``max_items_per_step``."""
        if not isinstance(result, dict):
            raise NodeError(f"Node returned {type(result).__name__}, not outputs", "InternalError")
        declared = node.outputs
        total = 0
        for port, items in result.items():
            if port not in declared:
                result = {port: items for port, items in result.items() if port in declared}
                return self._checked(node, result)
            total += len(items)
        limit = self.ctx.limits.max_items_per_step
        if total > limit:
            raise LimitExceeded(f"Node produced {total} items; the limit is {limit} per step")
        return result

    def _should_retry(self, node: CompiledNode, error: NodeError, attempt: int) -> bool:
        """Return whether another attempt is allowed (tries left, retryable, time left)."""
        if attempt >= node.settings.max_tries or not error.retryable:
            return False
        left = self.time_left(self.ctx.now())
        return left is None or left > node.settings.wait_between_s

    def _failed(
        self,
        node: CompiledNode,
        inputs: Mapping[str, list[Item]],
        error: NodeError,
        started: datetime,
        attempt: int,
        logs: list[str],
    ) -> NodeRun:
        """Apply ``onError`` to a final failure and record the failed step."""
        mode = node.settings.on_error
        if isinstance(error, LimitExceeded | RunTimeout) or mode == "stop" or not node.outputs:
            outputs: Outputs = {}
        elif mode == "errorOutput":
            items = input_items(inputs) or [{"json": {}}]
            outputs = {ERROR_OUTPUT: [_with_error(item, error.message) for item in items]}
        else:
            outputs = {node.outputs[0]: [{"json": {"error": error.message}}]}
        step = self.record(node, inputs, outputs, started, FAILED, attempt, logs, error.to_dict())
        return NodeRun(step, outputs, error=None if outputs else error)

    def record(
        self,
        node: CompiledNode,
        inputs: Mapping[str, list[Item]],
        outputs: Outputs,
        started: datetime,
        status: str,
        attempt: int,
        logs: list[str] | None = None,
        error: dict[str, Any] | None = None,
    ) -> StepRecord:
        """Build the step record with stored (size-bounded) copies of inputs and outputs.

        Credential secrets used so far in the run are masked in what is stored (before the
        byte budget cuts anything, so no part of a secret is kept).
        """
        received = input_items(inputs)
        secrets = self.env.secrets
        if secrets:
            received, outputs = redact(received, secrets), redact(outputs, secrets)
            error, logs = redact(error, secrets), redact(logs, secrets)
        stored_in, _, cut_in = self.store.items(received)
        stored_out, cut_out = self.store.outputs(outputs)
        return StepRecord(
            node_id=node.id,
            node_name=node.name,
            node_type=node.type.type,
            status=status,
            attempt=attempt,
            started_at=started,
            finished_at=self.ctx.now(),
            input_items=stored_in,
            output=stored_out,
            error=error,
            truncated=cut_in or cut_out,
            logs=logs or [],
        )


def _with_error(item: Item, message: str) -> Item:
    """Return a copy of ``item`` whose JSON carries ``error``."""
    return {**item, "json": {**(item.get("json") or {}), "error": message}}
