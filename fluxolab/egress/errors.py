"""The two errors of the egress guard; both carry a readable ``message`` (never a traceback).

EgressError          the outbound request failed: unreachable, too slow, too large, bad URL
└── EgressDenied     the policy refuses the destination: non-public address, scheme, host name
"""

from __future__ import annotations


class EgressError(Exception):
    """An outbound request failed (refused, unreachable, too slow, too large); readable message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EgressDenied(EgressError):
    """The destination is not allowed (non-public address, bad scheme) by the egress policy."""
