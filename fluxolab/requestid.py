"""Request ids, and the one structured log line of every API request.

Every request gets an id: the caller's ``X-Request-Id`` when it is 1-128 characters of
``[A-Za-z0-9._:-]``, else a new one (an invalid header is never echoed). It is

- sent back as ``X-Request-Id`` on every response the app writes (errors, 404s, 413s, the
  public webhook's answers included; waitress's own refusals too, ``fluxolab.webserver``);
- in the log context (``fluxolab.logs``) of everything the request logs;
- in the headers (``request_id``) of every Celery task published while it is current
  (``send_task``/``apply_async`` through ``before_task_publish``; ``dispatch.send_runs``
  adds ``publish_headers()`` to the messages it builds), so the worker logs it too;
- stored on the executions the request creates (``executions.request_id``).

``install`` wraps the app's WSGI callable (:class:`RequestIds`): one ``fluxolab.access``
line per request, after the response is built, with method, route template, masked path,
status, duration, and the caller's user and workspace when authenticated. Never a header
value, a query string or a body.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g, request

from fluxolab import logs
from fluxolab.triggers.tokens import mask_in_path

HEADER = "X-Request-Id"
TASK_HEADER = "request_id"
ENVIRON_KEY = "fluxolab.request_id"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
access_log = logging.getLogger("fluxolab.access")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def is_valid(value: str | None) -> bool:
    """Tell whether a caller's request id may be used as is."""
    return value is not None and _VALID.fullmatch(value) is not None


def new() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def accept(value: str | None) -> str:
    """The caller's id when valid, else a fresh one."""
    return value if value is not None and is_valid(value) else new()


def current() -> str | None:
    """The request id of the running request or task, if any."""
    value = logs.current("request_id")
    return value if isinstance(value, str) else None


def publish_headers() -> dict[str, str]:
    """The task message headers that carry the current request id (empty without one)."""
    value = current()
    return {TASK_HEADER: value} if value else {}


def _value(environ: dict[str, Any], key: str) -> str:
    """A WSGI environ entry as a string ('' when absent)."""
    return str(environ.get(key) or "")


class RequestIds:
    """WSGI middleware: the request id, its response header and the access log line."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request inside its log context; log it once the app has answered."""
        request_id = accept(_value(environ, "HTTP_X_REQUEST_ID") or None)
        environ[ENVIRON_KEY] = request_id
        method = _value(environ, "REQUEST_METHOD")
        path = mask_in_path(_value(environ, "PATH_INFO"))
        token = logs.bind(request_id=request_id, method=method, path=path)
        started = time.perf_counter()
        statuses: list[int] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            kept.append((HEADER, request_id))
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, kept, exc_info)

        try:
            return self.app(environ, start)
        except BaseException:
            statuses.append(500)
            raise
        finally:
            status = statuses[-1] if statuses else 500
            logs.annotate(status=status, duration_ms=logs.milliseconds_since(started))
            level = logging.ERROR if status >= 500 else logging.INFO
            access_log.log(level, "%s %s %s", method, path, status)
            logs.unbind(token)


def _forget_caller() -> None:
    """Before the request: no caller yet (an app context a test keeps holds the last one)."""
    g.pop("actor", None)


def _note_request(_error: BaseException | None = None) -> None:
    """After the view: the route template and the authenticated caller, for the log line."""
    rule = request.url_rule
    actor = g.get("actor")
    logs.annotate(
        route=rule.rule if rule is not None else None,
        user_id=str(actor.user_id) if actor is not None else None,
        workspace_id=str(actor.workspace_id) if actor is not None else None,
    )


def _add_task_header(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Celery's ``before_task_publish``: put the current request id in the task's headers."""
    value = current()
    if value and headers is not None:
        headers.setdefault(TASK_HEADER, value)


def install(app: Flask) -> None:
    """Give the app request ids and the access log, and every task publish the header."""
    from celery import signals

    app.wsgi_app = RequestIds(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(_forget_caller)
    app.teardown_request(_note_request)
    signals.before_task_publish.connect(_add_task_header, weak=False, dispatch_uid="request-id")
