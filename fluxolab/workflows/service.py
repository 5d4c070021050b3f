"""Workflow rules: workspace scoping, plan limit, immutable versions, runnable-when-active.

Invariants kept here:
- a workflow is only visible to its workspace and not once soft-deleted (``NotFound``);
- version rows are never updated: a changed definition (by checksum) adds version N+1, with
  the workflow row locked so concurrent saves cannot compute the same N+1;
- an active workflow's current definition always passes ``validate_definition``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, Protocol

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from fluxolab import audit
from fluxolab.common.pagination import Page, paginate
from fluxolab.engine import validate_definition
from fluxolab.errors import Conflict, NotFound, PlanLimitExceeded, ValidationFailed
from fluxolab.extensions import db
from fluxolab.models import Plan, User, Workflow, WorkflowVersion, Workspace, utcnow
from fluxolab.triggers import sync as triggers

EMPTY_DEFINITION: dict[str, Any] = {"nodes": [], "connections": []}
COPY_SUFFIX = " (copy)"
NAME_MAX = 255


@dataclass(frozen=True)
class WorkflowDetail:
    """A workflow plus the definition of its current version (what ``WorkflowOut`` dumps)."""

    workflow: Workflow
    definition: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.workflow, name)

    @property
    def settings(self) -> dict[str, Any]:
        """The workflow's settings (what ``SettingsOut`` dumps)."""
        return {
            "error_workflow_id": self.workflow.error_workflow_id,
            "minutes_saved_per_run": self.workflow.minutes_saved_per_run,
        }


@dataclass(frozen=True)
class VersionEntry:
    """A version row plus whether it is the workflow's current one."""

    row: WorkflowVersion
    current: bool

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def checksum(definition: Mapping[str, Any]) -> str:
    """Return the sha256 hex of the canonical JSON (sorted keys, no spaces) of a definition."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def runnable_issues(definition: Mapping[str, Any]) -> list[str]:
    """Return why ``definition`` cannot run (the engine's messages); empty means runnable."""
    return [issue.message for issue in validate_definition(definition, for_activation=True)]


def _require_runnable(definition: Mapping[str, Any], what: str) -> None:
    """Raise ``ValidationFailed`` naming the first problem when ``definition`` cannot run."""
    issues = runnable_issues(definition)
    if issues:
        raise ValidationFailed(f"{what}: {issues[0]}", errors={"definition": issues})


_VERSION_ISSUES: dict[tuple[uuid.UUID, str], tuple[str, ...]] = {}
_VERSION_ISSUES_MAX = 2048
_DEFINITION_OF = select(WorkflowVersion.definition).where(WorkflowVersion.id == bindparam("id"))


def version_issues(version_id: uuid.UUID, checksum: str) -> list[str]:
    """``runnable_issues`` of an immutable version, cached per process by id and checksum.

    The definition is only read on a cache miss: once per version and process.
    """
    key = (version_id, checksum)
    issues = _VERSION_ISSUES.get(key)
    if issues is None:
        definition = db.session.execute(_DEFINITION_OF, {"id": version_id}).scalar_one()
        if len(_VERSION_ISSUES) >= _VERSION_ISSUES_MAX:
            _VERSION_ISSUES.clear()
        issues = _VERSION_ISSUES[key] = tuple(runnable_issues(definition))
    return list(issues)


def get_workflow(
    workspace_id: uuid.UUID, workflow_id: uuid.UUID, *, for_update: bool = False
) -> Workflow:
    """Return a live workflow of the workspace; raises ``NotFound`` otherwise.

    ``for_update`` locks the row (SELECT ... FOR UPDATE on PostgreSQL) until commit.
    """
    stmt = select(Workflow).where(
        Workflow.id == workflow_id,
        Workflow.workspace_id == workspace_id,
        Workflow.deleted_at.is_(None),
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    workflow = db.session.execute(stmt).scalar_one_or_none()
    if workflow is None:
        raise NotFound("Workflow nao encontrado.")
    return workflow


def get_version(workflow: Workflow, version: int) -> WorkflowVersion:
    """Return version number ``version`` of ``workflow``; raises ``NotFound``."""
    row = db.session.execute(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.version == version
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"Versao {version} do workflow nao encontrada.")
    return row


def current_version(workflow: Workflow) -> WorkflowVersion:
    """Return the version row the workflow currently points at."""
    return get_version(workflow, workflow.version)


def detail(workflow: Workflow) -> WorkflowDetail:
    """Return the workflow with its current definition."""
    return WorkflowDetail(workflow, current_version(workflow).definition)


def _add_version(
    workflow: Workflow, number: int, definition: dict[str, Any], user_id: uuid.UUID | None
) -> None:
    """Insert version ``number`` and point the workflow at it; a duplicate number is a 409."""
    db.session.add(
        WorkflowVersion(
            workflow_id=workflow.id,
            workspace_id=workflow.workspace_id,
            version=number,
            definition=definition,
            checksum=checksum(definition),
            created_by=user_id,
            created_at=utcnow(),
        )
    )
    workflow.version = number
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(
            "O workflow foi alterado ao mesmo tempo por outra requisicao; tente novamente.",
            code="version_conflict",
        ) from exc


def _apply_settings(workflow: Workflow, settings: Mapping[str, Any]) -> None:
    """Apply validated ``settings``; absent keys are kept.

    ``minutes_saved_per_run`` (a number >= 0) is stored as is. ``error_workflow_id`` must
    name a live workflow of the same workspace other than this one (``ValidationFailed``);
    one of another workspace is refused exactly like a missing one. ``None`` clears it.
    """
    if "minutes_saved_per_run" in settings:
        workflow.minutes_saved_per_run = float(settings["minutes_saved_per_run"])
    if "error_workflow_id" not in settings:
        return
    target = settings["error_workflow_id"]
    if target is not None:
        if target == workflow.id:
            _refuse_error_workflow("Um workflow nao pode ser o seu proprio workflow de erro.")
        found = db.session.execute(
            select(Workflow.id).where(
                Workflow.id == target,
                Workflow.workspace_id == workflow.workspace_id,
                Workflow.deleted_at.is_(None),
            )
        ).scalar_one_or_none()
        if found is None:
            _refuse_error_workflow("Workflow de erro nao encontrado neste workspace.")
    workflow.error_workflow_id = target


def _refuse_error_workflow(message: str) -> NoReturn:
    raise ValidationFailed(message, errors={"settings": {"errorWorkflowId": [message]}})


def _check_plan_limit(workspace_id: uuid.UUID) -> None:
    """Raise ``PlanLimitExceeded`` when the workspace already has its plan's workflow quota.

    Locks the workspace row first so two concurrent creations cannot both pass the count.
    """
    plan = db.session.execute(
        select(Plan)
        .join(Workspace, Workspace.plan_id == Plan.id)
        .where(Workspace.id == workspace_id)
        .with_for_update(of=Workspace)
    ).scalar_one()
    limit = (plan.limits or {}).get("workflows")
    if limit is None:
        return
    count = db.session.execute(
        select(func.count())
        .select_from(Workflow)
        .where(Workflow.workspace_id == workspace_id, Workflow.deleted_at.is_(None))
    ).scalar_one()
    if count >= int(limit):
        raise PlanLimitExceeded(
            f"O plano {plan.name} permite ate {limit} workflows; "
            "exclua um workflow ou faca upgrade do plano.",
            code="plan_limit_workflows",
        )


def _insert_workflow(
    workspace_id: uuid.UUID,
    user_id: uuid.UUID | None,
    fields: Mapping[str, Any],
    definition: dict[str, Any],
) -> WorkflowDetail:
    """Check the plan limit, then insert a draft workflow with version 1 and commit."""
    _check_plan_limit(workspace_id)
    workflow = Workflow(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        name=fields["name"],
        description=fields.get("description") or "",
        status="draft",
        tags=list(fields.get("tags") or []),
        version=1,
        execution_count=0,
        minutes_saved_per_run=0.0,
        created_by=user_id,
        updated_by=user_id,
    )
    _apply_settings(workflow, fields.get("settings") or {})
    db.session.add(workflow)
    db.session.flush()  # no ORM relationships: the parent row must exist before its versions
    _add_version(workflow, 1, definition, user_id)
    db.session.commit()
    return WorkflowDetail(workflow, definition)


def create_workflow(
    workspace_id: uuid.UUID, user_id: uuid.UUID | None, fields: Mapping[str, Any]
) -> WorkflowDetail:
    """Create a draft workflow (version 1) from validated ``fields``; 402 over the plan limit."""
    definition = dict(fields.get("definition") or EMPTY_DEFINITION)
    return _insert_workflow(workspace_id, user_id, fields, definition)


def duplicate_workflow(
    workspace_id: uuid.UUID, workflow_id: uuid.UUID, user_id: uuid.UUID | None
) -> WorkflowDetail:
    """Copy a workflow as "<name> (copy)": draft, version 1, same definition and tags."""
    source = get_workflow(workspace_id, workflow_id)
    fields = {
        "name": source.name[: NAME_MAX - len(COPY_SUFFIX)] + COPY_SUFFIX,
        "description": source.description,
        "tags": list(source.tags or []),
        "settings": {
            "error_workflow_id": source.error_workflow_id,
            "minutes_saved_per_run": source.minutes_saved_per_run,
        },
    }
    return _insert_workflow(workspace_id, user_id, fields, current_version(source).definition)


def update_workflow(
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    user_id: uuid.UUID | None,
    changes: Mapping[str, Any],
) -> WorkflowDetail:
    """Apply validated ``changes``; a changed definition becomes version N+1.

    Raises ``ValidationFailed`` (nothing changed) when the workflow is active and the new
    definition cannot run.
    """
    workflow = get_workflow(workspace_id, workflow_id, for_update=True)
    current = current_version(workflow)
    definition = current.definition
    if "definition" in changes and checksum(changes["definition"]) != current.checksum:
        definition = dict(changes["definition"])
        if workflow.active:
            _require_runnable(definition, "Um workflow ativo precisa continuar executavel")
        _add_version(workflow, workflow.version + 1, definition, user_id)
    for key in ("name", "description", "tags"):
        if key in changes:
            setattr(workflow, key, changes[key])
    _apply_settings(workflow, changes.get("settings") or {})
    workflow.updated_by = user_id
    triggers.sync_workflow(workflow, definition, user_id)
    db.session.commit()
    return WorkflowDetail(workflow, definition)


def delete_workflow(
    workspace_id: uuid.UUID, workflow_id: uuid.UUID, user_id: uuid.UUID | None
) -> None:
    """Soft-delete: set ``deleted_at`` and status inactive (versions stay for executions).

    Workflows naming this one as their error workflow no longer do (their ``updated_at``
    is kept: it is not their edit).
    """
    workflow = get_workflow(workspace_id, workflow_id, for_update=True)
    db.session.execute(
        update(Workflow)
        .where(Workflow.workspace_id == workspace_id, Workflow.error_workflow_id == workflow.id)
        .values(error_workflow_id=None, updated_at=Workflow.updated_at)
    )
    audit.record(
        "workflow.deleted",
        ("workflow", workflow.id),
        {"name": workflow.name, "status": workflow.status},
    )
    workflow.deleted_at = utcnow()
    workflow.status = "inactive"
    workflow.updated_by = user_id
    triggers.sync_workflow(workflow, current_version(workflow).definition, user_id)
    db.session.commit()


def set_active(
    workspace_id: uuid.UUID, workflow_id: uuid.UUID, user_id: uuid.UUID | None, active: bool
) -> Workflow:
    """Activate (only a runnable definition, else ``ValidationFailed``) or deactivate."""
    workflow = get_workflow(workspace_id, workflow_id, for_update=True)
    definition = current_version(workflow).definition
    if active:
        _require_runnable(definition, "Nao e possivel ativar")
    action = "workflow.activated" if active else "workflow.deactivated"
    audit.record(
        action,
        ("workflow", workflow.id),
        {"status": workflow.status},
        {"status": "active" if active else "inactive"},
    )
    workflow.status = "active" if active else "inactive"
    workflow.updated_by = user_id
    triggers.sync_workflow(workflow, definition, user_id)
    db.session.commit()
    return workflow


def list_versions(workflow: Workflow, limit: int, offset: int) -> Page[VersionEntry]:
    """Return one page of the workflow's versions, newest first."""
    stmt = (
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow.id)
        .order_by(WorkflowVersion.version.desc())
    )
    page = paginate(stmt, limit, offset)
    page.items = [VersionEntry(row, row.version == workflow.version) for row in page.items]
    return page


def owner_names(workflows: Iterable[Workflow]) -> dict[uuid.UUID, str]:
    """Return the display name of each workflow creator, by user id (one query)."""
    ids = {workflow.created_by for workflow in workflows if workflow.created_by}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {user_id: name or "" for user_id, name in rows}


class CardSource(Protocol):
    """What a card reads: a ``Workflow``, or a row of ``queries.list_cards``."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def tags(self) -> list[Any] | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


def dashboard_workflow(workflow: CardSource, owner_name: str) -> dict[str, Any]:
    """Return the contract's ``DashboardWorkflow`` (3.1): exactly its keys, tags always a list."""
    status = workflow.status if workflow.status in ("active", "error") else "inactive"
    return {
        "id": str(workflow.id),
        "name": workflow.name,
        "owner": owner_name or "",
        "active": workflow.status == "active",
        "lastUpdated": workflow.updated_at.isoformat(),
        "created": workflow.created_at.isoformat(),
        "status": status,
        "tags": list(workflow.tags or []),
    }


def dashboard_cards(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Return ``DashboardWorkflow`` dicts for rows of ``queries.list_cards``."""
    return [dashboard_workflow(row, row.owner or "") for row in rows]


def dashboard_workflows(workflows: list[Workflow]) -> list[dict[str, Any]]:
    """Return ``DashboardWorkflow`` dicts for many workflows, loading owners in one query."""
    names = owner_names(workflows)
    return [
        dashboard_workflow(w, names.get(w.created_by, "") if w.created_by else "")
        for w in workflows
    ]
