"""Which destinations the guard refuses, in every spelling, and what the allow-list opens."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

import pytest

from fluxolab.egress import Egress, EgressDenied, EgressError, EgressPolicy
from fluxolab.egress.addresses import AllowList, blocked_reason, normalize_host, parse_literal
from fluxolab.egress.resolve import Destinations


def fixed(answers: dict[str, Sequence[str]]):
    """Return a resolver answering from ``answers`` (unknown names fail like DNS does)."""

    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in answers:
            raise OSError(f"unknown host {host}")
        return answers[host]

    return resolve


PUBLIC = fixed({"example.com": ["93.184.215.14"], "v6.example.com": ["2606:2800:21f:cb07::1"]})


def guard(*allow: str, resolver=PUBLIC) -> Destinations:
    return Destinations(AllowList.parse(allow), resolver)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("127.255.255.254", "loopback address"),
        ("2130706433", "loopback address"),  # decimal
        ("0177.0.0.1", "loopback address"),  # octal
        ("0x7f.1", "loopback address"),  # hex, short
        ("0x7f000001", "loopback address"),
        ("127.1", "loopback address"),  # short
        ("127.0.1", "loopback address"),
        ("0", "unspecified address"),
        ("0.0.0.0", "unspecified address"),
        ("0.1.2.3", "unspecified address"),
        ("[::]", "unspecified address"),
        ("::", "unspecified address"),
        ("[::1]", "loopback address"),
        ("[0:0:0:0:0:0:0:1]", "loopback address"),
        ("10.0.0.1", "private address"),
        ("012.0.0.1", "private address"),  # octal 10.0.0.1
        ("172.16.5.4", "private address"),
        ("172.31.255.255", "private address"),
        ("192.168.1.1", "private address"),
        ("0xc0.0xa8.1.1", "private address"),
        ("3232235777", "private address"),  # 192.168.1.1
        ("169.254.169.254", "link-local address"),  # cloud metadata
        ("0xa9fea9fe", "link-local address"),
        ("100.64.0.1", "shared (CGNAT) address"),
        ("100.127.255.254", "shared (CGNAT) address"),
        ("224.0.0.1", "multicast address"),
        ("239.255.255.250", "multicast address"),
        ("255.255.255.255", "broadcast address"),
        ("240.0.0.1", "reserved address"),
        ("192.0.2.10", "documentation address"),
        ("198.51.100.7", "documentation address"),
        ("203.0.113.9", "documentation address"),
        ("198.18.0.1", "benchmarking address"),
        ("192.0.0.8", "IETF protocol assignment"),
        ("192.88.99.1", "6to4 relay address"),
        ("[fc00::1]", "unique local address"),
        ("[fd12:3456:789a::1]", "unique local address"),
        ("[fe80::1]", "link-local address"),
        ("[fe80::1%25eth0]", "link-local address"),
        ("[fec0::1]", "site-local address"),
        ("[ff02::1]", "multicast address"),
        ("[2001:db8::1]", "documentation address"),
        ("[3fff::1]", "documentation address"),
        ("[100::1]", "discard-only address"),
        ("[2001:2::1]", "benchmarking address"),
        ("[64:ff9b:1::a00:1]", "local-use NAT64 address"),
        ("[::ffff:127.0.0.1]", "IPv4-mapped address of 127.0.0.1, a loopback address"),
        ("[::ffff:7f00:1]", "IPv4-mapped address of 127.0.0.1, a loopback address"),
        ("[::ffff:169.254.169.254]", "IPv4-mapped address of 169.254.169.254, a link-local"),
        ("[::ffff:10.0.0.1]", "IPv4-mapped address of 10.0.0.1, a private address"),
        ("[::127.0.0.1]", "IPv4-compatible address of 127.0.0.1, a loopback address"),
        ("[::8.8.8.8]", "deprecated IPv4-compatible address"),
        ("[64:ff9b::127.0.0.1]", "NAT64 address of 127.0.0.1, a loopback address"),
        ("[64:ff9b::a9fe:a9fe]", "NAT64 address of 169.254.169.254, a link-local address"),
        ("[2002:7f00:1::]", "6to4 address of 127.0.0.1, a loopback address"),
        ("[2002:c0a8:101::1]", "6to4 address of 192.168.1.1, a private address"),
        ("[2001:0:4136:e378:8000:63bf:80ff:fffe]", "Teredo address of 127.0.0.1, a loopback"),
        ("[2001:0:4136:e378:8000:63bf:f7f7:f7f7]", "non-public address"),  # Teredo, public
    ],
)
def test_non_public_address_is_refused_in_every_spelling(host: str, reason: str) -> None:
    host = host.replace("%25", "%")
    with pytest.raises(EgressDenied, match="is not allowed: " + re.escape(reason)):
        guard().check(host, 80)


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "localhost.", "localhost..", "api.localhost", "ip6-localhost"],
)
def test_localhost_names_are_refused_before_any_lookup(host: str) -> None:
    with pytest.raises(EgressDenied, match="loopback host name"):
        guard(resolver=fixed({})).check(host, 80)


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (["127.0.0.1"], "loopback address"),
        (["93.184.215.14", "10.0.0.5"], "private address"),  # one bad address refuses all
        (["10.0.0.5", "93.184.215.14"], "private address"),
        (["2606:2800:21f:cb07::1", "fd00::1"], "unique local address"),
        (["::ffff:192.168.0.1"], "IPv4-mapped address of 192.168.0.1"),
    ],
    ids=["loopback", "good-then-bad", "bad-then-good", "v6-mixed", "mapped"],
)
def test_name_resolving_to_any_blocked_address_is_refused(answers: list[str], reason: str) -> None:
    expected = r"Destination evil.example \(.*\) is not allowed: " + re.escape(reason)
    with pytest.raises(EgressDenied, match=expected):
        guard(resolver=fixed({"evil.example": answers})).check("evil.example", 80)


@pytest.mark.parametrize(
    "host",
    ["EVIL.example", "evil.example.", "Evil.Example..", " evil.example "],
)
def test_host_names_are_compared_without_case_and_trailing_dots(host: str) -> None:
    with pytest.raises(EgressDenied, match="loopback address"):
        guard(resolver=fixed({"evil.example": ["127.0.0.1"]})).check(host, 80)


def test_international_names_are_resolved_in_their_idna_form() -> None:
    resolver = fixed({"xn--bcher-kva.example": ["127.0.0.1"]})
    with pytest.raises(EgressDenied, match=r"xn--bcher-kva\.example"):
        guard(resolver=resolver).check("BÜCHER.example", 80)
    assert normalize_host("bücher.example.") == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    "host", ["example.com", "93.184.215.14", "8.8.8.8", "[2606:4700:4700::1111]", "v6.example.com"]
)
def test_public_destinations_pass(host: str) -> None:
    assert guard().check(host, 443)


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"],
    ids=["nat64-public", "6to4-public", "mapped-public"],
)
def test_ipv6_embedding_a_public_ipv4_is_judged_by_it(address: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address))
    assert reason is None or "8.8.8.8" not in reason


def test_literal_spellings_parse_to_the_address_they_mean() -> None:
    expected = ipaddress.ip_address("127.0.0.1")
    for spelling in ("2130706433", "0177.0.0.1", "0x7f.1", "127.1", "0x7F.0.0.1"):
        assert parse_literal(spelling) == expected
    assert parse_literal("deadbeef.example") is None
    assert parse_literal("127.0.0.1 junk") is None


def test_unresolvable_host_is_a_readable_error() -> None:
    with pytest.raises(EgressError, match=r"Could not resolve host nowhere\.example"):
        guard(resolver=fixed({})).check("nowhere.example", 80)


def test_invalid_host_name_is_refused() -> None:
    with pytest.raises(EgressDenied, match="not a valid host name"):
        guard().check("...", 80)


def test_allow_list_opens_a_host_by_name_whatever_it_resolves_to() -> None:
    resolver = fixed({"intranet.corp": ["10.1.2.3"], "other.corp": ["10.1.2.3"]})
    allowed = guard("Intranet.Corp.", resolver=resolver)
    assert allowed.check("intranet.corp", 80) == [ipaddress.ip_address("10.1.2.3")]
    with pytest.raises(EgressDenied, match="private address"):
        allowed.check("other.corp", 80)


def test_allow_list_opens_a_cidr_under_any_name_or_spelling() -> None:
    resolver = fixed({"db.corp": ["10.20.0.7"], "cache.corp": ["10.30.0.1"]})
    allowed = guard("10.20.0.0/16", "::1", resolver=resolver)
    assert allowed.check("db.corp", 80)
    assert allowed.check("012.20.0.7", 80)  # the same address, octal
    assert allowed.check("[::1]", 80)
    with pytest.raises(EgressDenied, match="private address"):
        allowed.check("cache.corp", 80)
    with pytest.raises(EgressDenied, match="loopback address"):
        allowed.check("127.0.0.1", 80)


def test_allow_list_of_localhost_by_name_opens_it() -> None:
    allowed = guard("localhost", resolver=fixed({"localhost": ["127.0.0.1"]}))
    assert allowed.check("localhost.", 80) == [ipaddress.ip_address("127.0.0.1")]


def test_policy_reads_every_egress_setting() -> None:
    policy = EgressPolicy.from_config(
        {
            "EGRESS_ALLOW": " 127.0.0.1, intranet.corp ,,10.0.0.0/8",
            "EGRESS_MAX_RESPONSE_BYTES": 1000,
            "EGRESS_TIMEOUT_SECONDS": "7",
            "EGRESS_MAX_REDIRECTS": 2,
        }
    )
    assert policy == EgressPolicy(
        allow=("127.0.0.1", "intranet.corp", "10.0.0.0/8"),
        max_response_bytes=1000,
        timeout_s=7.0,
        max_redirects=2,
    )
    assert EgressPolicy.from_config({}) == EgressPolicy()


def test_default_guard_refuses_metadata_endpoint_without_a_traceback_in_the_message() -> None:
    with pytest.raises(EgressDenied) as caught:
        Egress().request("GET", "http://169.254.169.254/latest/meta-data/")
    assert caught.value.message == "Destination 169.254.169.254 is not allowed: link-local address"
