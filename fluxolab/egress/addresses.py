"""Which addresses and host names the guard refuses, and the operator's allow-list.

``blocked_reason`` judges one resolved address with ``ipaddress`` (its ``is_*`` properties,
which lag behind the registries on older Pythons, plus explicit ranges). IPv6 addresses that
embed an IPv4 one (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) are refused when the
IPv4 address they carry is. ``parse_literal`` reads every spelling of a numeric host the C
resolver accepts (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``) so that a literal is
judged, and named in messages, as the address it really is.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Checked in order: the first range that holds the address names the reason.
_V4_RANGES: tuple[tuple[IPNetwork, str], ...] = (
    (_V4("0.0.0.0/8"), "unspecified address"),
    (_V4("127.0.0.0/8"), "loopback address"),
    (_V4("10.0.0.0/8"), "private address"),
    (_V4("172.16.0.0/12"), "private address"),
    (_V4("192.168.0.0/16"), "private address"),
    (_V4("169.254.0.0/16"), "link-local address"),
    (_V4("100.64.0.0/10"), "shared (CGNAT) address"),
    (_V4("192.0.0.0/24"), "IETF protocol assignment"),
    (_V4("192.0.2.0/24"), "documentation address"),
    (_V4("198.51.100.0/24"), "documentation address"),
    (_V4("203.0.113.0/24"), "documentation address"),
    (_V4("198.18.0.0/15"), "benchmarking address"),
    (_V4("192.88.99.0/24"), "6to4 relay address"),
    (_V4("224.0.0.0/4"), "multicast address"),
    (_V4("255.255.255.255/32"), "broadcast address"),
    (_V4("240.0.0.0/4"), "reserved address"),
)
_V6_RANGES: tuple[tuple[IPNetwork, str], ...] = (
    (_V6("::/128"), "unspecified address"),
    (_V6("::1/128"), "loopback address"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64 address"),
    (_V6("100::/64"), "discard-only address"),
    (_V6("2001:2::/48"), "benchmarking address"),
    (_V6("2001:db8::/32"), "documentation address"),
    (_V6("3fff::/20"), "documentation address"),
    (_V6("2001:10::/28"), "ORCHID address"),
    (_V6("2001:20::/28"), "ORCHID address"),
    (_V6("fc00::/7"), "unique local address"),
    (_V6("fe80::/10"), "link-local address"),
    (_V6("fec0::/10"), "site-local address"),
    (_V6("ff00::/8"), "multicast address"),
)
_IPV4_COMPATIBLE = _V6("::/96")
_NAT64 = _V6("64:ff9b::/96")
_NUMERIC_CHARS = frozenset("0123456789abcdefx.")
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def _v4_reason(address: ipaddress.IPv4Address) -> str | None:
    """Return why an IPv4 address is refused, or None when it is public."""
    for network, reason in _V4_RANGES:
        if address in network:
            return reason
    if address.is_private or address.is_reserved or not address.is_global:
        return "non-public address"
    return None


def _embedded(address: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]]:
    """Return the kind of IPv4 embedding and the IPv4 addresses carried, if any."""
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", [address.ipv4_mapped]
    if address in _NAT64:
        return "NAT64", [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return "6to4", [address.sixtofour]
    if address.teredo is not None:
        return "Teredo", list(address.teredo)
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return "IPv4-compatible", [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return "", []


def _v6_reason(address: ipaddress.IPv6Address) -> str | None:
    """Return why an IPv6 address is refused (its embedded IPv4 first), or None."""
    kind, carried = _embedded(address)
    for inner in carried:
        reason = _v4_reason(inner)
        if reason is not None:
            return f"{kind} address of {inner}, a {reason}"
    if kind == "IPv4-compatible":
        return "deprecated IPv4-compatible address"
    plain = ipaddress.IPv6Address(int(address))  # without a scope id
    for network, reason in _V6_RANGES:
        if plain in network:
            return reason
    if plain.is_private or (plain.is_reserved and kind != "NAT64") or not plain.is_global:
        return "non-public address"
    return None


def blocked_reason(address: IPAddress) -> str | None:
    """Return why ``address`` may not be reached ("loopback address" ...), None when public."""
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_reason(address)
    return _v6_reason(address)


def parse_literal(host: str) -> IPAddress | None:
    """Return the address a numeric host spells (any IPv4 form the resolver takes), else None."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and set(text.lower()) <= _NUMERIC_CHARS and text[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def normalize_host(host: str) -> str:
    """Return the host as resolved and compared: no brackets or trailing dots, lower case, IDNA.

    Raises ValueError for a host that is empty or not a valid name.
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.rstrip(".").lower()
    if not text:
        raise ValueError("empty host name")
    if parse_literal(text) is not None or text.isascii():
        return text
    return idna.encode(text, uts46=True).decode("ascii")


def is_local_name(host: str) -> bool:
    """Return whether a normalized host name means this machine (``localhost`` and kin)."""
    return host in LOCAL_NAMES or host.endswith(".localhost")


def _plain(address: IPAddress) -> IPAddress:
    """Return the address without a scope id; an IPv4-mapped one as its IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        return ipaddress.IPv6Address(int(address))
    return address


@dataclass(frozen=True)
class AllowList:
    """The operator's exceptions: host names and networks opened although not public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Read entries: an address or CIDR becomes a network, anything else a host name."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            text = entry.strip()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            literal = parse_literal(text)
            if literal is not None:
                networks.append(ipaddress.ip_network(literal))
                continue
            try:
                hosts.add(normalize_host(text))
            except ValueError:
                continue
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Return whether a normalized host name is opened by name."""
        return host in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        """Return whether an address falls in an opened network."""
        plain = _plain(address)
        return any(plain.version == net.version and plain in net for net in self.networks)
