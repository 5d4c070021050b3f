"""Compressed bodies are decoded under the size cap: a small body never inflates past it."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from fluxolab.egress import Egress, EgressError, EgressPolicy
from tests.fake_http import FakeServer

INFLATED = 200 * 1024 * 1024  # what the bombs inflate to
CAP = 1024 * 1024


def loopback() -> Egress:
    return Egress(EgressPolicy(allow=("127.0.0.1",)))


def _peak_while(call) -> int:
    """Return the peak Python memory allocated while ``call`` runs (it must raise)."""
    tracemalloc.start()
    try:
        with pytest.raises(EgressError, match=f"Response is larger than {CAP} bytes"):
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _serve(server: FakeServer, path: str, body: bytes, encoding: str) -> None:
    server.routes[path] = lambda request, reply: reply(200, body, {"Content-Encoding": encoding})


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip.compress(b"\0" * INFLATED, compresslevel=9)


def test_gzip_bomb_stops_at_the_cap_without_inflating_a_whole_chunk(
    server: FakeServer, bomb: bytes
) -> None:
    _serve(server, "/gzip", bomb, "gzip")
    peak = _peak_while(lambda: loopback().request("GET", server.url("/gzip"), max_bytes=CAP))
    assert peak < 8 * CAP


def test_nested_encodings_are_each_decoded_under_the_cap(server: FakeServer, bomb: bytes) -> None:
    twice = gzip.compress(bomb, compresslevel=9)  # a few hundred bytes on the wire
    _serve(server, "/twice", twice, "gzip, gzip")
    peak = _peak_while(lambda: loopback().request("GET", server.url("/twice"), max_bytes=CAP))
    assert peak < 8 * CAP


def test_deflate_bomb_stops_at_the_cap(server: FakeServer) -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = raw.compress(b"\0" * (64 * 1024 * 1024)) + raw.flush()
    _serve(server, "/deflate", body, "deflate")
    peak = _peak_while(lambda: loopback().request("GET", server.url("/deflate"), max_bytes=CAP))
    assert peak < 8 * CAP


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # the zlib wrapper, as the RFC says
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as IIS sends
        ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),
        ("identity", lambda data: data),
        ("unknown-coding", lambda data: data),  # left as it came, as httpx does
    ],
)
def test_encoded_bodies_within_the_cap_are_decoded(server: FakeServer, encoding, encode) -> None:
    text = b"hello " * 5000
    _serve(server, "/ok", encode(text), encoding)
    response = loopback().request("GET", server.url("/ok"), max_bytes=len(text))
    assert response.content == text
    assert response.text == text.decode()


def test_a_body_that_is_not_what_its_encoding_says_is_a_readable_error(server: FakeServer) -> None:
    _serve(server, "/broken", b"not gzip at all", "gzip")
    with pytest.raises(EgressError, match="could not be decoded"):
        loopback().request("GET", server.url("/broken"))


def test_too_many_encodings_are_refused(server: FakeServer) -> None:
    body = b"x"
    for _ in range(6):
        body = gzip.compress(body)
    _serve(server, "/layers", body, ", ".join(["gzip"] * 6))
    with pytest.raises(EgressError, match="content encodings"):
        loopback().request("GET", server.url("/layers"))
