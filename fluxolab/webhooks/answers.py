"""What a webhook call is answered, by the webhook's response mode.

- ``immediately``: 202 ``{status:"accepted", executionId, statusUrl}`` as soon as the call
  is stored;
- ``never``: 204, no body;
- ``when_complete``: wait (bounded by ``WEBHOOK_WAIT_SECONDS``, holding no database
  connection, woken by the worker's completion signal) and answer 200 ``{status:
  "completed", executionId, data}`` with the last node's items, 500 ``execution_failed``
  when the run failed, or the 202 above when it takes longer;
- ``via_node``: wait the same way for the Respond to Webhook node, whose status, headers
  and body are the answer (the run goes on); a run that ends without one is answered as
  ``when_complete``.

Over the per-process cap of waiting callers (``MAX_WAITERS_PER_PROCESS``) a waiting mode
answers 202 at once, so waiting callers never take all of the server's threads.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError

from fluxolab import completion
from fluxolab.errors import NotFound
from fluxolab.extensions import db
from fluxolab.models import FINISHED_STATUSES, Execution, WebhookLog
from fluxolab.triggers import starts, tokens, urls
from fluxolab.triggers.lookup import ActiveTrigger

log = logging.getLogger(__name__)
WAITING_MODES = ("when_complete", "via_node")
# headers a Respond to Webhook node cannot set: the server owns framing and connection, and
# the API's origin must not get cookies, CORS grants or security policies from a workflow
_REFUSED_HEADERS = frozenset(
    {
        "connection", "content-length", "keep-alive", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "date", "server",
        "set-cookie", "content-security-policy", "strict-transport-security",
        "x-content-type-options", "x-frame-options",
    }
)  # fmt: skip
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]{0,8192}")
# what every node answer carries: its body is the workflow's, never a page of the API's origin
NODE_REPLY_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


def _safe_header(name: str, value: str) -> bool:
    lower = name.lower()
    if lower in _REFUSED_HEADERS or lower.startswith("access-control-"):
        return False
    return bool(_HEADER_NAME.fullmatch(name) and _HEADER_VALUE.fullmatch(value))


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, body (JSON value, text or None) and extra headers."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None
    execution_id: uuid.UUID | None = None  # the run the call started (not sent as a header)

    def logged_body(self) -> dict[str, Any] | None:
        """The body as the call log keeps it: token masked, cut to ``WEBHOOK_LOG_BODY_CHARS``.

        Viewers read the logs, so the ``statusUrl`` (which holds the token) is masked; a
        large result is kept as its first characters (``truncated``).
        """
        body = self.body
        if body is None:
            return None
        if isinstance(body, dict) and "statusUrl" in body:
            body = {**body, "statusUrl": tokens.mask_in_path(str(body["statusUrl"]))}
        limit = int(current_app.config["WEBHOOK_LOG_BODY_CHARS"])
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
        if len(text) > limit:
            return {"truncated": True, "body": text[:limit]}
        return body if isinstance(body, dict) else {"body": body}


def accepted(token: str, execution_id: uuid.UUID) -> dict[str, Any]:
    """The 202 body: where the caller can poll the run it started."""
    return {
        "status": "accepted",
        "executionId": str(execution_id),
        "statusUrl": urls.absolute(urls.status_path(token, execution_id)),
    }


def _first_answer(mode: str, token: str, execution_id: uuid.UUID) -> Reply:
    if mode == "never":
        return Reply(204)
    return Reply(202, accepted(token, execution_id))


def start_and_answer(
    trigger: ActiveTrigger,
    token: str,
    item: dict[str, Any],
    log: starts.CallLog,
    *,
    idempotency_key: str | None,
    request_hash: str,
    elapsed_ms: Callable[[], int],
) -> Reply:
    """Store the call and its run (``triggers.starts``), then answer by response mode."""
    mode = trigger.response_mode
    wait_s = float(current_app.config["WEBHOOK_WAIT_SECONDS"])
    execution_id = uuid.uuid4()
    waiter = None
    if mode in WAITING_MODES and wait_s > 0:
        waiter = completion.hub().register(completion.execution_key(execution_id))
    try:
        first = _first_answer(mode, token, execution_id)
        started = starts.start(
            trigger,
            item,
            log.answered(first.status, first.logged_body(), elapsed_ms()),
            answer=lambda new_id: _first_answer(mode, token, new_id).logged_body(),
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            charge=log.mode != "test",
            execution_id=execution_id,
        )
        run_id = started.execution.id
        if started.duplicate:
            reply = _ready(mode, run_id) or _first_answer(mode, token, run_id)
        elif waiter is None:
            reply = first
        else:
            reply = _after_commit(mode, token, run_id, waiter, wait_s, started.log_id, elapsed_ms)
        return replace(reply, execution_id=run_id)
    finally:
        if waiter is not None:
            waiter.close()


def _after_commit(
    mode: str,
    token: str,
    execution_id: uuid.UUID,
    waiter: completion.Waiter,
    wait_s: float,
    log_id: uuid.UUID,
    elapsed_ms: Callable[[], int],
) -> Reply:
    """Wait for the answer and log it; the call is accepted, so a database error is a 202."""
    try:
        reply = _wait(mode, token, execution_id, waiter, wait_s)
        starts.answer_logged(log_id, reply.status, reply.logged_body(), elapsed_ms())
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("execution %s: could not read its answer; answering 202", execution_id)
        return Reply(202, accepted(token, execution_id))
    return reply


def _wait(
    mode: str, token: str, execution_id: uuid.UUID, waiter: completion.Waiter, wait_s: float
) -> Reply:
    db.session.close()  # never wait holding a connection

    def read() -> Reply | None:
        reply = _ready(mode, execution_id)
        db.session.close()
        return reply

    reply = completion.wait_for(waiter, wait_s, read, lambda found: found is not None)
    return reply or Reply(202, accepted(token, execution_id))


def _ready(mode: str, execution_id: uuid.UUID) -> Reply | None:
    """The answer once it is known (a response recorded, or the run ended), else None."""
    row = db.session.execute(
        select(Execution.status, Execution.response, Execution.output_items).where(
            Execution.id == execution_id
        )
    ).first()
    if row is None:
        return None
    if mode == "via_node" and row.response is not None:
        return node_reply(row.response)
    if mode not in WAITING_MODES or row.status not in FINISHED_STATUSES:
        return None
    return finished_reply(execution_id, row.status, row.output_items)


def item_data(items: Any) -> list[Any]:
    """The JSON of a node's output items (binary parts left out)."""
    if not isinstance(items, list):
        return []
    return [item.get("json") if isinstance(item, dict) else item for item in items]


def finished_reply(execution_id: uuid.UUID, status: str, items: Any) -> Reply:
    """200 with the last node's items for a succeeded run, 500 ``execution_failed`` else."""
    if status == "succeeded":
        done = {"status": "completed", "executionId": str(execution_id), "data": item_data(items)}
        return Reply(200, done)
    body: dict[str, Any] = {
        "status": "error",
        "message": "A execucao do workflow nao terminou com sucesso.",
        "code": "execution_failed",
        "errors": {},
        "executionId": str(execution_id),
        "executionStatus": status,
    }
    return Reply(500, body)


def node_reply(response: Mapping[str, Any]) -> Reply:
    """The answer a Respond to Webhook node recorded: status, safe headers, body."""
    status = response.get("status")
    status = status if isinstance(status, int) and 200 <= status <= 599 else 200
    given = response.get("headers")
    headers = {
        str(name): str(value)
        for name, value in (given.items() if isinstance(given, Mapping) else ())
        if _safe_header(str(name), str(value))
    }
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    body = response.get("body")
    if status in (204, 304):
        body = None
    return Reply(status, body, {**headers, **NODE_REPLY_HEADERS}, content_type)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def status_of(trigger: ActiveTrigger, execution_id: uuid.UUID) -> Reply:
    """The status (and, once finished, the result) of a run this webhook started."""
    row = db.session.execute(
        select(
            Execution.status,
            Execution.output_items,
            Execution.error,
            Execution.started_at,
            Execution.finished_at,
            Execution.duration_ms,
        ).where(
            Execution.id == execution_id,
            Execution.workspace_id == trigger.workspace_id,
            exists().where(
                WebhookLog.execution_id == Execution.id, WebhookLog.webhook_id == trigger.id
            ),
        )
    ).first()
    if row is None:
        raise NotFound("Execucao nao encontrada.")
    body: dict[str, Any] = {
        "executionId": str(execution_id),
        "status": row.status,
        "startedAt": _iso(row.started_at),
        "finishedAt": _iso(row.finished_at),
        "durationMs": row.duration_ms,
    }
    if row.status == "succeeded":
        body["data"] = item_data(row.output_items)
    elif row.status in FINISHED_STATUSES and row.error:
        body["error"] = {"message": str(row.error.get("message") or "")}
    return Reply(200, body)
