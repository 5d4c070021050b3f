"""Core nodes: No-Op, Stop and Error, Respond to Webhook."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluxolab.engine.call import NodeCall
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.schemas import any_value, obj, prop

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"


def run_no_op(call: NodeCall) -> Outputs:
    """Pass the input items through untouched."""
    return {"main": call.items}


def run_stop_and_error(call: NodeCall) -> Outputs:
    """Fail the node (and so the run, unless its settings continue) with the given message."""
    message = call.params(0).get("message")
    raise NodeError(
        str(message) if message not in (None, "") else "Workflow stopped", "StopAndError"
    )


def _status(value: Any) -> int:
    """Return a valid HTTP status code from a rendered value; raises NodeError."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise NodeError(f"Field 'status': {value!r} is not an HTTP status code (100-599)")
    return value


def _headers(value: Any) -> dict[str, str]:
    """Return the response headers as text; raises NodeError when they are not an object."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise NodeError("Field 'headers': must be an object of header names to values")
    return {str(name): str(text) for name, text in value.items()}


def _body(call: NodeCall, params: Mapping[str, Any]) -> tuple[Any, str]:
    """Return the body and its default content type: json, text, body, else the first item."""
    if params.get("json") is not None:
        return params["json"], JSON_TYPE
    if params.get("text") is not None:
        return str(params["text"]), TEXT_TYPE
    if params.get("body") is not None:
        body = params["body"]
        return body, TEXT_TYPE if isinstance(body, str) else JSON_TYPE
    return (call.items[0].get("json") if call.items else None), JSON_TYPE


def run_respond(call: NodeCall) -> Outputs:
    """Record the webhook response (only the first one counts) and pass the items through."""
    params = call.params(0)
    headers = _headers(params.get("headers"))
    body, content_type = _body(call, params)
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = content_type
    if not call.respond(
        {"status": _status(params.get("status")), "headers": headers, "body": body}
    ):
        call.logs.append("A response was already sent; this one was ignored")
    return {"main": call.items}


NO_OP = NodeType(
    type="no-op",
    name="No Operation",
    description="Do nothing; pass the items through",
    category="core",
    icon="arrow-right",
    run=run_no_op,
    config_schema=obj({}),
)

STOP_AND_ERROR = NodeType(
    type="stop-and-error",
    name="Stop and Error",
    description="Fail the execution with a message",
    category="flow",
    icon="octagon-x",
    run=run_stop_and_error,
    config_schema=obj({"message": prop("string", "Error message")}, required=["message"]),
)

RESPOND_TO_WEBHOOK = NodeType(
    type="respond-to-webhook",
    aliases=("webhook.respond",),
    name="Respond to Webhook",
    description="Answer the HTTP caller that started the workflow",
    category="core",
    icon="reply",
    run=run_respond,
    config_schema=obj(
        {
            "status": prop("integer", "Status code", minimum=100, maximum=599, default=200),
            "headers": prop("object", "Headers", additionalProperties={"type": "string"}),
            "json": any_value("JSON body"),
            "text": prop("string", "Text body"),
            "body": any_value("Body"),
        }
    ),
    side_effects=True,
)

NODE_TYPES = (NO_OP, STOP_AND_ERROR, RESPOND_TO_WEBHOOK)
