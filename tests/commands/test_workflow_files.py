"""``export-workflow`` / ``import-workflow``: credentials by name, never their data or ids."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from fluxolab.credentials import service as credentials
from fluxolab.extensions import db
from fluxolab.models import Workflow, Workspace
from fluxolab.workflows import service as workflows
from tests.factories import Account, make_account

CANARY = "canary-token-7f3a9c1e5b"
DEFINITION: dict[str, Any] = {
    "nodes": [
        {"id": "t", "type": "manual", "name": "Start", "position": {"x": 1, "y": 2}},
        {
            "id": "h",
            "type": "http-request",
            "name": "Call API",
            "params": {"url": "https://api.example.com/x", "credentialId": None},
        },
        {"id": "w", "type": "webhook", "params": {"path": "in", "method": "POST"}},
    ],
    "connections": [{"from": "t", "to": "h", "label": "go"}],
}


def add_credential(account: Account, name: str, kind: str, token: str) -> uuid.UUID:
    row = credentials.create_credential(
        account.workspace_id,
        account.user_id,
        {"name": name, "type": kind, "secret": {"token": token}},
    )
    return row.id


def add_workflow(
    account: Account, name: str, definition: dict[str, Any], **fields: Any
) -> Workflow:
    return workflows.create_workflow(
        account.workspace_id, account.user_id, {"name": name, "definition": definition, **fields}
    ).workflow


def source_workflow(account: Account) -> tuple[Workflow, uuid.UUID]:
    credential_id = add_credential(account, "Billing API", "http-bearer", CANARY)
    on_error = add_workflow(account, "On error", {"nodes": [], "connections": []})
    definition = json.loads(json.dumps(DEFINITION))
    definition["nodes"][1]["params"]["credentialId"] = str(credential_id)
    workflow = add_workflow(
        account,
        "Sync invoices",
        definition,
        description="nightly",
        tags=["billing", "ops"],
        settings={"error_workflow_id": on_error.id, "minutes_saved_per_run": 2.5},
    )
    return workflow, credential_id


def slug(account: Account) -> str:
    workspace = db.session.get(Workspace, account.workspace_id)
    assert workspace is not None
    return workspace.slug


def workflow_count(account: Account) -> int:
    return int(
        db.session.execute(
            select(func.count())
            .select_from(Workflow)
            .where(Workflow.workspace_id == account.workspace_id)
        ).scalar_one()
    )


def test_export_names_credentials_and_never_includes_their_data_or_ids(
    app: Flask, tmp_path: Path
) -> None:
    account = make_account()
    workflow, credential_id = source_workflow(account)
    target = tmp_path / "wf.json"

    to_stdout = app.test_cli_runner().invoke(args=["export-workflow", str(workflow.id)])
    to_file = app.test_cli_runner().invoke(
        args=["export-workflow", str(workflow.id), "-o", str(target)]
    )

    assert to_stdout.exit_code == 0, to_stdout.output
    assert to_file.exit_code == 0, to_file.output
    document = json.loads(target.read_text())
    assert {**json.loads(to_stdout.output), "exportedAt": document["exportedAt"]} == document
    text = target.read_text() + to_stdout.output
    assert CANARY not in text and str(credential_id) not in text
    assert str(account.workspace_id) not in text and str(workflow.id) not in text
    assert document["format"] == "fluxolab.workflow" and document["version"] == 1
    assert document["name"] == "Sync invoices" and document["tags"] == ["billing", "ops"]
    assert document["settings"] == {"minutesSavedPerRun": 2.5, "errorWorkflow": "On error"}
    http = document["definition"]["nodes"][1]
    assert http["params"] == {
        "url": "https://api.example.com/x",
        "credential": {"name": "Billing API", "type": "http-bearer"},
    }
    assert document["definition"]["nodes"][0]["position"] == {"x": 1, "y": 2}
    assert document["definition"]["connections"] == DEFINITION["connections"]


def test_round_trip_into_another_workspace_resolves_names_there(app: Flask, tmp_path: Path) -> None:
    source, target = make_account(), make_account()
    workflow, _ = source_workflow(source)
    path = tmp_path / "wf.json"
    app.test_cli_runner().invoke(args=["export-workflow", str(workflow.id), "-o", str(path)])
    there = add_credential(target, "billing api", "http-bearer", "another-secret-value")
    on_error = add_workflow(target, "On error", {"nodes": [], "connections": []})

    result = app.test_cli_runner().invoke(
        args=["import-workflow", str(path), "--workspace", slug(target)]
    )

    assert result.exit_code == 0, result.output
    created_id = uuid.UUID(result.output.split()[2])
    created = workflows.get_workflow(target.workspace_id, created_id)
    definition = workflows.current_version(created).definition
    assert created.status == "draft" and not created.active and created.version == 1
    assert (created.name, created.description, created.tags) == (
        "Sync invoices",
        "nightly",
        ["billing", "ops"],
    )
    assert created.error_workflow_id == on_error.id and created.minutes_saved_per_run == 2.5
    assert definition["nodes"][1]["params"] == {
        "url": "https://api.example.com/x",
        "credentialId": str(there),
    }
    assert definition["connections"] == DEFINITION["connections"]
    assert [node["id"] for node in definition["nodes"]] == ["t", "h", "w"]


def test_import_lists_every_missing_reference_and_writes_nothing(
    app: Flask, tmp_path: Path
) -> None:
    source, target = make_account(), make_account()
    workflow, _ = source_workflow(source)
    path = tmp_path / "wf.json"
    app.test_cli_runner().invoke(args=["export-workflow", str(workflow.id), "-o", str(path)])
    document = json.loads(path.read_text())
    document["definition"]["nodes"][2]["params"]["credential"] = {
        "name": "Hook auth",
        "type": "http-header",
    }
    path.write_text(json.dumps(document))
    add_credential(target, "Hook auth", "http-bearer", "yet-another-secret")
    before = workflow_count(target)

    result = app.test_cli_runner().invoke(
        args=["import-workflow", str(path), "--workspace", str(target.workspace_id)]
    )

    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    assert "missing credential 'Billing API' (type http-bearer)" in result.output
    assert "credential 'Hook auth' is of type http-bearer; node 'w' needs http-header" in (
        result.output
    )
    assert "missing error workflow 'On error'" in result.output
    assert workflow_count(target) == before


def test_import_refuses_files_that_are_not_workflow_exports(app: Flask, tmp_path: Path) -> None:
    target = make_account()
    before = workflow_count(target)
    cases = {
        "not json {": "is not JSON",
        "[]": "does not hold a workflow object",
        json.dumps({"format": "n8n", "version": 1, "name": "x", "definition": {"nodes": []}}): (
            "format:"
        ),
        json.dumps(
            {"format": "fluxolab.workflow", "version": 1, "name": "x", "definition": {}}
        ): "definition.nodes:",
    }
    for index, (content, message) in enumerate(cases.items()):
        path = tmp_path / f"{index}.json"
        path.write_text(content)
        result = app.test_cli_runner().invoke(
            args=["import-workflow", str(path), "--workspace", slug(target)]
        )
        assert result.exit_code == 1, result.output
        assert message in result.output

    assert workflow_count(target) == before


def test_import_with_a_new_name_and_export_of_an_unknown_id(app: Flask, tmp_path: Path) -> None:
    account = make_account()
    workflow = add_workflow(account, "Plain", {"nodes": [{"id": "t", "type": "manual"}]})
    path = tmp_path / "wf.json"
    app.test_cli_runner().invoke(args=["export-workflow", str(workflow.id), "-o", str(path)])

    renamed = app.test_cli_runner().invoke(
        args=["import-workflow", str(path), "--workspace", slug(account), "--name", "Copy"]
    )
    unknown = app.test_cli_runner().invoke(args=["export-workflow", str(uuid.uuid4())])

    assert renamed.exit_code == 0, renamed.output
    assert "'Copy'" in renamed.output and workflow_count(account) == 2
    assert unknown.exit_code == 1 and "Error: No workflow" in unknown.output
