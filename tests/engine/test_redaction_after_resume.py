"""A run resumed after a pause still masks the secrets of credentials used before it.

The checkpoint keeps the ids of the credentials the run used, never their values; the
resumed run resolves them again, because items from before the pause may carry a secret.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from fluxolab.engine import Resume, RunContext, run
from fluxolab.engine.credentials import Credential
from tests.engine.fakes import Credentials, loopback_egress
from tests.engine.helpers import chain, items, node
from tests.helpers import authorization_echo

TOKEN = "resume-canary-token-123456"
BEARER = Credential("cred-1", "API", "http-bearer", {"token": TOKEN}, (TOKEN,))


@pytest.fixture()
def echo_url() -> Iterator[str]:
    with authorization_echo(200) as url:
        yield url


def test_steps_after_a_resume_mask_a_secret_resolved_before_the_pause(
    ctx: RunContext, echo_url: str
) -> None:
    services = {"egress": loopback_egress(), "credentials": Credentials(BEARER)}
    ctx = dataclasses.replace(ctx, services=services)
    definition = chain(
        node("t", "manual"),
        node("h", "http-request", url=echo_url, method="GET", credentialId=BEARER.id),
        node("w", "wait", amount=5, unit="minutes"),
        node("s", "set", fields=[{"name": "done", "value": True}]),
    )
    first = run(definition, items({}), ctx)
    assert first.status == "waiting" and first.state is not None
    assert TOKEN not in json.dumps(first.state["credentials"])
    assert TOKEN not in json.dumps([step.output for step in first.steps])

    second = run(definition, [], ctx, resume=Resume(first.state))
    assert second.status == "succeeded"
    stored = json.dumps([(step.input_items, step.output) for step in second.steps])
    assert "***" in stored
    assert TOKEN not in stored
    assert TOKEN not in json.dumps(second.output)
