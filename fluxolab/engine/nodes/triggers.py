"""Trigger nodes: manual, webhook, schedule, form, error; the chosen one emits the input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from croniter import CroniterError, croniter

from fluxolab.engine.call import NodeCall
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.schemas import array_of, choice, obj, prop
from fluxolab.engine.timeutil import timezone_issues

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")
# contract 8.2's four, plus Standard Webhooks signatures
WEBHOOK_AUTH_MODES = ("none", "basic", "bearer", "api-key", "hmac")
# contract 8.2's modes, ``via_node``, and the engine's aliases (contract 8.4)
RESPOND_MODES = ("immediately", "when_complete", "via_node", "never", "immediate", "on_last_node")


def emit_input(call: NodeCall) -> Outputs:
    """Emit the run's input items unchanged on ``main``."""
    return {"main": call.items}


def _schedule_issues(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Report an invalid cron expression or timezone."""
    issues = timezone_issues(params)
    cron = params.get("cron")
    if isinstance(cron, str) and cron.strip():
        if not croniter.is_valid(cron):
            issues.append(("cron", f"'{cron}' is not a valid cron expression"))
            return issues
        try:
            croniter(cron).get_next(float)
        except CroniterError:
            issues.append(("cron", f"'{cron}' never comes due (no such date)"))
    return issues


MANUAL = NodeType(
    type="manual",
    aliases=("trigger",),
    name="Manual Trigger",
    description="Start the workflow by clicking Execute",
    category="core",
    icon="mouse-pointer-click",
    run=emit_input,
    config_schema=obj({}),
    inputs=(),
    is_trigger=True,
)

WEBHOOK = NodeType(
    type="webhook",
    aliases=("webhook.in",),
    name="Webhook",
    description="Start the workflow when an HTTP request arrives",
    category="core",
    icon="webhook",
    run=emit_input,
    config_schema=obj(
        {
            "path": prop("string", "Path", default=""),
            "method": choice("HTTP method", HTTP_METHODS, "POST"),
            "methods": array_of(
                "Allowed methods (overrides the method)",
                {"type": "string", "enum": list(HTTP_METHODS)},
                uniqueItems=True,
            ),
            "authentication": choice("Authentication", WEBHOOK_AUTH_MODES, "none"),
            "credentialId": prop(["string", "null"], "Credential"),
            "respondMode": choice("Respond", RESPOND_MODES, "immediately"),
        },
        required=["path", "method"],
    ),
    credential_types=("http-basic", "http-bearer", "http-header", "webhook-hmac"),
    inputs=(),
    is_trigger=True,
)

SCHEDULE = NodeType(
    type="schedule",
    name="Schedule Trigger",
    description="Start the workflow at a regular interval or on a cron schedule",
    category="core",
    icon="clock",
    run=emit_input,
    config_schema=obj(
        {
            "interval": choice("Interval", ["minute", "hour", "day", "week", "month"], "hour"),
            "value": prop("integer", "Every", minimum=1, default=1),
            "timezone": prop("string", "Timezone", default="UTC"),
            "cron": prop("string", "Cron expression (overrides the interval)"),
        },
        required=["interval", "value"],
    ),
    inputs=(),
    is_trigger=True,
    check=_schedule_issues,
)

FORM_FIELD = obj(
    {
        "name": prop("string", "Field name", minLength=1),
        "label": prop("string", "Label"),
        "type": choice(
            "Type", ["text", "textarea", "number", "email", "date", "select", "checkbox"]
        ),
        "required": prop("boolean", "Required"),
        "options": array_of("Options", {"type": "string"}),
    },
    required=["name"],
)

FORM = NodeType(
    type="form",
    name="Form Trigger",
    description="Start the workflow when a form is submitted",
    category="human",
    icon="clipboard-list",
    run=emit_input,
    config_schema=obj(
        {
            "formName": prop("string", "Form name", minLength=1),
            "fields": array_of("Fields", FORM_FIELD, default=[]),
        },
        required=["formName"],
    ),
    inputs=(),
    is_trigger=True,
)

# Starts an error workflow: the item is ``{execution: {id, url, error, lastNodeExecuted, mode},
# workflow: {id, name}}`` of the production run that failed (fluxolab/errorflows/service.py).
ERROR_TRIGGER = NodeType(
    type="error-trigger",
    name="Error Trigger",
    description="Start the workflow when a production run of a workflow naming it fails",
    category="core",
    icon="alert-triangle",
    run=emit_input,
    config_schema=obj({}),
    inputs=(),
    is_trigger=True,
)

NODE_TYPES = (MANUAL, SCHEDULE, WEBHOOK, FORM, ERROR_TRIGGER)
