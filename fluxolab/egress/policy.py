"""``EgressPolicy``: the operator's allow-list and the caps of every outbound request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_REDIRECTS = 5


def _number(config: Mapping[str, Any], key: str, default: float) -> float:
    """Return ``config[key]`` as a number, ``default`` when unset or empty."""
    value = config.get(key)
    return default if value in (None, "") else float(value)


@dataclass(frozen=True)
class EgressPolicy:
    """What outbound connections may do: the allow-list and the caps.

    ``allow`` holds host names (exact, case-insensitive, trailing dot ignored) and IP
    addresses or CIDRs that are opened although they are not public. A host name entry
    opens whatever that name resolves to; an address entry opens that address under any name.
    """

    allow: tuple[str, ...] = ()  # host names and CIDRs opened by the operator
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    timeout_s: float = DEFAULT_TIMEOUT_S  # total time of one request, redirects included
    max_redirects: int = DEFAULT_MAX_REDIRECTS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EgressPolicy:
        """Build the policy from the ``EGRESS_*`` settings (``EGRESS_ALLOW``: comma-separated)."""
        raw = config.get("EGRESS_ALLOW") or ""
        parts = raw.split(",") if isinstance(raw, str) else [str(part) for part in raw]
        return cls(
            allow=tuple(part.strip() for part in parts if part.strip()),
            max_response_bytes=int(
                _number(config, "EGRESS_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES)
            ),
            timeout_s=_number(config, "EGRESS_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_S),
            max_redirects=int(_number(config, "EGRESS_MAX_REDIRECTS", DEFAULT_MAX_REDIRECTS)),
        )
