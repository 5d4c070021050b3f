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
