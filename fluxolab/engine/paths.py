"""Dotted field paths (``a.b.0.c`` or ``a.b[0].c``) over item JSON, with copy-on-write updates.

Items flowing between nodes are shared, never mutated: ``set_path`` and ``remove_path`` copy
only the dicts along the path they change and leave the original structure untouched.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Final

MISSING: Final = object()  # a path that does not exist (distinct from a stored None)

_BRACKET = re.compile(r"\[(-?\d+)\]")


@lru_cache(maxsize=4096)
def split_path(path: str) -> tuple[str, ...]:
    """Split ``a.b[0].c`` into ``("a", "b", "0", "c")``; an empty path has no segments."""
    normalised = _BRACKET.sub(r".\1", path.strip())
    return tuple(part for part in normalised.split(".") if part != "")


def get_path(data: Any, path: str | tuple[str, ...]) -> Any:
    """Return the value at ``path`` inside ``data``, or ``MISSING`` when any segment is absent."""
    keys = split_path(path) if isinstance(path, str) else path
    current = data
    for key in keys:
        if isinstance(current, dict):
            if key not in current:
                return MISSING
            current = current[key]
        elif isinstance(current, list) and key.lstrip("-").isdigit():
            index = int(key)
            if not -len(current) <= index < len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current


def set_path(root: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    """Set ``value`` at ``keys`` in ``root`` (a fresh dict), copying every nested dict it enters."""
    if not keys:
        return
    current = root
    for key in keys[:-1]:
        child = current.get(key)
        child = dict(child) if isinstance(child, dict) else {}
        current[key] = child
        current = child
    current[keys[-1]] = value


def remove_path(root: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Remove ``keys`` from ``root`` (a fresh dict), copying the nested dicts it enters."""
    parent: Any = root
    for key in keys[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
    if not keys or not isinstance(parent, dict) or keys[-1] not in parent:
        return
    current = root
    for key in keys[:-1]:
        copied = dict(current[key])
        current[key] = copied
        current = copied
    del current[keys[-1]]
