"""fluxolab.engine.httpauth: what each HTTP credential type adds, and the OAuth2 token cache."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from fluxolab.egress import Egress, EgressPolicy
from fluxolab.engine import httpauth
from fluxolab.engine.credentials import Credential
from tests.fake_http import FakeServer, Reply, Seen, serving

LOOPBACK = Egress(EgressPolicy(allow=("127.0.0.1",)))


@pytest.fixture
def token_server() -> Iterator[FakeServer]:
    """A token endpoint that hands out token-1, token-2 ... with the asked lifetime."""
    with serving() as server:

        @server.on("/token")
        def token(request: Seen, reply: Reply) -> None:
            count = sum(seen.path == "/token" for seen in server.requests)
            lifetime = int(request.query.get("life", ["3600"])[0])
            reply(200, {"access_token": f"token-{count}", "expires_in": lifetime})

        yield server


def oauth(server: FakeServer, credential_id: str, life: int = 3600, **extra: Any) -> Credential:
    secret = {
        "tokenUrl": server.url(f"/token?life={life}"),
        "clientId": "client",
        "clientSecret": "secret-1",
        **extra,
    }
    return Credential(credential_id, "OAuth", "oauth2-client-credentials", secret)


@pytest.mark.parametrize(
    ("kind", "secret", "headers", "params", "auth_headers"),
    [
        ("http-header", {"name": "X-Key", "value": "v"}, {"X-Key": "v"}, {}, {"x-key"}),
        ("http-bearer", {"token": "t"}, {"Authorization": "Bearer t"}, {}, {"authorization"}),
        (
            "http-basic",
            {"user": "u", "password": "p"},
            {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()},
            {},
            {"authorization"},
        ),
        ("api-key-query", {"name": "key", "value": "v"}, {}, {"key": "v"}, set()),
    ],
)
def test_each_static_type_adds_its_header_or_parameter(
    kind: str, secret: dict, headers: dict, params: dict, auth_headers: set
) -> None:
    parts = httpauth.apply(Credential("c", "C", kind, secret), LOOPBACK)
    assert dict(parts.headers) == headers
    assert dict(parts.params) == params
    assert parts.auth_headers == frozenset(auth_headers)


@pytest.mark.parametrize(
    ("kind", "secret", "missing"),
    [
        ("http-header", {"name": "X"}, "value"),
        ("http-bearer", {}, "token"),
        ("http-basic", {"password": "p"}, "user"),
        ("api-key-query", {"value": "v"}, "name"),
        ("oauth2-client-credentials", {"clientId": "a", "clientSecret": "b"}, "tokenUrl"),
    ],
)
def test_a_missing_secret_field_is_named(kind: str, secret: dict, missing: str) -> None:
    with pytest.raises(httpauth.HttpAuthError, match=f"Credential 'C' has no '{missing}'"):
        httpauth.apply(Credential("c", "C", kind, secret), LOOPBACK)


def test_a_non_http_credential_is_refused() -> None:
    with pytest.raises(httpauth.HttpAuthError, match="of type smtp is not an HTTP credential"):
        httpauth.apply(Credential("c", "C", "smtp", {}), LOOPBACK)


def test_oauth2_token_is_cached_and_reported_as_a_secret(token_server: FakeServer) -> None:
    credential = oauth(token_server, "cache-1")
    first = httpauth.apply(credential, LOOPBACK)
    second = httpauth.apply(credential, LOOPBACK)
    assert first.headers == second.headers == {"Authorization": "Bearer token-1"}
    assert first.secrets == ("token-1",)
    assert len(token_server.requests) == 1


def test_oauth2_token_close_to_expiry_is_fetched_again(token_server: FakeServer) -> None:
    credential = oauth(token_server, "expiry-1", life=10)  # inside the 30 s margin
    httpauth.apply(credential, LOOPBACK)
    assert httpauth.apply(credential, LOOPBACK).headers["Authorization"] == "Bearer token-2"


def test_oauth2_cache_is_keyed_by_the_secret_too(token_server: FakeServer) -> None:
    before = oauth(token_server, "edited-1")
    after = oauth(token_server, "edited-1", scope="more")
    assert httpauth.apply(before, LOOPBACK).headers["Authorization"] == "Bearer token-1"
    assert httpauth.apply(after, LOOPBACK).headers["Authorization"] == "Bearer token-2"


def test_invalidate_forgets_the_token(token_server: FakeServer) -> None:
    credential = oauth(token_server, "invalidate-1")
    httpauth.apply(credential, LOOPBACK)
    httpauth.invalidate(credential)
    assert httpauth.apply(credential, LOOPBACK).headers["Authorization"] == "Bearer token-2"


def test_oauth2_token_request_goes_through_the_guard(token_server: FakeServer) -> None:
    with pytest.raises(httpauth.HttpAuthError) as caught:
        httpauth.apply(oauth(token_server, "guarded-1"), Egress())
    assert caught.value.message == (
        "OAuth2 token request failed: Destination 127.0.0.1 is not allowed: loopback address"
    )
    assert token_server.requests == []


def test_oauth2_answer_without_a_token_is_a_readable_error(token_server: FakeServer) -> None:
    token_server.routes["/token"] = lambda request, reply: reply(200, json.dumps({"x": 1}))
    with pytest.raises(httpauth.HttpAuthError, match="failed with status 200"):
        httpauth.apply(oauth(token_server, "no-token-1"), LOOPBACK)
