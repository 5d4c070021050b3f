"""Replace credential secret values with ``"***"`` in what a run stores.

A step's input, output, error and logs, the run's final output, error and response, and the
input an Execute Workflow node hands to a sub-execution (stored with the child) are scrubbed
of every value in ``RunEnv.secrets`` (exact substring match, values of 6 characters or more)
before they are recorded. With no secrets nothing is walked or copied; otherwise
only the containers that held a secret are copied (the rest is shared).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from functools import lru_cache
from typing import Any

MASK = "***"
MIN_LENGTH = 6


@lru_cache(maxsize=64)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    """One alternation of the secrets, longest first (a secret inside another still masks)."""
    usable = sorted((s for s in secrets if len(s) >= MIN_LENGTH), key=len, reverse=True)
    if not usable:
        return None
    return re.compile("|".join(re.escape(secret) for secret in usable))


def _compiled(secrets: Iterable[str]) -> re.Pattern[str] | None:
    return _pattern(secrets if isinstance(secrets, frozenset) else frozenset(secrets))


def redact_text(text: str, secrets: Collection[str]) -> str:
    """Return ``text`` with every secret value replaced by ``"***"``."""
    if not secrets or not text:
        return text
    pattern = _compiled(secrets)
    return pattern.sub(MASK, text) if pattern else text


def redact(value: Any, secrets: Collection[str]) -> Any:
    """Return ``value`` (JSON-like) with secrets masked in strings and keys; shares the rest."""
    if not secrets:
        return value
    pattern = _compiled(secrets)
    return value if pattern is None else _walk(value, pattern)


def _walk(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(MASK, value) if pattern.search(value) else value
    if isinstance(value, dict):
        changed = False
        result: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = _walk(key, pattern) if isinstance(key, str) else key
            new_item = _walk(item, pattern)
            changed = changed or new_key is not key or new_item is not item
            result[new_key] = new_item
        return result if changed else value
    if isinstance(value, list | tuple):
        items = [_walk(item, pattern) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value
