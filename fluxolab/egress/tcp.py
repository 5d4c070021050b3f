"""Open a TCP connection to addresses that were already checked (never to a name)."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

from fluxolab.egress.addresses import IPAddress
from fluxolab.egress.errors import EgressError


def connect_checked(
    addresses: Sequence[IPAddress], port: int, timeout: float, shown: str
) -> socket.socket:
    """Connect to the first reachable address of ``addresses`` within ``timeout`` in total.

    The addresses are literals, so no name is resolved again here. Raises EgressError naming
    ``shown`` (the host as the caller wrote it) when none answers in time.
    """
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    for address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            sock = socket.create_connection((str(address), port), timeout=left)
        except OSError as exc:
            last = exc
            continue
        sock.settimeout(timeout)
        return sock
    if isinstance(last, TimeoutError) or last is None:
        raise EgressError(f"Connection to {shown}:{port} timed out after {timeout:g} s")
    reason = last.strerror or type(last).__name__
    raise EgressError(f"Could not connect to {shown}:{port}: {reason}")
