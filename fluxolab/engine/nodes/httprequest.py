"""The HTTP Request node: one request per input item, through the run's egress guard.

Each item's params are rendered (and its credential looked up) on the calling thread, then
the requests are sent one after another or, with ``concurrency`` > 1, by a small thread
pool. The engine's deadline interrupt (``SIGALRM``) only reaches the main thread, which
waits on the pool's futures, so it lands there; every request's own timeout is also cut to
the node's time left, so the pool's threads end by the same deadline, and once the node has
ended (failed, interrupted) queued requests are cancelled and no thread starts a retry.

Answers 429 and 500/502/503/504 are retried ``retries`` times, waiting ``Retry-After``
(seconds or an HTTP date) or 1, 2, 4 ... s, never past the node's deadline. An OAuth2
credential answered 401 gets a fresh token and its request is sent once more. A 4xx/5xx
answer fails the node with its status and a body excerpt unless ``neverError`` is set.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from fluxolab.egress import EgressDenied, EgressError
from fluxolab.engine import httpauth
from fluxolab.engine.call import NodeCall
from fluxolab.engine.context import Item
from fluxolab.engine.credentials import Credential
from fluxolab.engine.errors import NodeError, NodeTimeout
from fluxolab.engine.nodes.httpio import (
    body_args,
    headers_of,
    output_item,
    query_of,
    status_error,
)
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.schemas import any_value, choice, obj, prop

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
BODY_TYPES = ("json", "form", "raw", "multipart")
RESPONSE_FORMATS = ("auto", "json", "text", "binary")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_WAIT_S = 60.0
MAX_CONCURRENCY = 10
_NO_AUTH = httpauth.AuthParts()


@dataclass(frozen=True)
class Job:
    """One request to send: the item's rendered params, the item and its credential."""

    index: int
    params: Mapping[str, Any]
    item: Item
    credential: Credential | None


def retry_after(value: str | None, now: datetime) -> float | None:
    """Return the seconds a ``Retry-After`` header asks to wait (None when unreadable)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max((moment - now).total_seconds(), 0.0)


class Sender:
    """Sends the jobs of one node call; shared by the pool's threads."""

    def __init__(self, call: NodeCall) -> None:
        self.egress = call.egress
        self.sleep: Callable[[float], None] = call.ctx.sleep
        self.now = call.ctx.now
        self.node_name = call.node.name
        left = call.deadline_s
        self.deadline_at = None if left is None else time.monotonic() + left
        self.stop = threading.Event()  # set once the node has ended: start nothing more
        self.secrets: set[str] = set()  # fetched tokens, redacted like stored secrets
        self.logs: list[str] = []

    def left(self) -> float | None:
        """Return the seconds the node has left (None: unbounded)."""
        return None if self.deadline_at is None else self.deadline_at - time.monotonic()

    def send(self, job: Job) -> Item:
        """Send one job (with its retries) and return its output item; raises NodeError."""
        params = job.params
        url = str(params.get("url") or "").strip()
        if not url:
            raise NodeError("Field 'url': no URL given")
        method = str(params.get("method") or "GET").upper()
        headers = headers_of(params.get("headers"))
        body = body_args(params, job.item, headers)
        request = {"headers": headers, "params": query_of(params.get("query")), **body}
        retries = int(params.get("retries") or 0)
        auth = self._auth(job.credential)
        refreshed, attempt = False, 0
        while True:
            response = self._send_once(method, url, request, auth, params)
            status = response.status_code
            if status == 401 and not refreshed and job.credential and _is_oauth2(job.credential):
                refreshed = True
                httpauth.invalidate(job.credential)
                auth = self._auth(job.credential)
                continue
            delay = self._retry_delay(response, attempt) if attempt < retries else None
            if status not in RETRY_STATUSES or delay is None:
                break
            attempt += 1
            self.logs.append(
                f"Item {job.index}: status {status}, retry {attempt}/{retries} in {delay:g} s"
            )
            self.sleep(delay)
        if status >= 400 and not params.get("neverError"):
            raise status_error(response)
        return output_item(response, params)

    def _auth(self, credential: Credential | None) -> httpauth.AuthParts:
        """Return what the credential adds to the request; raises NodeError naming the node."""
        if credential is None:
            return _NO_AUTH
        try:
            parts = httpauth.apply(credential, self.egress, self.left())
        except httpauth.HttpAuthError as exc:
            raise NodeError(f"Node '{self.node_name}': {exc.message}", "CredentialError") from exc
        self.secrets.update(parts.secrets)
        return parts

    def _timeout(self, params: Mapping[str, Any]) -> float | None:
        """Return this request's timeout: ``timeoutMs`` cut to the node's time left."""
        asked = params.get("timeoutMs")
        timeout = float(asked) / 1000.0 if asked else None
        left = self.left()
        if left is None:
            return timeout
        if left <= 0:
            raise NodeTimeout("Node timed out before its request was sent")
        return left if timeout is None else min(timeout, left)

    def _send_once(
        self,
        method: str,
        url: str,
        request: Mapping[str, Any],
        auth: httpauth.AuthParts,
        params: Mapping[str, Any],
    ) -> httpx.Response:
        """Send the request once through the egress guard; raises NodeError on failure."""
        if self.stop.is_set():
            raise NodeError("The node ended before this request was sent")
        kwargs = dict(request)
        kwargs["headers"] = {**request["headers"], **auth.headers}
        kwargs["params"] = {**request["params"], **auth.params}
        try:
            return self.egress.request(
                method,
                url,
                timeout=self._timeout(params),
                follow_redirects=bool(params.get("followRedirects")),
                max_bytes=params.get("maxResponseBytes"),
                auth_headers=auth.auth_headers,
                **kwargs,
            )
        except EgressDenied as exc:
            raise NodeError(exc.message, "EgressDenied") from exc
        except EgressError as exc:
            raise NodeError(exc.message, "EgressError") from exc

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Return the wait before the next try, or None when it would not fit the deadline."""
        header = response.headers.get("retry-after")
        delay = retry_after(header, self.now()) if header else min(2.0**attempt, 30.0)
        if delay is None or delay > MAX_RETRY_WAIT_S or self.stop.is_set():
            return None
        left = self.left()
        if left is not None and delay >= left:
            return None
        return delay


def _is_oauth2(credential: Credential) -> bool:
    """Return whether a 401 answer may be cured by fetching a fresh token."""
    return credential.type == httpauth.OAUTH2


def _jobs(call: NodeCall) -> list[Job]:
    """Render each item's params and resolve its credential, on the calling thread."""
    items = call.items or [{"json": {}}]
    found: dict[str, Credential] = {}
    jobs = []
    for index, item in enumerate(items):
        params = call.params(index)
        credential_id = params.get("credentialId")
        credential = None
        if credential_id not in (None, ""):
            key = str(credential_id)
            if key not in found:
                found[key] = call.credential(key, httpauth.HTTP_CREDENTIAL_TYPES)
            credential = found[key]
        jobs.append(Job(index, params, item, credential))
    return jobs


def _send_all(sender: Sender, jobs: list[Job], concurrency: int) -> list[Item]:
    """Send every job, ``concurrency`` at a time; the first failure fails the node."""
    if concurrency <= 1 or len(jobs) <= 1:
        return [sender.send(job) for job in jobs]
    pool = ThreadPoolExecutor(min(concurrency, len(jobs)), thread_name_prefix="http-request")
    try:
        futures = [pool.submit(sender.send, job) for job in jobs]
        return [future.result() for future in futures]  # the deadline interrupts this wait
    finally:
        sender.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


def run_http_request(call: NodeCall) -> Outputs:
    """Send one request per input item and output one item per response, in input order."""
    jobs = _jobs(call)
    concurrency = int(jobs[0].params.get("concurrency") or 1)
    sender = Sender(call)
    try:
        items = _send_all(sender, jobs, min(max(concurrency, 1), MAX_CONCURRENCY))
    finally:
        call.env.secrets.update(value for value in sender.secrets if len(value) >= 6)
        call.logs.extend(sender.logs)
    return {"main": items}


HTTP_REQUEST = NodeType(
    type="http-request",
    name="HTTP Request",
    description="Call any HTTP API: method, query, headers, body, credential, retries",
    category="action",
    icon="globe",
    run=run_http_request,
    side_effects=True,
    credential_types=httpauth.HTTP_CREDENTIAL_TYPES,
    config_schema=obj(
        {
            "url": prop("string", "URL", minLength=1),
            "method": choice("Method", METHODS, "GET"),
            "headers": prop("object", "Headers", default={}),
            "query": prop("object", "Query parameters"),
            "body": any_value("Body", type=["string", "object", "array", "null"], default=""),
            "bodyType": choice("Body type (default: json for objects, raw for text)", BODY_TYPES),
            "contentType": prop("string", "Content type (raw body)"),
            "credentialId": prop(["string", "null"], "Credential"),
            "timeoutMs": prop("integer", "Timeout (ms)", minimum=1),
            "followRedirects": prop("boolean", "Follow redirects (default: no)"),
            "responseFormat": choice("Response format (default: auto)", RESPONSE_FORMATS),
            "fullResponse": prop("boolean", "Full response: status, headers and body"),
            "neverError": prop("boolean", "Never error on 4xx/5xx"),
            "retries": prop("integer", "Retries on 429/5xx", minimum=0, maximum=5),
            "concurrency": prop(
                "integer", "Requests at a time (default 1)", minimum=1, maximum=MAX_CONCURRENCY
            ),
            "maxResponseBytes": prop("integer", "Largest response (bytes)", minimum=1),
        },
        required=["url", "method"],
    ),
)

NODE_TYPES = (HTTP_REQUEST,)
