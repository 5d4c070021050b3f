"""The Loop Over Items node (n8n semantics): batches go out on ``loop``, results on ``done``.

The loop body connects back into the node; the runner delivers those results on the
``LOOP_RETURN`` input and runs the node again only once the whole body has finished.
"""

from __future__ import annotations

from fluxolab.engine.call import NodeCall
from fluxolab.engine.conditions import to_number
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import LOOP_RETURN, NodeType, Outputs
from fluxolab.engine.schemas import obj, prop


def _batch_size(call: NodeCall) -> int:
    """Return the rendered batch size as a positive int; raises NodeError otherwise."""
    value = call.params(0).get("batchSize")
    number = to_number(value)
    if number is None or number < 1 or not number.is_integer():
        raise NodeError(f"Field 'batchSize': {value!r} is not a positive integer")
    return int(number)


def run_loop(call: NodeCall) -> Outputs:
    """Emit the next batch on ``loop``; when none is left, emit what the body returned on ``done``.

    The node's state keeps the items still to send and the body results collected so far; the
    body's results arrive on the ``LOOP_RETURN`` input.
    """
    state = call.node_state
    size = _batch_size(call)
    returned = call.inputs.get(LOOP_RETURN) or []
    if "remaining" not in state:
        pending, collected = [*call.items, *returned], []
    else:
        pending, collected = state["remaining"], [*state["collected"], *returned]
    call.item_budget().take(len(collected))  # what 'done' will emit: stop as soon as it is too much
    if pending:
        state["remaining"], state["collected"] = pending[size:], collected
        return {"loop": pending[:size], "done": []}
    state.clear()
    return {"loop": [], "done": collected}


LOOP_OVER_ITEMS = NodeType(
    type="loop-over-items",
    name="Loop Over Items",
    description="Send items through the loop body in batches, then all results on 'done'",
    category="flow",
    icon="repeat",
    run=run_loop,
    config_schema=obj({"batchSize": prop("integer", "Batch size", minimum=1, default=1)}),
    outputs=("loop", "done"),
    loop=True,
)

NODE_TYPES = (LOOP_OVER_ITEMS,)
