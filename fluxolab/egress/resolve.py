"""Resolve a destination and check every address it has, once, before anything connects.

``Destinations.check`` is the single decision point: it returns the addresses the caller
must connect to (and nothing else may be connected to afterwards, so a DNS answer that
changes later cannot matter). One refused address refuses the whole name: picking the good
one of a mixed answer would let an attacker's name point at both.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

from fluxolab.egress.addresses import (
    AllowList,
    IPAddress,
    blocked_reason,
    is_local_name,
    normalize_host,
    parse_literal,
)
from fluxolab.egress.errors import EgressDenied, EgressError

# (host, port) -> the IP addresses (text) the name resolves to; raises OSError when it cannot.
Resolver = Callable[[str, int], Sequence[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Return the addresses of ``host`` from the system resolver (``getaddrinfo``), in order."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in found:
        text = str(sockaddr[0])
        if text not in addresses:
            addresses.append(text)
    return addresses


class Destinations:
    """Checks host names and addresses against the allow-list and the non-public ranges."""

    def __init__(self, allow: AllowList, resolver: Resolver = system_resolver) -> None:
        self.allow = allow
        self.resolver = resolver

    def check(self, host: str, port: int) -> list[IPAddress]:
        """Return the checked addresses of ``host``; raises EgressDenied or EgressError."""
        try:
            name = normalize_host(host)
        except (ValueError, UnicodeError) as exc:
            raise EgressDenied(f"Destination {host!r} is not a valid host name") from exc
        literal = parse_literal(name)
        if literal is not None:
            self._check_address(name, literal, literal)
            return [literal]
        by_name = self.allow.allows_host(name)
        if is_local_name(name) and not by_name:
            raise EgressDenied(f"Destination {host} is not allowed: loopback host name")
        addresses = self._resolve(name, port)
        if not by_name:
            for address in addresses:
                self._check_address(name, None, address)
        return addresses

    def _resolve(self, name: str, port: int) -> list[IPAddress]:
        """Return the addresses of ``name``; raises EgressError when it has none."""
        try:
            answers = self.resolver(name, port)
        except (OSError, UnicodeError) as exc:
            raise EgressError(f"Could not resolve host {name}") from exc
        addresses: list[IPAddress] = []
        for text in answers:
            try:
                addresses.append(ipaddress.ip_address(text))
            except ValueError as exc:
                raise EgressError(f"Host {name} resolved to an invalid address") from exc
        if not addresses:
            raise EgressError(f"Could not resolve host {name}")
        return addresses

    def _check_address(self, name: str, literal: IPAddress | None, address: IPAddress) -> None:
        """Raise EgressDenied unless ``address`` is allow-listed or public."""
        if self.allow.allows_address(address):
            return
        reason = blocked_reason(address)
        if reason is None:
            return
        shown = str(address) if literal is not None else f"{name} ({address})"
        raise EgressDenied(f"Destination {shown} is not allowed: {reason}")
