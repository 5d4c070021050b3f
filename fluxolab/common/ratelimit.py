"""Programmatic rate limits on top of flask-limiter's storage (for limits that are not 429s)."""

from __future__ import annotations

import logging
import math
import time

from flask import request
from limits import parse

from fluxolab.errors import FluxoError, RateLimited
from fluxolab.extensions import client_ip, limiter

log = logging.getLogger(__name__)


def hit_or_raise(limit: str, scope: str, keys: list[str], error: FluxoError) -> None:
    """Count one hit for every key under ``scope``; raise ``error`` if any key is over ``limit``."""
    if not limiter.enabled:
        return
    item = parse(limit)
    try:
        allowed = [limiter.limiter.hit(item, scope, key) for key in keys]
    except Exception:  # storage down: fail open like flask-limiter's swallowed errors
        log.warning("rate-limit storage unavailable; %s not counted", scope, exc_info=True)
        return
    if not all(allowed):
        raise error


def json_field_key(field: str) -> str:
    """Key a limit on a lower-cased JSON body field (for per-account limits), else the IP."""
    body = request.get_json(silent=True)
    value = body.get(field) if isinstance(body, dict) else None
    return f"{field}:{str(value).strip().lower()}" if isinstance(value, str) else client_ip()


def throttle(limit: str, scope: str, key: str) -> None:
    """Count one hit for ``key`` under ``scope``; over ``limit`` raise a 429 with Retry-After.

    Retry-After is when the window frees a hit again. Fails open when the storage is down.
    """
    if not limiter.enabled:
        return
    item = parse(limit)
    try:
        if limiter.limiter.hit(item, scope, key):
            return
        reset_at = limiter.limiter.get_window_stats(item, scope, key).reset_time
    except Exception:
        log.warning("rate-limit storage unavailable; %s not counted", scope, exc_info=True)
        return
    raise too_many(max(1, math.ceil(reset_at - time.time())))


def too_many(retry_after: int) -> RateLimited:
    """The 429 of a programmatic limit, retryable in ``retry_after`` seconds."""
    return RateLimited(
        f"Muitas requisicoes; tente novamente em {retry_after} s.", retry_after=retry_after
    )
