"""``Egress.request`` against real loopback servers, opened through the allow-list."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from fluxolab.egress import Egress, EgressDenied, EgressError, EgressPolicy
from tests.fake_http import FakeServer, Reply, Seen, serving


class SwitchingResolver:
    """Answers a name from a list of answers, one per lookup (the last one repeats)."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        index = min(len(self.lookups), len(self.answers)) - 1
        return self.answers[index]


def names(*hosts: str, address: str = "127.0.0.1"):
    """Return a resolver that answers ``address`` for each of ``hosts``."""

    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in hosts:
            raise OSError("unknown host")
        return [address]

    return resolve


def loopback(**policy) -> Egress:
    return Egress(EgressPolicy(allow=("127.0.0.1",), **policy))


def test_request_to_allow_listed_address_returns_the_read_response(server: FakeServer) -> None:
    response = loopback().request(
        "POST", server.url("/echo?a=0"), params={"q": "1"}, json={"a": 1}, headers={"X-T": "v"}
    )
    assert response.status_code == 200
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["query"] == {"a": ["0"], "q": ["1"]}  # added to the URL's own query
    assert seen["headers"]["x-t"] == "v"
    assert seen["body"] == '{"a":1}'


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "0x7f.1",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "localhost",
        "LOCALHOST.",
        "localhost..",
    ],
)
def test_loopback_in_any_spelling_is_refused_without_allow_list(
    server: FakeServer, host: str
) -> None:
    # httpx itself rejects a few spellings (octal) as invalid URLs: refused either way
    with pytest.raises(EgressError, match=r"is not allowed|Invalid URL"):
        Egress().request("GET", f"http://{host}:{server.port}/")
    assert server.requests == []


def test_host_allowed_by_name_is_reached_with_its_name_in_the_host_header(
    server: FakeServer,
) -> None:
    egress = Egress(EgressPolicy(allow=("api.test",)), resolver=names("api.test"))
    response = egress.request("GET", server.url("/", host="API.test"))
    assert response.json()["headers"]["host"] == f"api.test:{server.port}"


def test_host_allowed_by_cidr_is_reached_under_any_name(server: FakeServer) -> None:
    egress = Egress(EgressPolicy(allow=("127.0.0.0/30",)), resolver=names("svc.test"))
    assert egress.request("GET", server.url("/", host="svc.test")).status_code == 200


def test_connection_goes_to_the_address_that_was_checked(server: FakeServer) -> None:
    # The first answer is checked and used; a later lookup (rebinding) would say 10.0.0.1.
    resolver = SwitchingResolver(["127.0.0.1"], ["10.0.0.1"])
    egress = Egress(EgressPolicy(allow=("127.0.0.1",)), resolver=resolver)
    response = egress.request("GET", server.url("/", host="rebind.test"))
    assert response.status_code == 200
    assert resolver.lookups == ["rebind.test"]  # resolved once; no second lookup to race
    with pytest.raises(EgressDenied, match=r"rebind.test \(10.0.0.1\) is not allowed"):
        egress.request("GET", server.url("/", host="rebind.test"))  # a new request: checked again


def test_redirects_are_not_followed_by_default(server: FakeServer) -> None:
    server.routes["/moved"] = lambda request, reply: reply(302, b"", {"Location": "/echo"})
    response = loopback().request("GET", server.url("/moved"))
    assert response.status_code == 302
    assert [seen.path for seen in server.requests] == ["/moved"]


def test_redirect_to_an_internal_address_is_refused(
    server: FakeServer, internal: FakeServer
) -> None:
    server.routes["/go"] = lambda request, reply: reply(
        302, b"", {"Location": internal.url("/admin")}
    )
    egress = Egress(EgressPolicy(allow=("public.test",)), resolver=names("public.test"))
    with pytest.raises(EgressDenied, match=r"Destination 127\.0\.0\.2 is not allowed: loopback"):
        egress.request("GET", server.url("/go", host="public.test"), follow_redirects=True)
    assert internal.requests == []


def test_redirect_to_a_name_of_an_internal_address_is_refused(
    server: FakeServer, internal: FakeServer
) -> None:
    server.routes["/go"] = lambda request, reply: reply(
        301, b"", {"Location": internal.url("/admin", host="metadata.test")}
    )

    def resolve(host: str, port: int) -> Sequence[str]:
        return ["127.0.0.1"] if host == "public.test" else ["127.0.0.2"]

    egress = Egress(EgressPolicy(allow=("public.test",)), resolver=resolve)
    with pytest.raises(EgressDenied, match=r"metadata.test \(127.0.0.2\) is not allowed"):
        egress.request("GET", server.url("/go", host="public.test"), follow_redirects=True)
    assert internal.requests == []


@pytest.mark.parametrize("target", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://x/"])
def test_redirect_to_another_scheme_is_refused(server: FakeServer, target: str) -> None:
    server.routes["/go"] = lambda request, reply: reply(302, b"", {"Location": target})
    with pytest.raises(EgressDenied, match="Only http and https URLs are allowed"):
        loopback().request("GET", server.url("/go"), follow_redirects=True)


def test_followed_redirects_end_at_the_policy_hop_limit(server: FakeServer) -> None:
    server.routes["/loop"] = lambda request, reply: reply(302, b"", {"Location": "/loop"})
    with pytest.raises(EgressError, match=r"Too many redirects \(more than 2\)"):
        loopback(max_redirects=2).request("GET", server.url("/loop"), follow_redirects=True)
    assert len(server.requests) == 3


def _redirect_to(location: str):
    return lambda request, reply: reply(307, b"", {"Location": location})


CREDENTIALS = {
    "Authorization": "Bearer s3cret-token",
    "Cookie": "session=abc",
    "X-Api-Key": "key-123456",
    "X-Trace": "keep-me",
}


def test_credential_headers_are_dropped_on_a_redirect_to_another_host(server: FakeServer) -> None:
    server.routes["/go"] = _redirect_to(server.url("/echo", host="b.test"))
    egress = Egress(EgressPolicy(allow=("127.0.0.1",)), resolver=names("a.test", "b.test"))
    response = egress.request(
        "GET",
        server.url("/go", host="a.test"),
        headers=CREDENTIALS,
        follow_redirects=True,
        auth_headers=frozenset({"x-api-key"}),
    )
    first, second = server.requests
    assert first.headers["authorization"] == "Bearer s3cret-token"
    assert first.headers["x-api-key"] == "key-123456"
    for name in ("authorization", "cookie", "x-api-key"):
        assert name not in second.headers
    assert second.headers["x-trace"] == "keep-me"
    assert response.status_code == 200


def test_credential_headers_are_dropped_when_only_the_port_changes(
    server: FakeServer,
) -> None:
    with serving() as other:
        server.routes["/go"] = _redirect_to(other.url("/echo"))
        loopback().request("GET", server.url("/go"), headers=CREDENTIALS, follow_redirects=True)
        assert "authorization" not in other.requests[0].headers


def test_credential_headers_stay_on_a_redirect_within_the_same_origin(server: FakeServer) -> None:
    server.routes["/go"] = _redirect_to("/echo")
    loopback().request(
        "GET",
        server.url("/go"),
        headers=CREDENTIALS,
        follow_redirects=True,
        auth_headers=frozenset({"x-api-key"}),
    )
    assert server.requests[1].headers["authorization"] == "Bearer s3cret-token"
    assert server.requests[1].headers["x-api-key"] == "key-123456"


@pytest.mark.parametrize(
    ("status", "method", "body"),
    [(303, "GET", ""), (302, "GET", ""), (307, "POST", "data"), (308, "POST", "data")],
)
def test_redirect_method_and_body_follow_the_status(
    server: FakeServer, status: int, method: str, body: str
) -> None:
    server.routes["/go"] = lambda request, reply: reply(status, b"", {"Location": "/echo"})
    response = loopback().request("POST", server.url("/go"), content=b"data", follow_redirects=True)
    assert (response.json()["method"], response.json()["body"]) == (method, body)


def _endless(request: Seen, reply: Reply) -> None:
    handler = request.handler
    handler.send_response(200)
    handler.send_header("Content-Type", "application/octet-stream")
    handler.end_headers()  # no length: the body ends when the connection does
    chunk = b"x" * 65536
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        handler.wfile.write(chunk)
    handler.close_connection = True


def test_endless_response_stops_at_the_size_cap(server: FakeServer) -> None:
    server.routes["/endless"] = _endless
    started = time.monotonic()
    with pytest.raises(EgressError, match="Response is larger than 100000 bytes"):
        loopback().request("GET", server.url("/endless"), max_bytes=100_000)
    assert time.monotonic() - started < 2


def test_policy_size_cap_applies_when_the_caller_asks_for_more(server: FakeServer) -> None:
    server.routes["/big"] = lambda request, reply: reply(200, b"y" * 5000)
    with pytest.raises(EgressError, match="Response is larger than 1000 bytes"):
        loopback(max_response_bytes=1000).request("GET", server.url("/big"), max_bytes=10**9)
    assert (
        loopback(max_response_bytes=5000).request("GET", server.url("/big")).content == b"y" * 5000
    )


def _drip(request: Seen, reply: Reply) -> None:
    handler = request.handler
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    for _ in range(1000):  # one byte every 0.1 s: no single read ever waits long
        handler.wfile.write(b"z")
        handler.wfile.flush()
        time.sleep(0.1)


def test_slow_drip_response_ends_at_the_total_timeout(server: FakeServer) -> None:
    server.routes["/drip"] = _drip
    started = time.monotonic()
    with pytest.raises(EgressError, match=r"timed out after 1 s"):
        loopback().request("GET", server.url("/drip"), timeout=1.0)
    assert 0.9 < time.monotonic() - started < 1.6


def test_silent_server_ends_at_the_policy_timeout(server: FakeServer) -> None:
    server.routes["/silent"] = lambda request, reply: time.sleep(3)
    started = time.monotonic()
    with pytest.raises(EgressError, match=r"timed out after 0.5 s"):
        loopback(timeout_s=0.5).request("GET", server.url("/silent"), timeout=60)
    assert time.monotonic() - started < 1.2


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/",
        "gopher://example.com/",
        "data:text/plain,hi",
        "javascript:alert(1)",
        "example.com/path",
        "http:///nohost",
    ],
)
def test_only_http_and_https_urls_are_allowed(url: str) -> None:
    with pytest.raises(EgressDenied):
        Egress().request("GET", url)


def test_connection_refused_is_a_readable_error(server: FakeServer) -> None:
    port = server.port
    server.stop()
    with pytest.raises(
        EgressError, match=f"Request to http://127.0.0.1:{port}/ failed: Connection refused"
    ):
        loopback().request("GET", f"http://127.0.0.1:{port}/?token=secret-in-query")


def test_error_messages_never_show_the_query_or_user_info(server: FakeServer) -> None:
    server.routes["/silent"] = lambda request, reply: time.sleep(2)
    with pytest.raises(EgressError) as caught:
        loopback().request(
            "GET", f"http://user:pw@127.0.0.1:{server.port}/silent?api_key=abcdef", timeout=0.3
        )
    assert "abcdef" not in caught.value.message and "pw" not in caught.value.message


@pytest.mark.parametrize("value", ["Bearer tok-123456\n", "Bearer tok-123456\r\nX-Evil: 1", "a\0b"])
def test_a_header_with_control_characters_is_not_sent_nor_quoted(
    server: FakeServer, value: str
) -> None:
    """The error never quotes the value: it may be a credential, pasted with a line break."""
    with pytest.raises(EgressError, match="a header name or value is not valid") as caught:
        loopback().request("GET", server.url("/echo"), headers={"Authorization": value})
    assert "tok-123456" not in caught.value.message
    assert server.requests == []
