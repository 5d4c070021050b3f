"""The Code node: Python in the real sandbox, JavaScript refused."""

from __future__ import annotations

from collections.abc import Callable

from fluxolab.engine import Limits, RunContext, run, run_node
from fluxolab.engine.sandbox import SandboxLimits
from tests.engine.helpers import chain, items, jsons, node

DOUBLE = """
print("doubling", len(items))
return [{"json": {**item["json"], "n": item["json"]["n"] * 2}} for item in items]
"""


def test_python_code_runs_in_the_sandbox_and_keeps_its_prints(ctx: RunContext) -> None:
    code = node("c", "code-execute", language="python", code=DOUBLE)
    result = run(chain(node("t", "manual"), code), items({"n": 2}, {"n": 5}), ctx)
    assert result.status == "succeeded", result.error
    assert jsons(result.output) == [{"n": 4}, {"n": 10}]
    assert any("doubling 2" in line for line in result.steps[1].logs)


def test_javascript_is_refused_with_a_pointer_to_python(ctx: RunContext) -> None:
    step = run_node(node("c", "code-execute", language="javascript", code="return data;"), [], ctx)
    assert step.status == "failed"
    assert step.error is not None
    assert step.error["type"] == "ValidationError"
    assert step.error["message"].endswith("Language 'javascript' is not supported; use python")


def test_code_error_fails_the_step_with_the_sandbox_message(
    make_ctx: Callable[..., RunContext],
) -> None:
    ctx = make_ctx(limits=Limits(code=SandboxLimits(wall_seconds=5)))
    step = run_node(node("c", "code-execute", code="return 1 / 0"), [], ctx)
    assert step.status == "failed"
    assert step.error is not None
    assert step.error["type"] == "CodeError"
    assert "ZeroDivisionError" in step.error["message"]


LEAVE_FILES = """
for path in ("/tmp/left-behind.txt", "left-behind.txt"):
    with open(path, "w") as handle:
        handle.write("from an earlier run")
return {"left": True}
"""
LOOK_FOR_FILES = """
import os
found = {}
for path in ("/tmp/left-behind.txt", "left-behind.txt", "/dev/shm/left-behind.txt"):
    try:
        found[path] = open(path).read()
    except OSError as exc:
        found[path] = type(exc).__name__
return found
"""


def test_a_later_run_of_another_workflow_sees_no_file_of_an_earlier_one(
    make_ctx: Callable[..., RunContext],
) -> None:
    first = make_ctx(execution_id="exec-a", workflow={"id": "wf-a", "name": "Workspace A"})
    second = make_ctx(execution_id="exec-b", workflow={"id": "wf-b", "name": "Workspace B"})
    leave = run(chain(node("t", "manual"), node("c", "code-execute", code=LEAVE_FILES)), [], first)
    assert leave.status == "succeeded", leave.error

    look = run(
        chain(node("t", "manual"), node("c", "code-execute", code=LOOK_FOR_FILES)), [], second
    )

    assert look.status == "succeeded", look.error
    assert set(jsons(look.output)[0].values()) == {"FileNotFoundError"}


def test_code_returning_more_items_than_a_step_holds_fails_in_the_sandbox(
    make_ctx: Callable[..., RunContext],
) -> None:
    # 500,000 small items fit in the 8 MiB reply; the child refuses them before sending any.
    ctx = make_ctx(limits=Limits(max_items_per_step=5, code=SandboxLimits(wall_seconds=5)))
    step = run_node(node("c", "code-execute", code="return [{} for _ in range(500_000)]"), [], ctx)
    assert step.status == "failed"
    assert step.error is not None
    assert step.error["type"] == "LimitExceeded"
    assert step.error["message"].endswith("Code returned 500000 items; the limit is 5 per step")
    assert step.output is None or not any(step.output.values())


def test_code_returning_exactly_the_item_limit_succeeds(
    make_ctx: Callable[..., RunContext],
) -> None:
    ctx = make_ctx(limits=Limits(max_items_per_step=5, code=SandboxLimits(wall_seconds=5)))
    step = run_node(node("c", "code-execute", code="return [{'n': n} for n in range(5)]"), [], ctx)
    assert step.status == "succeeded", step.error
