"""One logging setup for every FluxoLab process: the API, the standalone server, Celery.

``configure`` (called by ``create_app``, so by gunicorn, waitress, ``flask`` and the Celery
worker alike) puts one handler on the root logger, writing to stderr in ``LOG_FORMAT``:

- ``json``: one JSON object per line (``timestamp``, ``level``, ``logger``, ``message`` and
  the context fields below that are set), the default in docker compose;
- ``text``: ``<time> <LEVEL> <logger>: <message> [field=value ...]``, the default elsewhere.

The context of the current request or task (``bind``/``annotate``: request id, workspace
and user ids, route, task id, execution id, queue ...) is a context variable copied onto
every record the process creates, whatever logger writes it. Celery's own logging setup is
replaced by this one (its ``setup_logging`` signal), and gunicorn's loggers get the same
formatter (``fluxolab.gunicorn_logger``). Webhook and form tokens are masked in every
record (``fluxolab.logmask``); no code logs secrets, headers or request bodies.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

FORMATS = ("json", "text")
DEFAULT_FORMAT = "text"
# the context fields, in the order they are written
FIELDS = (
    "request_id",
    "workspace_id",
    "user_id",
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "task",
    "task_id",
    "execution_id",
    "queue",
    "retries",
    "redelivered",
    "delivery_count",
    "state",
)
# Libraries that write what passes through them: SQL parameters (user data) at INFO, HTTP
# response headers (cookies) at DEBUG. Held at these levels unless set otherwise.
QUIET = {"sqlalchemy.engine": logging.WARNING, "httpcore": logging.INFO, "hpack": logging.INFO}
_EMPTY: Mapping[str, Any] = {}
_context: ContextVar[Mapping[str, Any]] = ContextVar("fluxolab_log_context", default=_EMPTY)


def bind(**fields: Any) -> Token[Mapping[str, Any]]:
    """Start a context (a request or a task) with ``fields``; ``unbind`` with the token."""
    return _context.set({key: value for key, value in fields.items() if value is not None})


def unbind(token: Token[Mapping[str, Any]]) -> None:
    """End the context ``bind`` started: the one before it is current again."""
    _context.reset(token)


def annotate(**fields: Any) -> None:
    """Add fields to the current context (``None`` values are left out); outside a context
    (no request or task bound, e.g. a view called directly) nothing: the fields would stay
    behind for whatever runs next on the thread."""
    current = _context.get()
    if current is _EMPTY:
        return
    _context.set({**current, **{key: value for key, value in fields.items() if value is not None}})


def current(name: str) -> Any:
    """The value of one context field, or None."""
    return _context.get().get(name)


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """``bind`` for the duration of a block."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


RECORD_ATTRIBUTE = "fluxolab_context"


def context_of(record: logging.LogRecord) -> dict[str, Any]:
    """The context fields of a record, in ``FIELDS`` order (missing ones left out).

    The context the record was created in, overridden by ``extra=`` fields of the call.
    """
    values = record.__dict__
    context = values.get(RECORD_ATTRIBUTE, _EMPTY)
    fields: dict[str, Any] = {}
    for name in FIELDS:
        value = values.get(name)
        if value is None:
            value = context.get(name)
        if value is not None:
            fields[name] = _scalar(value)
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ms), level, logger, message, context, error."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON (newlines inside values are escaped)."""
        stamp = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "timestamp": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **context_of(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


# the loggers whose text lines end with their fields (other lines keep their usual shape)
TEXT_FIELDS_OF = ("fluxolab.access", "fluxolab.task")


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message>``; the request and task lines add
    ``[field=value ...]`` of their context."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The line, with the record's context fields after the message."""
        line = super().formatMessage(record)
        fields = context_of(record) if record.name in TEXT_FIELDS_OF else None
        if not fields:
            return line
        return f"{line} [{' '.join(f'{key}={value}' for key, value in fields.items())}]"


def formatter(fmt: str | None = None) -> logging.Formatter:
    """The formatter of ``fmt`` (default: ``LOG_FORMAT``, else text)."""
    chosen = (fmt or os.environ.get("LOG_FORMAT") or DEFAULT_FORMAT).strip().lower()
    if chosen not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {chosen!r}")
    return JsonFormatter() if chosen == "json" else TextFormatter()


class _Handler(logging.StreamHandler[Any]):
    """The root handler ``configure`` installs (told apart from others by its class)."""


def _add_context(previous: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = previous(*args, **kwargs)
        fields = _context.get()
        if fields:  # one attribute: ``extra=`` may still name any context field
            record.__dict__[RECORD_ATTRIBUTE] = fields
        return record

    factory.adds_log_context = True  # type: ignore[attr-defined]
    return factory


def configure(fmt: str | None = None, level: str | int | None = None) -> None:
    """Set up this process's logging (idempotent): root handler, format, level, context.

    Like ``logging.basicConfig``, the stderr handler and the level (``level``, else
    ``LOG_LEVEL``, else INFO) are set on a root logger without handlers; a root someone else
    configured (pytest) keeps its handlers and level unless ``level`` is given. The format
    applies to the handler this installed, whenever called.
    """
    chosen = formatter(fmt)
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if isinstance(handler, _Handler)]
    fresh = not root.handlers  # as logging.basicConfig: a root nobody configured
    if fresh:
        ours = [_Handler(sys.stderr)]
        root.addHandler(ours[0])
    for handler in ours:
        handler.setFormatter(chosen)
    if fresh or level is not None:
        root.setLevel(level or os.environ.get("LOG_LEVEL") or "INFO")
    for name, floor in QUIET.items():
        quiet = logging.getLogger(name)
        if quiet.level == logging.NOTSET:
            quiet.setLevel(floor)
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "adds_log_context", False):
        logging.setLogRecordFactory(_add_context(factory))
    from fluxolab import logmask

    logmask.install()  # after the context: its factory wraps (and masks) every record
    from celery import signals

    signals.setup_logging.connect(_celery_setup, weak=False, dispatch_uid="fluxolab-logs")


def _celery_setup(loglevel: int | None = None, **_: Any) -> None:
    """Celery's ``setup_logging``: this configuration replaces Celery's (``LOG_LEVEL`` wins
    over ``--loglevel``)."""
    configure(level=os.environ.get("LOG_LEVEL") or loglevel or None)
    from fluxolab import logmask

    logmask.mask_handlers(logging.getLogger())


def milliseconds_since(started: float) -> float:
    """Milliseconds elapsed since a ``time.perf_counter()`` reading, to 0.1 ms."""
    return round((time.perf_counter() - started) * 1000, 1)
