"""The Wait node: pause the run for a while or until a date.

It returns a ``WaitRequest``: the run stops with status "waiting" and a state, and
``run(..., resume=Resume(state))`` calls the node again with ``call.resume`` set, which passes the
items on. A resume time already in the past does not pause at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fluxolab.engine.call import NodeCall
from fluxolab.engine.conditions import non_negative
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import NodeResult, NodeType, WaitRequest
from fluxolab.engine.schemas import any_value, choice, obj, prop
from fluxolab.engine.timeutil import parse_datetime

UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86_400}


def _wait_until(call: NodeCall) -> datetime:
    """Return when the Wait node should resume: ``until``, else now + amount x unit."""
    params = call.params(0)
    if params.get("until") not in (None, ""):
        return parse_datetime(params["until"], "until")
    unit = UNIT_SECONDS.get(str(params.get("unit")))
    if unit is None:
        raise NodeError(f"Field 'unit': {params.get('unit')!r} is not one of {list(UNIT_SECONDS)}")
    seconds = non_negative(params.get("amount"), "amount") * unit
    try:
        return call.now + timedelta(seconds=seconds)
    except OverflowError as exc:
        raise NodeError("Field 'amount': the wait is too long") from exc


def run_wait(call: NodeCall) -> NodeResult:
    """Pause until the resume time (no pause when it has passed); on resume pass items on."""
    if call.resume is not None:
        return {"main": call.items}
    until = _wait_until(call)
    if until <= call.now:
        return {"main": call.items}
    return WaitRequest("wait", until)


WAIT = NodeType(
    type="wait",
    name="Wait",
    description="Pause the workflow for a while or until a date",
    category="flow",
    icon="hourglass",
    run=run_wait,
    config_schema=obj(
        {
            "amount": prop("number", "Wait amount", minimum=0, default=1),
            "unit": choice("Unit", list(UNIT_SECONDS), "hours"),
            "until": any_value("Resume at (date; overrides the amount)"),
        }
    ),
)

NODE_TYPES = (WAIT,)
