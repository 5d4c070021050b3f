"""The run's credential resolver with the real database, and redaction in the engine.

A test-only node type uses a credential through ``NodeCall.credential`` and echoes its
secret into its output, logs and error: what the engine records must hold "***" instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from fluxolab import engine
from fluxolab.credentials import service
from fluxolab.engine.call import NodeCall
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.registry import registry
from fluxolab.executions.services import record_usage, run_services
from fluxolab.extensions import db
from fluxolab.models import Credential
from tests.factories import Account, make_account

CANARY = "canary-9b1f4e2a-secret"


def echo_secret(call: NodeCall) -> Outputs:
    """Use the credential, then leak its secret every way a node can."""
    params = call.params()
    credential = call.credential(params.get("credentialId"), ("http-bearer", "http-basic"))
    secret = str(credential.secret.get("token") or credential.secret.get("password"))
    call.logs.append(f"calling with {secret}")
    if params.get("fail"):
        raise NodeError(f"upstream refused token {secret}", "HttpError")
    return {"main": [{"json": {"echo": secret, secret: [f"Bearer {secret}"], "n": 1}}]}


ECHO = NodeType(
    type="test-credential-echo",
    name="Credential echo",
    description="Echoes its credential's secret (tests only)",
    category="core",
    icon="key",
    run=echo_secret,
    config_schema={
        "type": "object",
        "properties": {"credentialId": {"type": "string"}, "fail": {"type": "boolean"}},
    },
)


@pytest.fixture(autouse=True)
def echo_node() -> Iterator[None]:
    registry.add(ECHO)
    yield
    registry._types.pop(ECHO.type)
    registry._lookup.pop(ECHO.type)


@pytest.fixture()
def account(app_ctx: Flask) -> Account:
    return make_account()


def bearer(account: Account, token: str = CANARY, name: str = "api") -> uuid.UUID:
    fields = {"name": name, "type": "http-bearer", "secret": {"token": token}}
    return service.create_credential(account.workspace_id, account.user_id, fields).id


def definition(credential_id: Any, fail: bool = False) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "t", "type": "manual"},
            {
                "id": "use",
                "name": "Chamar API",
                "type": ECHO.type,
                "params": {"credentialId": str(credential_id), "fail": fail},
            },
            {"id": "after", "type": "no-op"},
        ],
        "connections": [{"from": "t", "to": "use"}, {"from": "use", "to": "after"}],
    }


def run(account: Account, credential_id: Any, fail: bool = False) -> engine.RunResult:
    ctx = engine.RunContext(
        execution_id=str(uuid.uuid4()),
        workflow={"id": "w", "name": "W"},
        services=run_services(account.workspace_id),
    )
    return engine.run(definition(credential_id, fail), [{"json": {}}], ctx)


def everything(result: engine.RunResult) -> str:
    """All a run would store, as text."""
    parts = [str(step.to_dict()) for step in result.steps]
    return "".join([*parts, str(result.error), str(result.output), str(result.response)])


def test_a_succeeding_run_stores_the_secret_nowhere(account: Account) -> None:
    result = run(account, bearer(account))
    assert result.status == "succeeded", result.error
    assert CANARY not in everything(result)
    use, after = result.steps[1], result.steps[2]
    assert use.output["main"] == [{"json": {"echo": "***", "***": ["Bearer ***"], "n": 1}}]
    assert use.logs == ["calling with ***"]
    assert after.input_items == use.output["main"]  # the next step's stored input too
    assert result.output == use.output["main"]


def test_a_failing_run_stores_the_secret_nowhere(account: Account) -> None:
    result = run(account, bearer(account), fail=True)
    assert result.status == "failed"
    assert CANARY not in everything(result)
    assert result.error is not None
    assert result.error["message"] == "upstream refused token ***"
    assert result.steps[1].error == {"message": "upstream refused token ***", "type": "HttpError"}


def test_short_values_are_not_redacted(account: Account) -> None:
    result = run(account, bearer(account, token="abc12"))
    assert result.steps[1].output["main"][0]["json"]["echo"] == "abc12"


def test_basic_auth_header_value_is_redacted_too(account: Account) -> None:
    fields = {"name": "b", "type": "http-basic", "secret": {"user": "ana", "password": CANARY}}
    credential = service.create_credential(account.workspace_id, account.user_id, fields)
    resolved = run_services(account.workspace_id)["credentials"].get(str(credential.id))
    assert resolved is not None
    assert CANARY in resolved.secret_values
    assert any(value != CANARY for value in resolved.secret_values)  # base64("ana:...")


def test_node_test_path_redacts_as_a_run_does(account: Account) -> None:
    node = definition(bearer(account))["nodes"][1]
    ctx = engine.RunContext(
        execution_id="test",
        workflow={"id": "w", "name": "W"},
        services=run_services(account.workspace_id),
    )
    step = engine.run_node(node, [{"json": {}}], ctx)
    assert step.status == "succeeded"
    assert CANARY not in str(step.to_dict())


def test_missing_credential_fails_the_step_naming_the_node(account: Account) -> None:
    result = run(account, uuid.uuid4())
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["message"].startswith("Node 'Chamar API': credential ")
    assert result.error["message"].endswith("was not found")


def test_another_workspaces_credential_is_not_resolved(account: Account) -> None:
    other = make_account()
    result = run(account, bearer(other))
    assert result.status == "failed"
    assert result.error is not None and "was not found" in result.error["message"]


def test_inactive_credential_is_not_resolved(account: Account) -> None:
    credential_id = bearer(account)
    service.update_credential(account.workspace_id, credential_id, None, {"isActive": False})
    result = run(account, credential_id)
    assert result.status == "failed"
    assert result.error is not None
    assert "Chamar API" in result.error["message"] and "was not found" in result.error["message"]


def test_not_a_uuid_is_not_found(account: Account) -> None:
    resolver = run_services(account.workspace_id)["credentials"]
    assert resolver.get("not-a-uuid") is None


def test_usage_is_recorded_once_per_run_without_touching_updated_at(account: Account) -> None:
    used, unused = bearer(account, name="used"), bearer(account, name="unused")
    before = db.session.get(Credential, used)
    assert before is not None
    edited = before.updated_at
    services = run_services(account.workspace_id)
    resolver = services["credentials"]
    first = resolver.get(str(used))
    assert resolver.get(str(used)) is first  # decrypted once per run
    assert resolver.used == [used]
    record_usage(services)
    db.session.commit()
    db.session.expire_all()
    row, other = db.session.get(Credential, used), db.session.get(Credential, unused)
    assert row is not None and other is not None
    assert row.last_used_at is not None and other.last_used_at is None
    assert row.updated_at == edited


def test_nothing_is_written_when_no_credential_was_used(account: Account) -> None:
    services = run_services(account.workspace_id)
    record_usage(services)  # no statement at all
    assert services["credentials"].used == []


def test_resolving_holds_no_transaction_open_while_the_run_works(account: Account) -> None:
    credential_id = bearer(account)
    db.session.commit()
    assert not db.session().in_transaction()
    resolver = run_services(account.workspace_id)["credentials"]
    assert resolver.get(str(credential_id)) is not None
    assert not db.session().in_transaction()
