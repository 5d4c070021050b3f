"""An OAuth2 client's Basic header is redacted like an http-basic one: a token endpoint that
echoes the request in its error body leaks neither the client secret nor its base64 form."""

from __future__ import annotations

import pytest

from fluxolab.credentials.types import get_type
from fluxolab.egress import Egress, EgressPolicy
from fluxolab.engine import httpauth
from fluxolab.engine.credentials import Credential
from fluxolab.engine.redaction import redact_text
from tests.fake_http import Reply, Seen, serving

CLIENT_SECRET = "s3cr3t/with+chars&more"


def _echo_error(request: Seen, reply: Reply) -> None:
    reply(400, f"bad request, got {request.headers.get('authorization')}")


@pytest.mark.parametrize("auth_style", ["header", "body"])
def test_a_token_endpoint_echoing_the_request_leaks_no_secret(auth_style: str) -> None:
    kind = get_type("oauth2-client-credentials")
    assert kind is not None
    with serving("127.0.0.1") as server:
        server.routes["/token"] = _echo_error
        secret = {
            "tokenUrl": server.url("/token"),
            "clientId": "client-1",
            "clientSecret": CLIENT_SECRET,
            "authStyle": auth_style,
        }
        credential = Credential("c1", "OAuth", kind.type, secret, kind.secret_values(secret))
        with pytest.raises(httpauth.HttpAuthError) as caught:
            httpauth.apply(credential, Egress(EgressPolicy(allow=("127.0.0.1",))))
    message = redact_text(caught.value.message, credential.secret_values)
    assert "status 400" in message
    assert "Basic" not in message or "Basic ***" in message
    assert CLIENT_SECRET not in message
