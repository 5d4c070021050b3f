"""Keep public trigger tokens out of every log line.

A webhook or form token is the whole secret of its URL, so no log may show it: the token
segment of ``/api/webhooks/execute/<token>``, ``/api/forms/<token>`` and
``/forms/<token>`` (paths, absolute URLs, Referers) is replaced by ``tokens.mask`` in

- every record any logger of the process creates (the app, werkzeug's development server,
  waitress, SQLAlchemy, Celery workers), whatever handler writes it, even one added later:
  ``install`` (called by ``create_app``) wraps the log-record factory; the root handlers,
  and those Celery sets up in a worker, also carry :class:`MaskTokens` for records rebuilt
  from another process (``logging.makeLogRecord``);
- gunicorn's access and error logs: :class:`GunicornLogger` (``--logger-class`` in the
  compose and Dockerfile commands);
- nginx's access log: the ``masked`` log format of ``deploy/nginx/nginx.conf``.

The same records also get credential-shaped values masked, should any code or library
ever log one: the value after ``Bearer``/``Basic`` (an ``Authorization`` header), JSON Web
Tokens (``eyJ...``, the access, refresh and reset tokens) and API keys (``flx_...``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fluxolab.triggers.tokens import mask_in_path

_MARKERS = ("/api/webhooks/execute/", "/api/forms/", "/forms/")
_SECRET_MARKERS = ("earer", "EARER", "asic", "ASIC", "eyJ", "flx_")
_SECRETS = (
    # a scheme and a value with a digit or a symbol ("basic authentication" is left alone)
    (
        re.compile(
            r"\b(bearer|basic)(\s+)(?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{6,}",
            re.IGNORECASE,
        ),
        r"\1\2***",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), "***"),
    (re.compile(r"\bflx_[A-Za-z0-9_-]{4,}"), "flx_***"),
)


def _may_hold_token(text: str) -> bool:
    return any(marker in text for marker in _MARKERS) or any(
        marker in text for marker in _SECRET_MARKERS
    )


def mask_text(text: str) -> str:
    """``text`` with trigger tokens and credential-shaped values masked."""
    if any(marker in text for marker in _MARKERS):
        text = mask_in_path(text)
    if any(marker in text for marker in _SECRET_MARKERS):
        for pattern, replacement in _SECRETS:
            text = pattern.sub(replacement, text)
    return text


def mask_record(record: logging.LogRecord) -> None:
    """Mask trigger tokens in a record's message, arguments, traceback and stack, in place.

    The message is formatted here (``msg % args``) and kept formatted when it held a token,
    so arguments of any type (a tuple, gunicorn's atoms mapping) are covered. Records
    without a trigger path are left as they are.
    """
    try:
        message = record.getMessage()
    except Exception:  # a broken call is the handler's to report, never masking's
        message = str(record.msg)
    if _may_hold_token(message):
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        # set only when it must change: otherwise a handler's own formatException applies
        text = logging.Formatter().formatException(record.exc_info)
        if _may_hold_token(text):
            record.exc_text = mask_text(text)
    elif record.exc_text and _may_hold_token(record.exc_text):
        record.exc_text = mask_text(record.exc_text)
    if record.stack_info and _may_hold_token(record.stack_info):
        record.stack_info = mask_text(record.stack_info)


class MaskTokens(logging.Filter):
    """A handler filter applying ``mask_record``; it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place and let it through."""
        mask_record(record)
        return True


_FILTER = MaskTokens()


def mask_handlers(logger: logging.Logger) -> None:
    """Install the token filter on every handler of ``logger`` (once per handler)."""
    for handler in logger.handlers:
        if not any(isinstance(f, MaskTokens) for f in handler.filters):
            handler.addFilter(_FILTER)


def install() -> None:
    """Mask tokens in every record of this process, and on the root and Celery handlers."""
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "masks_tokens", False):

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            mask_record(record)
            return record

        factory.masks_tokens = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)
    mask_handlers(logging.getLogger())
    from celery import signals

    signals.after_setup_logger.connect(_after_celery_setup, weak=False, dispatch_uid="logmask")
    signals.after_setup_task_logger.connect(
        _after_celery_setup, weak=False, dispatch_uid="logmask-task"
    )


def _after_celery_setup(logger: logging.Logger | None = None, **_: Any) -> None:
    mask_handlers(logging.getLogger())
    if logger is not None:
        mask_handlers(logger)
