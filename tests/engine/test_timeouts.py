"""Node and run timeouts interrupt the node that is running, not only the gaps between nodes."""

from __future__ import annotations

import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fluxolab.engine import Limits, RunContext, RunResult, deadline, run, run_node
from fluxolab.engine.call import NodeCall
from fluxolab.engine.context import utc_now
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.registry import registry
from fluxolab.engine.schemas import obj
from tests.engine.helpers import chain, items, node

BUSY_FOR_S = 4.0  # how long the busy node would run if nothing stopped it
SLACK_S = 1.0  # the interrupt must land within this much of the limit
attempts: list[dict[str, Any]] = []  # the loop state each busy-loop attempt started with


def spin(call: NodeCall) -> Outputs:
    """Busy-loop in Python for BUSY_FOR_S seconds, swallowing every ordinary exception."""
    until = time.monotonic() + BUSY_FOR_S
    spins = 0
    while time.monotonic() < until:
        try:
            spins += 1
        except Exception:  # noqa: S112  (catching everything cannot keep the interrupt)
            continue
    return {"main": call.items}


def spin_in_a_callback_first(call: NodeCall) -> Outputs:
    """Spin inside a weakref callback past the 300 ms mark, then in the node itself."""
    started = time.monotonic()

    def callback(ref: object) -> None:
        """Busy until 0.35 s: an exception raised here is printed and dropped by Python."""
        while time.monotonic() < started + 0.35:
            pass

    dropped = Dropped()
    reference = weakref.ref(dropped, callback)
    del dropped  # the callback runs now
    assert reference() is None
    return spin(call)


class Dropped:
    """Something a weak reference can point at."""


def spin_writing_state(call: NodeCall) -> Outputs:
    """Record the loop state it was given, write half of a new one, then busy-loop."""
    state = call.node_state
    attempts.append(dict(state))
    state["half"] = "written"
    return spin(call)


BUSY = NodeType(
    type="test-busy",
    name="Busy",
    description="Spins in Python (tests only)",
    category="core",
    icon="cpu",
    run=spin,
    config_schema=obj({}),
)
BUSY_CALLBACK = NodeType(
    type="test-busy-callback",
    name="Busy in a callback",
    description="Spins in a weakref callback, then in the node (tests only)",
    category="core",
    icon="cpu",
    run=spin_in_a_callback_first,
    config_schema=obj({}),
)
BUSY_STATEFUL = NodeType(
    type="test-busy-state",
    name="Busy with state",
    description="Writes loop state, then spins (tests only)",
    category="core",
    icon="cpu",
    run=spin_writing_state,
    config_schema=obj({}),
)


@pytest.fixture(autouse=True)
def busy_nodes() -> Iterator[None]:
    """Register the test-only node types for the length of one test."""
    attempts.clear()
    for node_type in (BUSY, BUSY_CALLBACK, BUSY_STATEFUL):
        registry.add(node_type)
    yield
    for node_type in (BUSY, BUSY_CALLBACK, BUSY_STATEFUL):
        registry._types.pop(node_type.type)
        registry._lookup.pop(node_type.type)


@pytest.fixture
def real_ctx(make_ctx: Callable[..., RunContext]) -> Callable[..., RunContext]:
    """Return a factory of run contexts on the real clock (interrupts are real time)."""
    return lambda **overrides: make_ctx(now=utc_now, sleep=time.sleep, **overrides)


def busy(node_id: str = "busy", node_type: str = "test-busy", **settings: Any) -> dict[str, Any]:
    """Return a busy node definition with these settings."""
    return {**node(node_id, node_type), "settings": settings}


def timed(definition: dict[str, Any], ctx: RunContext) -> tuple[RunResult, float]:
    """Run the definition; return the result and how long the run took."""
    started = time.monotonic()
    result = run(definition, items({"n": 1}), ctx)
    return result, time.monotonic() - started


def test_node_timeout_interrupts_a_node_busy_in_python(
    real_ctx: Callable[..., RunContext],
) -> None:
    definition = chain(node("t", "manual"), busy(timeoutMs=300), node("after", "no-op"))
    result, took = timed(definition, real_ctx())
    assert 0.3 <= took < 0.3 + SLACK_S
    assert result.status == "timed_out"
    assert result.error == {
        "message": "Node timed out after 300 ms",
        "nodeId": "busy",
        "nodeName": "busy",
        "type": "NodeTimeout",
    }
    step = result.steps[-1]
    assert (step.node_id, step.status) == ("busy", "failed")
    assert step.error == {"message": "Node timed out after 300 ms", "type": "NodeTimeout"}
    assert [step.node_id for step in result.steps] == ["t", "busy"]


def test_an_interrupt_lost_in_a_weakref_callback_is_raised_again(
    real_ctx: Callable[..., RunContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    lost: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda raised: lost.append(raised.exc_value))
    definition = chain(node("t", "manual"), busy(node_type="test-busy-callback", timeoutMs=300))
    result, took = timed(definition, real_ctx())
    assert len(lost) == 1  # the first interrupt landed in the callback and was dropped
    assert took < 0.3 + SLACK_S
    assert result.status == "timed_out"
    assert result.error is not None
    assert result.error["type"] == "NodeTimeout"


def test_run_timeout_interrupts_the_node_that_is_running(
    real_ctx: Callable[..., RunContext],
) -> None:
    definition = chain(node("t", "manual"), busy(), node("after", "no-op"))
    result, took = timed(definition, real_ctx(limits=Limits(run_timeout_s=0.5)))
    assert 0.5 <= took < 0.5 + SLACK_S
    assert result.status == "timed_out"
    assert result.error is not None
    assert result.error["type"] == "Timeout"
    assert result.error["nodeId"] == "busy"
    assert result.error["message"] == "Execution timed out after 0.5 s (in node 'busy')"
    assert result.steps[-1].error is not None
    assert result.steps[-1].error["type"] == "Timeout"


def test_the_nearer_of_node_and_run_timeout_interrupts(
    real_ctx: Callable[..., RunContext],
) -> None:
    definition = chain(node("t", "manual"), busy(timeoutMs=3000))
    result, took = timed(definition, real_ctx(limits=Limits(run_timeout_s=0.4)))
    assert took < 0.4 + SLACK_S
    assert result.error is not None
    assert result.error["type"] == "Timeout"


def test_run_timeout_is_not_continued_by_on_error_continue(
    real_ctx: Callable[..., RunContext],
) -> None:
    definition = chain(node("t", "manual"), busy(onError="continue"), node("after", "no-op"))
    result, _ = timed(definition, real_ctx(limits=Limits(run_timeout_s=0.4)))
    assert result.status == "timed_out"
    assert [step.node_id for step in result.steps] == ["t", "busy"]


def test_an_interrupted_node_is_retried_like_any_timed_out_node(
    real_ctx: Callable[..., RunContext],
) -> None:
    slow = busy(timeoutMs=200, retryOnFail=True, maxTries=2, waitBetweenTries=0)
    result, took = timed(chain(node("t", "manual"), slow), real_ctx())
    assert took < 2 * 0.2 + SLACK_S
    assert result.status == "timed_out"
    assert result.steps[-1].attempt == 2


def test_a_timed_out_node_with_continue_lets_the_run_go_on(
    real_ctx: Callable[..., RunContext],
) -> None:
    slow = busy(timeoutMs=200, onError="continue")
    definition = chain(node("t", "manual"), slow, node("after", "no-op"))
    result, took = timed(definition, real_ctx())
    assert took < 0.2 + SLACK_S
    assert result.status == "succeeded"
    assert [step.status for step in result.steps] == ["succeeded", "failed", "succeeded"]
    assert result.output == [{"json": {"error": "Node timed out after 200 ms"}}]


def test_an_interrupt_puts_back_the_node_state_it_half_wrote(
    real_ctx: Callable[..., RunContext],
) -> None:
    slow = busy("s", "test-busy-state", timeoutMs=200, retryOnFail=True, maxTries=2)
    slow["settings"]["waitBetweenTries"] = 0
    result, _ = timed(chain(node("t", "manual"), slow), real_ctx())
    assert result.status == "timed_out"
    assert attempts == [{}, {}]  # the retry did not see the first attempt's half-written state


def test_a_single_node_test_is_interrupted_too(real_ctx: Callable[..., RunContext]) -> None:
    started = time.monotonic()
    step = run_node(busy(timeoutMs=300), items({"n": 1}), real_ctx())
    assert time.monotonic() - started < 0.3 + SLACK_S
    assert step.status == "failed"
    assert step.error == {"message": "Node timed out after 300 ms", "type": "NodeTimeout"}


def test_a_code_node_is_bounded_by_the_time_the_run_has_left(
    real_ctx: Callable[..., RunContext],
) -> None:
    code = node("c", "code-execute", language="python", code="while True:\n    pass")
    ctx = real_ctx(limits=Limits(run_timeout_s=0.6))
    result, took = timed(chain(node("t", "manual"), code), ctx)
    assert took < 0.6 + SLACK_S
    assert result.status == "timed_out"
    assert result.error is not None
    assert result.error["nodeId"] == "c"


def test_the_timer_is_given_back_after_a_run() -> None:
    handler = signal.getsignal(signal.SIGALRM)
    before = signal.getitimer(signal.ITIMER_REAL)[0]
    ctx = RunContext(execution_id="e", workflow={})
    run(chain(node("t", "manual"), busy(timeoutMs=100)), [], ctx)
    assert signal.getsignal(signal.SIGALRM) is handler
    left = signal.getitimer(signal.ITIMER_REAL)[0]
    assert (left == 0.0) if before == 0.0 else (before - 5 < left <= before)


def test_outside_the_main_thread_the_timeout_is_checked_when_the_node_returns(
    real_ctx: Callable[..., RunContext],
) -> None:
    results: list[RunResult] = []
    definition = chain(node("t", "manual"), busy(timeoutMs=300))
    worker = threading.Thread(target=lambda: results.append(run(definition, [], real_ctx())))
    worker.start()
    worker.join(timeout=BUSY_FOR_S + 10)
    [result] = results
    assert result.status == "timed_out"
    assert result.error is not None
    assert result.error["type"] == "NodeTimeout"


def test_nested_bounds_each_raise_at_their_own_edge() -> None:
    started = time.monotonic()
    with pytest.raises(deadline.Expired) as caught, deadline.bounded(1.0):
        with pytest.raises(deadline.Expired), deadline.bounded(0.1):
            time.sleep(2)
        inner = time.monotonic() - started
        time.sleep(0.2)  # the outer bound is still armed after the inner one expired
        with deadline.bounded(0.1):
            pass
        time.sleep(10)
    assert caught.value.seconds == 1.0
    assert time.monotonic() - started < 1.0 + SLACK_S
    assert 0.1 <= inner < 0.6


def test_a_shielded_block_defers_the_interrupt_to_its_end() -> None:
    started = time.monotonic()
    finished = False
    with pytest.raises(deadline.Expired), deadline.bounded(0.1):
        with deadline.shielded():
            time.sleep(0.4)
            finished = True
        time.sleep(5)
    assert finished
    assert 0.4 <= time.monotonic() - started < 1.0


def test_a_limit_that_may_not_wait_fires_inside_a_shielded_block() -> None:
    def fire() -> None:
        raise RuntimeError("hard limit")

    started = time.monotonic()
    with (
        pytest.raises(RuntimeError, match="hard limit"),
        deadline.limit(0.1, fire, deferrable=False),
        deadline.shielded(),
    ):
        time.sleep(2)
    assert time.monotonic() - started < 0.1 + SLACK_S
