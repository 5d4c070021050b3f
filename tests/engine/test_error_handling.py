"""Per-node settings (retry, continue, error output, timeout) and per-run limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fluxolab.engine import Limits, RunContext, run
from fluxolab.engine.storage import TRUNCATED_KEY
from tests.engine.conftest import START, FakeClock
from tests.engine.helpers import chain, items, jsons, node

RECOVERS_AT_MS = int(START.timestamp() * 1000) + 1500
FLAKY_VALUE = f'{{{{ $now.toMillis() >= {RECOVERS_AT_MS} ? "ok" : $json.nothing.toFixed(1) }}}}'


def with_settings(node_def: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {**node_def, "settings": settings}


def failing(**settings: Any) -> dict[str, Any]:
    return with_settings(node("s", "stop-and-error", message="boom"), **settings)


def flaky(**settings: Any) -> dict[str, Any]:
    """A Set node whose expression fails until the fake clock passes START + 1.5 s."""
    return with_settings(node("s", "set", fields=[{"name": "v", "value": FLAKY_VALUE}]), **settings)


def test_retry_succeeds_on_a_later_attempt(ctx: RunContext, clock: FakeClock) -> None:
    definition = chain(node("t", "manual"), flaky(retryOnFail=True, maxTries=5))
    result = run(definition, [], ctx)
    assert result.status == "succeeded"
    assert result.steps[1].attempt == 3
    assert clock.sleeps == [1.0, 1.0]
    assert jsons(result.output) == [{"v": "ok"}]


def test_retry_gives_up_after_max_tries_waiting_between(ctx: RunContext, clock: FakeClock) -> None:
    definition = chain(
        node("t", "manual"), failing(retryOnFail=True, maxTries=4, waitBetweenTries=250)
    )
    result = run(definition, [], ctx)
    assert result.status == "failed"
    assert result.steps[1].attempt == 4
    assert clock.sleeps == [0.25, 0.25, 0.25]


def test_retry_default_is_three_tries(ctx: RunContext, clock: FakeClock) -> None:
    result = run(chain(node("t", "manual"), failing(retryOnFail=True)), [], ctx)
    assert result.steps[1].attempt == 3
    assert clock.sleeps == [1.0, 1.0]


def test_no_retry_without_retry_on_fail(ctx: RunContext, clock: FakeClock) -> None:
    result = run(chain(node("t", "manual"), failing(maxTries=5)), [], ctx)
    assert result.steps[1].attempt == 1
    assert clock.sleeps == []


def test_continue_on_fail_emits_the_error_as_an_item(ctx: RunContext) -> None:
    definition = chain(node("t", "manual"), failing(continueOnFail=True), node("n", "no-op"))
    result = run(definition, [], ctx)
    assert result.status == "succeeded"
    assert jsons(result.output) == [{"error": "boom"}]
    failed_step = result.steps[1]
    assert failed_step.status == "failed"
    assert failed_step.error == {"message": "boom", "type": "StopAndError"}


def test_on_error_continue_behaves_like_continue_on_fail(ctx: RunContext) -> None:
    definition = chain(node("t", "manual"), failing(onError="continue"), node("n", "no-op"))
    assert jsons(run(definition, [], ctx).output) == [{"error": "boom"}]


def test_on_error_stop_overrides_continue_on_fail(ctx: RunContext) -> None:
    definition = chain(node("t", "manual"), failing(onError="stop", continueOnFail=True))
    assert run(definition, [], ctx).status == "failed"


def test_error_output_receives_the_input_items_with_the_error(ctx: RunContext) -> None:
    definition = {
        "nodes": [
            node("t", "manual"),
            failing(onError="errorOutput"),
            node("ok", "no-op"),
            node("handler", "no-op"),
        ],
        "connections": [
            {"from": "t", "to": "s"},
            {"from": "s", "to": "ok"},
            {"from": "s", "output": "error", "to": "handler"},
        ],
    }
    result = run(definition, items({"id": 7}), ctx)
    assert result.status == "succeeded"
    assert [step.node_id for step in result.steps] == ["t", "s", "handler"]
    assert jsons(result.output) == [{"id": 7, "error": "boom"}]


def test_node_timeout_ends_the_run_timed_out_naming_the_node(
    make_ctx: Callable[..., RunContext], clock: FakeClock
) -> None:
    clock.tick_s = 0.5  # every clock read moves time on: the node "takes" half a second
    slow = with_settings(node("n", "no-op"), timeoutMs=100)
    result = run(chain(node("t", "manual"), slow), [], make_ctx())
    assert result.status == "timed_out"
    assert result.error is not None
    assert result.error["nodeId"] == "n"
    assert result.error["type"] == "NodeTimeout"
    assert result.error["message"] == "Node timed out after 100 ms"


def test_run_timeout_stops_before_the_next_node(
    make_ctx: Callable[..., RunContext], clock: FakeClock
) -> None:
    clock.tick_s = 4.0
    ctx = make_ctx(limits=Limits(run_timeout_s=10))
    nodes = [node("t", "manual"), *(node(f"n{i}", "no-op") for i in range(5))]
    result = run(chain(*nodes), [], ctx)
    assert result.status == "timed_out"
    assert result.error is not None
    assert result.error["type"] == "Timeout"
    assert result.error["nodeId"] == f"n{len(result.steps) - 1}"
    assert len(result.steps) < len(nodes)


def test_cancellation_is_checked_before_each_node(make_ctx: Callable[..., RunContext]) -> None:
    calls: list[int] = []

    def should_cancel() -> bool:
        calls.append(1)
        return len(calls) > 2

    nodes = [node("t", "manual"), node("a", "no-op"), node("b", "no-op"), node("c", "no-op")]
    result = run(chain(*nodes), [], make_ctx(should_cancel=should_cancel))
    assert result.status == "canceled"
    assert [step.node_id for step in result.steps] == ["t", "a"]
    assert result.error is not None
    assert result.error["nodeId"] == "b"


def test_too_many_items_fail_the_step_without_retry_or_continue(
    make_ctx: Callable[..., RunContext], clock: FakeClock
) -> None:
    split = with_settings(
        node("s", "split-out", field="list"), retryOnFail=True, continueOnFail=True
    )
    ctx = make_ctx(limits=Limits(max_items_per_step=3))
    result = run(chain(node("t", "manual"), split), items({"list": [1, 2, 3, 4]}), ctx)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["message"] == "Node produced more than 3 items; the limit is 3 per step"
    assert result.steps[1].attempt == 1
    assert clock.sleeps == []


def test_large_steps_are_stored_truncated_but_flow_whole(
    make_ctx: Callable[..., RunContext],
) -> None:
    ctx = make_ctx(limits=Limits(max_step_bytes=1000))
    rows = [{"row": index, "text": "x" * 50} for index in range(40)]
    definition = chain(
        node("t", "manual"), node("s", "split-out", field="rows"), node("n", "no-op")
    )
    result = run(definition, items({"rows": rows}), ctx)
    step = result.steps[1]
    assert step.truncated is True
    stored = step.output["main"]
    assert stored[-1]["json"][TRUNCATED_KEY]["items"] == 40 - (len(stored) - 1)
    assert stored[-1]["json"][TRUNCATED_KEY]["bytes"] > 0
    assert len(result.output) == 40
    assert result.steps[2].input_items[-1]["json"].get(TRUNCATED_KEY)
