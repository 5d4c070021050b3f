"""Workflows as portable JSON files (``fluxolab export-workflow`` / ``import-workflow``).

A file holds the workflow's name, description, tags, settings and current definition. What
only means something inside one workspace is named instead of given by id: a node's
credential becomes ``params.credential = {name, type}`` (never its id or data), the error
workflow becomes its name. Importing resolves those names in the target workspace; when one
is missing nothing is written and the error lists every missing one. The copy is a new draft
(inactive) workflow at version 1.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from fluxolab.errors import NotFound, ValidationFailed
from fluxolab.extensions import db
from fluxolab.models import Credential, Workflow, utcnow
from fluxolab.workflows.service import WorkflowDetail, create_workflow, current_version

FORMAT = "fluxolab.workflow"
FORMAT_VERSION = 1
SUBWORKFLOW_TYPES = frozenset({"execute-workflow"})


@dataclass(frozen=True)
class Export:
    """The file's content, and what the operator should know about it."""

    document: dict[str, Any]
    warnings: list[str]


def _nodes(definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    nodes = definition.get("nodes")
    for node in nodes if isinstance(nodes, list) else ():
        if isinstance(node, dict):
            yield node


def _params(node: dict[str, Any]) -> dict[str, Any] | None:
    params = node.get("params")
    return params if isinstance(params, dict) else None


def _label(node: Mapping[str, Any]) -> str:
    name = node.get("name")
    return f"'{name}' ({node.get('id')})" if name else f"'{node.get('id')}'"


def find_workflow(workflow_id: uuid.UUID) -> Workflow:
    """Return a live workflow of any workspace (operator commands); ``NotFound`` otherwise."""
    workflow = db.session.execute(
        select(Workflow).where(Workflow.id == workflow_id, Workflow.deleted_at.is_(None))
    ).scalar_one_or_none()
    if workflow is None:
        raise NotFound(f"No workflow {workflow_id}.")
    return workflow


def _credentials_by_id(workspace_id: uuid.UUID, ids: set[str]) -> dict[str, Credential]:
    valid = set()
    for value in ids:
        try:
            valid.add(uuid.UUID(value))
        except ValueError:
            continue
    if not valid:
        return {}
    rows = db.session.execute(
        select(Credential).where(Credential.workspace_id == workspace_id, Credential.id.in_(valid))
    ).scalars()
    return {str(row.id): row for row in rows}


def export_workflow(workflow_id: uuid.UUID) -> Export:
    """Return the portable document of a workflow's current version, credentials by name."""
    workflow = find_workflow(workflow_id)
    definition = copy.deepcopy(dict(current_version(workflow).definition))
    warnings: list[str] = []
    referenced = {
        str(params["credentialId"])
        for node in _nodes(definition)
        if (params := _params(node)) and params.get("credentialId")
    }
    found = _credentials_by_id(workflow.workspace_id, referenced)
    for node in _nodes(definition):
        params = _params(node)
        if params is None:
            continue
        if params.get("credentialId"):
            row = found.get(str(params.pop("credentialId")))
            if row is None:
                warnings.append(f"node {_label(node)}: its credential no longer exists; left out")
            else:
                params["credential"] = {"name": row.name, "type": row.type}
        if node.get("type") in SUBWORKFLOW_TYPES and params.get("workflowId"):
            warnings.append(
                f"node {_label(node)} calls workflow {params['workflowId']} by id; "
                "set it again after importing into another workspace"
            )
    settings: dict[str, Any] = {
        "minutesSavedPerRun": workflow.minutes_saved_per_run,
        "errorWorkflow": None,
    }
    if workflow.error_workflow_id is not None:
        target = db.session.get(Workflow, workflow.error_workflow_id)
        settings["errorWorkflow"] = target.name if target is not None else None
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exportedAt": utcnow().isoformat(),
        "name": workflow.name,
        "description": workflow.description,
        "tags": list(workflow.tags or []),
        "settings": settings,
        "definition": definition,
    }
    return Export(document, warnings)


def _credential_ref(node: dict[str, Any], problems: list[str]) -> tuple[str, str] | None:
    params = _params(node)
    if params is None or "credential" not in params:
        return None
    ref = params["credential"]
    if (
        not isinstance(ref, dict)
        or not isinstance(ref.get("name"), str)
        or not isinstance(ref.get("type"), str)
    ):
        problems.append(f"node {_label(node)}: params.credential must be {{name, type}}")
        return None
    return ref["name"], ref["type"]


def _resolve_credentials(
    workspace_id: uuid.UUID, definition: dict[str, Any], problems: list[str]
) -> None:
    """Replace each ``params.credential`` by the id of the same-named credential, in place."""
    refs = {id(node): _credential_ref(node, problems) for node in _nodes(definition)}
    names = {ref[0].lower() for ref in refs.values() if ref}
    rows: dict[str, Credential] = {}
    if names:
        found = db.session.execute(
            select(Credential).where(
                Credential.workspace_id == workspace_id, func.lower(Credential.name).in_(names)
            )
        ).scalars()
        rows = {row.name.lower(): row for row in found}
    missing: dict[tuple[str, str], None] = {}
    for node in _nodes(definition):
        ref = refs.get(id(node))
        if ref is None:
            continue
        row = rows.get(ref[0].lower())
        if row is None:
            missing[ref] = None
        elif row.type != ref[1]:
            problems.append(
                f"credential '{row.name}' is of type {row.type}; node {_label(node)} needs {ref[1]}"
            )
        else:
            params = node["params"]
            del params["credential"]
            params["credentialId"] = str(row.id)
    problems.extend(f"missing credential '{name}' (type {kind})" for name, kind in missing)


def _resolve_error_workflow(
    workspace_id: uuid.UUID, name: str | None, problems: list[str]
) -> uuid.UUID | None:
    if not name:
        return None
    ids = (
        db.session.execute(
            select(Workflow.id).where(
                Workflow.workspace_id == workspace_id,
                Workflow.name == name,
                Workflow.deleted_at.is_(None),
            )
        )
        .scalars()
        .all()
    )
    if len(ids) == 1:
        return ids[0]
    problems.append(
        f"missing error workflow '{name}'"
        if not ids
        else f"{len(ids)} workflows are named '{name}'; the error workflow must be one"
    )
    return None


def import_workflow(workspace_id: uuid.UUID, fields: Mapping[str, Any]) -> WorkflowDetail:
    """Create a draft workflow in the workspace from a validated document.

    Raises ``ValidationFailed`` listing every credential (name and type) and error workflow
    the workspace lacks, before anything is written; ``PlanLimitExceeded`` over the plan's
    workflow quota.
    """
    definition = copy.deepcopy(dict(fields["definition"]))
    settings = dict(fields.get("settings") or {})
    problems: list[str] = []
    _resolve_credentials(workspace_id, definition, problems)
    error_workflow_id = _resolve_error_workflow(
        workspace_id, settings.pop("error_workflow", None), problems
    )
    if problems:
        raise ValidationFailed(
            "The workspace lacks what the workflow refers to (nothing was imported):",
            errors={"references": problems},
        )
    settings["error_workflow_id"] = error_workflow_id
    return create_workflow(
        workspace_id,
        None,
        {
            "name": fields["name"],
            "description": fields.get("description") or "",
            "tags": list(fields.get("tags") or []),
            "settings": settings,
            "definition": definition,
        },
    )
