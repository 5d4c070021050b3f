"""The HTTP Request node against a real loopback server, opened through the allow-list."""

from __future__ import annotations

import base64
import copy
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from fluxolab.egress import Egress, EgressPolicy
from fluxolab.engine import RunContext, catalog, run_node
from fluxolab.engine.credentials import Credential
from fluxolab.engine.records import StepRecord
from tests.engine.conftest import FakeClock
from tests.engine.helpers import items, jsons, node
from tests.fake_http import FakeServer, Reply, Seen, serving

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


class Credentials:
    """A credential resolver over a fixed set (the workspace's credentials)."""

    def __init__(self, *credentials: Credential) -> None:
        self.by_id = {credential.id: credential for credential in credentials}

    def get(self, credential_id: str) -> Credential | None:
        return self.by_id.get(credential_id)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with serving("127.0.0.1") as running:
        yield running


@pytest.fixture
def egress() -> Egress:
    """Loopback opened by address, and the test names ``api.test``/``other.test`` by name."""
    return Egress(
        EgressPolicy(allow=("127.0.0.1", "api.test", "other.test")),
        resolver=lambda host, port: ["127.0.0.1"],
    )


@pytest.fixture
def run(make_ctx: Callable[..., RunContext], egress: Egress) -> Callable[..., StepRecord]:
    """Run one http-request node with ``params`` on ``inputs``; credentials by keyword."""

    def runner(
        inputs: list[dict[str, Any]] | None = None,
        credentials: tuple[Credential, ...] = (),
        settings: dict[str, Any] | None = None,
        guard: Egress | None = None,
        **params: Any,
    ) -> StepRecord:
        ctx = make_ctx(
            services={"egress": guard or egress, "credentials": Credentials(*credentials)}
        )
        definition = node("h", "http-request", **params)
        if settings:
            definition["settings"] = settings
        return run_node(definition, inputs if inputs is not None else items({}), ctx)

    return runner


def ok(step: StepRecord) -> list[dict[str, Any]]:
    assert step.status == "succeeded", step.error
    return step.output["main"]


def failed(step: StepRecord) -> dict[str, Any]:
    assert step.status == "failed"
    assert step.error is not None
    return step.error


def test_catalog_lists_http_request_as_an_action_with_the_contract_fields() -> None:
    template = next(t for t in catalog.templates() if t["id"] == "http-request")
    assert (template["category"], template["icon"]) == ("action", "globe")
    assert (template["inputs"], template["outputs"]) == (1, 1)
    assert template["configSchema"]["required"] == ["url", "method"]
    assert template["defaultConfig"] == {"method": "GET", "headers": {}, "body": ""}
    methods = template["configSchema"]["properties"]["method"]["enum"]
    assert methods[:5] == ["GET", "POST", "PUT", "DELETE", "PATCH"]


def test_get_sends_query_and_headers(run, server: FakeServer) -> None:
    step = run(
        url=server.url("/echo"),
        method="GET",
        query={"q": "a b", "n": 2, "tag": ["x", "y"]},
        headers={"X-Token": "t", "X-Num": 3},
    )
    [item] = jsons(ok(step))
    assert item["method"] == "GET"
    assert item["query"] == {"q": ["a b"], "n": ["2"], "tag": ["x", "y"]}
    assert (item["headers"]["x-token"], item["headers"]["x-num"]) == ("t", "3")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_each_method_is_sent_as_asked(run, server: FakeServer, method: str) -> None:
    [item] = jsons(ok(run(url=server.url("/echo"), method=method)))
    assert item["method"] == method


def test_head_returns_no_body(run, server: FakeServer) -> None:
    step = run(url=server.url("/echo"), method="HEAD", fullResponse=True)
    [item] = jsons(ok(step))
    assert item["statusCode"] == 200
    assert item["body"] is None  # no body to read
    assert server.requests[0].method == "HEAD"


def test_one_request_per_item_with_expressions(run, server: FakeServer) -> None:
    step = run(
        items({"id": 1}, {"id": 2}, {"id": 3}),
        url=server.url("/things/") + "{{ $json.id }}",
        method="GET",
    )
    assert [entry["path"] for entry in jsons(ok(step))] == ["/things/1", "/things/2", "/things/3"]


@pytest.mark.parametrize(
    ("params", "content_type", "body"),
    [
        ({"body": {"a": 1, "b": [1, 2]}}, "application/json", '{"a":1,"b":[1,2]}'),
        ({"body": '{"a": 1}', "bodyType": "json"}, "application/json", '{"a":1}'),
        (
            {"body": {"a": "x y", "b": 2}, "bodyType": "form"},
            "application/x-www-form-urlencoded",
            "a=x+y&b=2",
        ),
        ({"body": "a=1&b=2", "bodyType": "form"}, "application/x-www-form-urlencoded", "a=1&b=2"),
        ({"body": "plain text"}, "text/plain; charset=utf-8", "plain text"),
        (
            {"body": "<a/>", "bodyType": "raw", "contentType": "application/xml"},
            "application/xml",
            "<a/>",
        ),
    ],
    ids=["json-object", "json-text", "form-object", "form-encoded", "raw-default", "raw-typed"],
)
def test_body_types(run, server: FakeServer, params: dict, content_type: str, body: str) -> None:
    [item] = jsons(ok(run(url=server.url("/echo"), method="POST", **params)))
    assert item["headers"]["content-type"] == content_type
    assert item["body"] == body


def test_invalid_json_body_text_fails_with_the_field(run, server: FakeServer) -> None:
    error = failed(run(url=server.url("/echo"), method="POST", body="{nope", bodyType="json"))
    assert error["message"].startswith("Field 'body': not valid JSON")
    assert server.requests == []


def test_multipart_sends_fields_files_and_the_input_binary(run, server: FakeServer) -> None:
    upload = {
        "data": base64.b64encode(b"file-bytes").decode(),
        "fileName": "a.txt",
        "mimeType": "text/plain",
    }
    inputs = [
        {
            "json": {},
            "binary": {
                "photo": {
                    "data": base64.b64encode(PNG).decode(),
                    "mimeType": "image/png",
                    "fileName": "p.png",
                }
            },
        }
    ]
    step = run(
        inputs,
        url=server.url("/upload"),
        method="POST",
        bodyType="multipart",
        body={"title": "hello", "count": 2, "doc": upload, "image": {"binaryProperty": "photo"}},
    )
    ok(step)
    seen = server.requests[0]
    assert seen.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="title"\r\n\r\nhello\r\n' in seen.body
    assert b'name="count"\r\n\r\n2\r\n' in seen.body
    assert (
        b'name="doc"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile-bytes' in seen.body
    )
    assert b'filename="p.png"\r\nContent-Type: image/png\r\n\r\n' + PNG in seen.body


def test_multipart_with_a_missing_input_binary_fails(run, server: FakeServer) -> None:
    error = failed(
        run(
            url=server.url("/u"),
            method="POST",
            bodyType="multipart",
            body={"image": {"binaryProperty": "photo"}},
        )
    )
    assert error["message"] == "Field 'body.image': the input item has no binary 'photo'"


# -- credentials ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credential", "header", "value"),
    [
        (
            Credential("c1", "Key", "http-header", {"name": "X-Api-Key", "value": "k-123456"}),
            "x-api-key",
            "k-123456",
        ),
        (
            Credential("c2", "Bearer", "http-bearer", {"token": "tok-abcdef"}),
            "authorization",
            "Bearer tok-abcdef",
        ),
        (
            Credential("c3", "Basic", "http-basic", {"user": "ana", "password": "pä ss"}),
            "authorization",
            "Basic " + base64.b64encode("ana:pä ss".encode()).decode(),
        ),
    ],
    ids=["http-header", "http-bearer", "http-basic"],
)
def test_header_credentials_are_applied(
    run, server: FakeServer, credential: Credential, header: str, value: str
) -> None:
    step = run(
        url=server.url("/echo"),
        method="GET",
        credentialId=credential.id,
        credentials=(credential,),
        headers={"Authorization": "user's own"},
    )
    [item] = jsons(ok(step))
    assert item["headers"][header] == value


def test_api_key_query_credential_adds_the_parameter(run, server: FakeServer) -> None:
    credential = Credential("c4", "Q", "api-key-query", {"name": "api_key", "value": "q-123456"})
    step = run(
        url=server.url("/echo?x=1"), method="GET", credentialId="c4", credentials=(credential,)
    )
    assert jsons(ok(step))[0]["query"] == {"x": ["1"], "api_key": ["q-123456"]}


def test_missing_or_wrong_credential_fails_naming_the_node(run, server: FakeServer) -> None:
    assert (
        "credential nope was not found"
        in failed(run(url=server.url("/"), method="GET", credentialId="nope"))["message"]
    )
    smtp = Credential("s", "Mail", "smtp", {"host": "x"})
    message = failed(run(url=server.url("/"), method="GET", credentialId="s", credentials=(smtp,)))[
        "message"
    ]
    assert message.startswith("Node 'h': credential 'Mail' is of type smtp")


def _oauth_server(server: FakeServer, expires_in: int = 3600) -> dict[str, Any]:
    """Serve /token (counting fetches, one new token each) and /api (wanting the last one)."""
    state: dict[str, Any] = {"fetches": [], "valid": None}

    @server.on("/token")
    def token(request: Seen, reply: Reply) -> None:
        state["fetches"].append(request)
        state["valid"] = f"token-{len(state['fetches'])}"
        reply(
            200, {"access_token": state["valid"], "token_type": "bearer", "expires_in": expires_in}
        )

    @server.on("/api")
    def api(request: Seen, reply: Reply) -> None:
        if request.headers.get("authorization") != f"Bearer {state['valid']}":
            reply(401, {"error": "invalid_token"})
        else:
            # the token itself is a secret the step redacts; its number is not
            reply(200, {"ok": True, "token": state["valid"], "n": len(state["fetches"])})

    return state


def _oauth(server: FakeServer, credential_id: str, **extra: Any) -> Credential:
    secret = {
        "tokenUrl": server.url("/token"),
        "clientId": "my id",
        "clientSecret": "s3cr3t!x",
        **extra,
    }
    return Credential(credential_id, "OAuth", "oauth2-client-credentials", secret)


def test_oauth2_token_is_fetched_once_and_cached(run, server: FakeServer) -> None:
    state = _oauth_server(server)
    credential = _oauth(server, "oauth-cache", scope="read write", audience="api")
    for _ in range(2):
        step = run(
            items({}, {}),
            url=server.url("/api"),
            method="GET",
            credentialId=credential.id,
            credentials=(credential,),
        )
        answers = jsons(ok(step))
        assert [(entry["n"], entry["token"]) for entry in answers] == [(1, "***"), (1, "***")]
    [fetch] = state["fetches"]
    assert fetch.method == "POST"
    form = fetch.body.decode()
    assert "grant_type=client_credentials" in form and "scope=read+write" in form
    assert "audience=api" in form and "client_secret" not in form
    expected = base64.b64encode(b"my%20id:s3cr3t%21x").decode()
    assert fetch.headers["authorization"] == f"Basic {expected}"


def test_oauth2_body_auth_style_sends_the_client_in_the_form(run, server: FakeServer) -> None:
    state = _oauth_server(server)
    credential = _oauth(server, "oauth-body", authStyle="body")
    ok(
        run(
            url=server.url("/api"),
            method="GET",
            credentialId=credential.id,
            credentials=(credential,),
        )
    )
    form = state["fetches"][0].body.decode()
    assert "client_id=my+id" in form and "client_secret=s3cr3t%21x" in form
    assert "authorization" not in state["fetches"][0].headers


def test_oauth2_token_is_refreshed_once_on_401(run, server: FakeServer) -> None:
    state = _oauth_server(server)
    credential = _oauth(server, "oauth-refresh")
    ok(
        run(
            url=server.url("/api"),
            method="GET",
            credentialId=credential.id,
            credentials=(credential,),
        )
    )
    state["valid"] = "revoked"  # the provider revokes the cached token
    step = run(
        url=server.url("/api"), method="GET", credentialId=credential.id, credentials=(credential,)
    )
    assert jsons(ok(step)) == [{"ok": True, "token": "***", "n": 2}]
    assert len(state["fetches"]) == 2


def test_oauth2_a_second_401_fails_the_node(run, server: FakeServer) -> None:
    server.routes["/token"] = lambda request, reply: reply(200, {"access_token": "never-ok"})
    server.routes["/api"] = lambda request, reply: reply(401, {"error": "nope"})
    credential = _oauth(server, "oauth-denied")
    error = failed(
        run(
            url=server.url("/api"),
            method="GET",
            credentialId=credential.id,
            credentials=(credential,),
        )
    )
    assert error["statusCode"] == 401
    assert [seen.path for seen in server.requests] == ["/token", "/api", "/token", "/api"]


def test_oauth2_token_endpoint_error_is_readable(run, server: FakeServer) -> None:
    server.routes["/token"] = lambda request, reply: reply(
        400, {"error": "invalid_client", "error_description": "Client authentication failed"}
    )
    credential = _oauth(server, "oauth-bad-client")
    error = failed(
        run(
            url=server.url("/api"),
            method="GET",
            credentialId=credential.id,
            credentials=(credential,),
        )
    )
    assert error["message"] == (
        "Node 'h': OAuth2 token request failed with status 400: Client authentication failed"
    )
    assert error["type"] == "CredentialError"


# -- redirects, responses ----------------------------------------------------------------------


def test_redirects_are_returned_unless_followed(run, server: FakeServer) -> None:
    server.routes["/old"] = lambda request, reply: reply(302, b"", {"Location": "/echo"})
    [item] = jsons(ok(run(url=server.url("/old"), method="GET", fullResponse=True)))
    assert (item["statusCode"], item["headers"]["location"]) == (302, "/echo")
    [item] = jsons(ok(run(url=server.url("/old"), method="GET", followRedirects=True)))
    assert item["path"] == "/echo"


def test_redirect_to_an_internal_address_fails_the_node(run, server: FakeServer) -> None:
    with serving("127.0.0.2") as internal:
        server.routes["/go"] = lambda request, reply: reply(
            302, b"", {"Location": internal.url("/admin")}
        )
        error = failed(
            run(url=server.url("/go", host="api.test"), method="GET", followRedirects=True)
        )
        assert error["message"] == "Destination 127.0.0.2 is not allowed: loopback address"
        assert error["type"] == "EgressDenied"
        assert internal.requests == []


def test_credential_header_is_not_sent_to_another_host(run, server: FakeServer) -> None:
    server.routes["/go"] = lambda request, reply: reply(
        307, b"", {"Location": server.url("/echo", host="other.test")}
    )
    credential = Credential("c-x", "Key", "http-header", {"name": "X-Api-Key", "value": "k-999999"})
    step = run(
        url=server.url("/go", host="api.test"),
        method="GET",
        followRedirects=True,
        credentialId=credential.id,
        credentials=(credential,),
    )
    assert "x-api-key" not in jsons(ok(step))[0]["headers"]
    assert server.requests[0].headers["x-api-key"] == "k-999999"


def test_default_guard_refuses_loopback(run, server: FakeServer) -> None:
    error = failed(run(url=server.url("/"), method="GET", guard=Egress()))
    assert error["message"] == "Destination 127.0.0.1 is not allowed: loopback address"
    assert server.requests == []


@pytest.mark.parametrize(
    ("route", "fmt", "expected"),
    [
        (lambda q, r: r(200, {"a": 1}), "auto", {"a": 1}),
        (lambda q, r: r(200, [1, 2]), "auto", {"data": [1, 2]}),
        (lambda q, r: r(200, "hi", {"Content-Type": "text/plain"}), "auto", {"data": "hi"}),
        (lambda q, r: r(200, '{"a": 2}', {"Content-Type": "text/plain"}), "json", {"a": 2}),
        (lambda q, r: r(200, {"a": 1}), "text", {"data": '{"a": 1}'}),
        (
            lambda q, r: r(200, "{broken", {"Content-Type": "application/json"}),
            "auto",
            {"data": "{broken"},
        ),
    ],
    ids=["json-object", "json-array", "text", "forced-json", "forced-text", "bad-json-as-text"],
)
def test_response_formats(run, server: FakeServer, route, fmt: str, expected: dict) -> None:
    server.routes["/r"] = route
    assert jsons(ok(run(url=server.url("/r"), method="GET", responseFormat=fmt))) == [expected]


def test_forced_json_that_is_not_json_fails(run, server: FakeServer) -> None:
    server.routes["/r"] = lambda q, r: r(200, "not json", {"Content-Type": "text/plain"})
    error = failed(run(url=server.url("/r"), method="GET", responseFormat="json"))
    assert error["message"] == "Response is not valid JSON: not json"


def test_binary_response_becomes_base64_binary_data(run, server: FakeServer) -> None:
    server.routes["/img.png"] = lambda q, r: r(200, PNG, {"Content-Type": "image/png"})
    [item] = ok(run(url=server.url("/img.png"), method="GET"))
    assert item["binary"]["data"] == {
        "data": base64.b64encode(PNG).decode(),
        "mimeType": "image/png",
        "fileName": "img.png",
        "fileSize": len(PNG),
    }
    assert item["json"] == {"mimeType": "image/png", "fileName": "img.png", "fileSize": len(PNG)}


def test_binary_format_takes_the_file_name_from_content_disposition(
    run, server: FakeServer
) -> None:
    server.routes["/dl"] = lambda q, r: r(
        200,
        b"a,b\n",
        {"Content-Type": "text/csv", "Content-Disposition": 'attachment; filename="r.csv"'},
    )
    [item] = ok(run(url=server.url("/dl"), method="GET", responseFormat="binary"))
    assert (item["binary"]["data"]["fileName"], item["binary"]["data"]["data"]) == (
        "r.csv",
        "YSxiCg==",
    )


def test_response_over_the_size_cap_fails(run, server: FakeServer) -> None:
    server.routes["/big"] = lambda q, r: r(200, b"x" * 5000, {"Content-Type": "image/png"})
    error = failed(run(url=server.url("/big"), method="GET", maxResponseBytes=1000))
    assert error["message"] == "Response is larger than 1000 bytes"


def test_full_response_has_status_headers_and_body(run, server: FakeServer) -> None:
    server.routes["/r"] = lambda q, r: r(201, {"id": 7}, {"X-Request-Id": "abc"})
    [item] = jsons(ok(run(url=server.url("/r"), method="POST", fullResponse=True)))
    assert item["statusCode"] == 201
    assert item["headers"]["x-request-id"] == "abc"
    assert item["body"] == {"id": 7}


# -- errors, retries ---------------------------------------------------------------------------


def test_error_status_fails_with_status_and_body_excerpt(run, server: FakeServer) -> None:
    server.routes["/missing"] = lambda q, r: r(404, {"error": "no such thing " + "x" * 500})
    error = failed(run(url=server.url("/missing"), method="GET"))
    assert error["message"].startswith(
        'Request failed with status 404 Not Found: {"error": "no such'
    )
    assert error["message"].endswith("...")
    assert len(error["message"]) < 300
    assert (error["type"], error["statusCode"]) == ("HttpError", 404)


def test_never_error_outputs_the_error_response(run, server: FakeServer) -> None:
    server.routes["/missing"] = lambda q, r: r(404, {"error": "gone"})
    step = run(url=server.url("/missing"), method="GET", neverError=True, fullResponse=True)
    assert jsons(ok(step)) == [
        {"statusCode": 404, "headers": jsons(ok(step))[0]["headers"], "body": {"error": "gone"}}
    ]


def _flaky(server: FakeServer, *answers: tuple[int, dict[str, str]]) -> None:
    """Answer /flaky with ``answers`` in turn, then 200."""
    queue = list(answers)

    def route(request: Seen, reply: Reply) -> None:
        if queue:
            status, headers = queue.pop(0)
            reply(status, {"status": status}, headers)
        else:
            reply(200, {"ok": True})

    server.routes["/flaky"] = route


def test_429_is_retried_after_the_seconds_of_retry_after(
    run, server: FakeServer, clock: FakeClock
) -> None:
    _flaky(server, (429, {"Retry-After": "3"}), (503, {}))
    step = run(url=server.url("/flaky"), method="GET", retries=2)
    assert jsons(ok(step)) == [{"ok": True}]
    assert clock.sleeps == [3.0, 2.0]  # Retry-After, then the backoff of the second try
    assert len(server.requests) == 3
    assert step.logs[0] == "Item 0: status 429, retry 1/2 in 3 s"


def test_retry_after_as_an_http_date_is_honoured(run, server: FakeServer, clock: FakeClock) -> None:
    later = format_datetime(clock.moment.replace(microsecond=0) + timedelta(seconds=5), usegmt=True)
    _flaky(server, (503, {"Retry-After": later}))
    ok(run(url=server.url("/flaky"), method="GET", retries=1))
    assert clock.sleeps == [5.0]


def test_retries_stop_when_the_wait_would_pass_the_deadline(
    run, server: FakeServer, clock: FakeClock
) -> None:
    _flaky(server, (429, {"Retry-After": "30"}))
    error = failed(
        run(url=server.url("/flaky"), method="GET", retries=3, settings={"timeoutMs": 2000})
    )
    assert error["statusCode"] == 429
    assert clock.sleeps == []


def test_no_retries_by_default_and_none_for_other_statuses(run, server: FakeServer) -> None:
    _flaky(server, (503, {}))
    assert failed(run(url=server.url("/flaky"), method="GET"))["statusCode"] == 503
    _flaky(server, (400, {}))
    assert failed(run(url=server.url("/flaky"), method="GET", retries=3))["statusCode"] == 400


# -- concurrency and time ----------------------------------------------------------------------


def _slow(server: FakeServer, seconds: float) -> dict[str, int]:
    """Serve /slow after ``seconds``, counting requests in flight at once."""
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def route(request: Seen, reply: Reply) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(seconds)
        with lock:
            state["now"] -= 1
        reply(200, {"n": request.query["n"][0]})

    server.routes["/slow"] = route
    return state


def test_concurrency_sends_requests_in_parallel_and_keeps_item_order(
    run, server: FakeServer
) -> None:
    state = _slow(server, 0.3)
    started = time.monotonic()
    step = run(
        items(*({"n": n} for n in range(6))),
        url=server.url("/slow"),
        method="GET",
        query={"n": "{{ $json.n }}"},
        concurrency=3,
    )
    assert [entry["n"] for entry in jsons(ok(step))] == [str(n) for n in range(6)]
    assert state["most"] == 3
    assert time.monotonic() - started < 1.2


def test_without_concurrency_requests_go_one_at_a_time(run, server: FakeServer) -> None:
    state = _slow(server, 0.05)
    ok(
        run(
            items({"n": 1}, {"n": 2}, {"n": 3}),
            url=server.url("/slow"),
            method="GET",
            query={"n": "{{ $json.n }}"},
        )
    )
    assert state["most"] == 1


def test_request_timeout_param_fails_the_request(run, server: FakeServer) -> None:
    _slow(server, 2)
    started = time.monotonic()
    error = failed(run(url=server.url("/slow?n=1"), method="GET", timeoutMs=300))
    assert error["message"] == f"Request to {server.url('/slow')} timed out after 0.3 s"
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("concurrency", [1, 4], ids=["sequential", "concurrent"])
def test_node_deadline_interrupts_requests(run, server: FakeServer, concurrency: int) -> None:
    _slow(server, 3)
    started = time.monotonic()
    step = run(
        items({"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}),
        url=server.url("/slow"),
        method="GET",
        query={"n": "{{ $json.n }}"},
        concurrency=concurrency,
        settings={"timeoutMs": 500},
    )
    error = failed(step)
    assert error["type"] in {"NodeTimeout", "EgressError"}
    assert "timed out" in error["message"]
    assert time.monotonic() - started < 1.5
    assert len(server.requests) <= concurrency


def test_node_never_mutates_its_input_items(run, server: FakeServer) -> None:
    binary = {"photo": {"data": base64.b64encode(PNG).decode(), "mimeType": "image/png"}}
    inputs = [{"json": {"id": 1, "tags": ["a"]}, "binary": binary}]
    before = copy.deepcopy(inputs)
    ok(
        run(
            inputs,
            url=server.url("/echo"),
            method="POST",
            bodyType="multipart",
            body={"id": "{{ $json.id }}", "image": {"binaryProperty": "photo"}},
            headers={"X-Id": "{{ $json.id }}"},
        )
    )
    assert inputs == before
