"""``export-workflow`` / ``import-workflow``: workflows as JSON files, credentials by name."""

from __future__ import annotations

import json
import uuid
from typing import Any, TextIO

import click
from flask.cli import with_appcontext

from fluxolab.commands.common import clear_errors


@click.command("export-workflow")
@click.argument("workflow_id", type=click.UUID)
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8", atomic=True),
    default="-",
    help="Write the JSON here instead of standard output.",
)
@with_appcontext
def export_workflow(workflow_id: uuid.UUID, output: TextIO) -> None:
    """Write a workflow's current version as JSON: nodes, connections, settings, tags.

    A node's credential is written as its name and type (params.credential), never its id
    or its data; the error workflow as its name. Warnings (a credential that no longer
    exists, an Execute Workflow node calling another workflow by id) go to standard error.
    """
    from fluxolab.workflows import transfer

    with clear_errors():
        exported = transfer.export_workflow(workflow_id)
    json.dump(exported.document, output, indent=2, ensure_ascii=False)
    output.write("\n")
    for warning in exported.warnings:
        click.echo(f"warning: {warning}", err=True)


@click.command("import-workflow")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--workspace",
    required=True,
    metavar="ID|SLUG|NAME",
    help="The workspace to create the workflow in.",
)
@click.option("--name", help="Name the new workflow this instead of the name in the file.")
@with_appcontext
def import_workflow(file: TextIO, workspace: str, name: str | None) -> None:
    """Create an inactive (draft) workflow from a file written by export-workflow.

    Credentials are looked up by name (ignoring case) and must have the same type in the
    target workspace, as must the error workflow by name; if any is missing the command
    lists them all, writes nothing and exits with status 1. FILE may be - (stdin).
    """
    from fluxolab.workflows import transfer
    from fluxolab.workflows.schemas import WorkflowFileIn
    from fluxolab.workspaces import service as workspaces

    try:
        raw: Any = json.load(file)
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file.name} is not JSON: {exc}") from exc
    if isinstance(raw, dict) and name is not None:
        raw["name"] = name
    with clear_errors():
        if not isinstance(raw, dict):
            raise click.ClickException(f"{file.name} does not hold a workflow object")
        fields = WorkflowFileIn().load(raw)
        target = workspaces.find_workspace(workspace)
        detail = transfer.import_workflow(target.id, fields)
    click.echo(
        f"imported workflow {detail.workflow.id} '{detail.workflow.name}' into "
        f"{target.name} ({target.slug}), inactive"
    )
