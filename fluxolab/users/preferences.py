"""User preferences: defaults, allowed values, the merge rules, and reading/saving them.

Storage split: ``language`` and ``timezone`` live in the ``users`` columns (the profile reads
them too, so they can never disagree); every other preference lives in ``users.preferences``
(JSON) and holds only what the user explicitly set. The effective preferences are the
defaults with the stored values merged over them, nested objects key by key.
"""

from __future__ import annotations

import copy
import uuid
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fluxolab.auth.service import get_user
from fluxolab.extensions import db
from fluxolab.models import User

THEMES = ("light", "dark", "auto")
LANGUAGES = ("pt-BR", "en-US")
DEFAULT_VIEWS = ("overview", "workflows", "executions")
ITEMS_PER_PAGE_MIN, ITEMS_PER_PAGE_MAX = 10, 200
NESTED_KEYS = ("notifications", "dashboard")
COLUMN_KEYS = ("language", "timezone")

DEFAULTS: dict[str, Any] = {
    "theme": "light",
    "language": "pt-BR",
    "timezone": "America/Sao_Paulo",
    "notifications": {"email": True, "push": True, "workflow": True},
    "dashboard": {"defaultView": "overview", "itemsPerPage": 50},
}


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_timezone(name: str) -> bool:
    """Tell whether ``name`` is an IANA time zone known to this system (e.g. America/Sao_Paulo)."""
    zones = _zones()
    if zones:
        return name in zones
    try:  # no zone list on this system: ask zoneinfo directly
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _valid_stored(key: str, value: Any) -> bool:
    """Tell whether a stored value still fits the current rules (old rows may not)."""
    if key == "theme":
        return value in THEMES
    if key in ("email", "push", "workflow"):
        return isinstance(value, bool)
    if key == "defaultView":
        return value in DEFAULT_VIEWS
    if key == "itemsPerPage":
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and ITEMS_PER_PAGE_MIN <= value <= ITEMS_PER_PAGE_MAX
        )
    return False


def effective(stored: dict[str, Any] | None, language: str, timezone: str) -> dict[str, Any]:
    """Return the full preferences: defaults, then valid stored values, then the user columns.

    Unknown or invalid stored values are ignored, so the result always fits the schema.
    """
    result = copy.deepcopy(DEFAULTS)
    stored = stored if isinstance(stored, dict) else {}
    if _valid_stored("theme", stored.get("theme")):
        result["theme"] = stored["theme"]
    for section in NESTED_KEYS:
        values = stored.get(section)
        if isinstance(values, dict):
            for key in result[section]:
                if key in values and _valid_stored(key, values[key]):
                    result[section][key] = values[key]
    result["language"] = language if language in LANGUAGES else DEFAULTS["language"]
    result["timezone"] = timezone or DEFAULTS["timezone"]
    return result


def merge(stored: dict[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    """Return the new stored JSON: ``patch`` (already validated) over ``stored``.

    Top-level keys replace; the nested ``notifications``/``dashboard`` objects are merged key
    by key, so ``{"notifications": {"email": false}}`` changes only ``email``. The column
    keys (``language``, ``timezone``) are never kept in the JSON.
    """
    result = {
        key: copy.deepcopy(value)
        for key, value in (stored if isinstance(stored, dict) else {}).items()
        if key not in COLUMN_KEYS
    }
    for key, value in patch.items():
        if key in COLUMN_KEYS:
            continue
        if key in NESTED_KEYS:
            current = result.get(key)
            result[key] = {**(current if isinstance(current, dict) else {}), **value}
        else:
            result[key] = value
    return result


def preferences_of(user: User) -> dict[str, Any]:
    """Return the user's full, effective preferences (defaults merged with their choices)."""
    return effective(user.preferences, user.language, user.timezone)


def get_preferences(user_id: uuid.UUID) -> dict[str, Any]:
    """Return the caller's effective preferences."""
    return preferences_of(get_user(user_id))


def update_preferences(user_id: uuid.UUID, patch: dict[str, Any]) -> dict[str, Any]:
    """Merge validated preferences over the stored ones, commit, and return the full result.

    ``language``/``timezone`` go to the user columns the profile reads, so both stay in sync.
    """
    user = get_user(user_id)
    if "language" in patch:
        user.language = patch["language"]
    if "timezone" in patch:
        user.timezone = patch["timezone"]
    user.preferences = merge(user.preferences, patch)
    db.session.commit()
    return preferences_of(user)
