"""Credential rules: workspace scoping, unique names, encrypted secrets, safe deletion.

Invariants kept here:
- a credential is only visible to its workspace (``NotFound`` otherwise);
- the secret is stored only as a Fernet token and leaves this module only decrypted for a
  run or a test, never in a response: callers get ``summary``/``detail`` dicts;
- a secret always validates against its type's schema, also after a partial update merged
  into the stored one;
- a credential used by an active workflow or named by a webhook or form (its auth secret)
  cannot be deleted (409 naming them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from fluxolab import audit
from fluxolab.common.pagination import Page, paginate
from fluxolab.credentials.cipher import cipher
from fluxolab.credentials.probe import ProbeResult, probe
from fluxolab.credentials.resolver import decrypt, kind_of, resolved
from fluxolab.credentials.types import CredentialType, get_type
from fluxolab.errors import Conflict, NotFound, ValidationFailed
from fluxolab.executions.services import egress
from fluxolab.extensions import db
from fluxolab.models import Credential, Webhook, Workflow, WorkflowVersion
from fluxolab.workflows.queries import escape_like

LIST_ALL_MAX = 1000  # the builder's picker list (contract 3.3) is not paginated


def summary(row: Credential, *, full: bool) -> dict[str, Any]:
    """The list shape: ``id, name, type, createdAt`` (viewers) plus state for editors+."""
    body: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "type": row.type,
        "createdAt": row.created_at,
    }
    if full:
        body.update(
            isActive=row.is_active,
            lastUsedAt=row.last_used_at,
            updatedAt=row.updated_at,
        )
    return body


def detail(row: Credential) -> dict[str, Any]:
    """The detail shape (editors+): non-secret fields, and for secret fields only "is set"."""
    kind = kind_of(row)
    secret = decrypt(row)
    return {
        **summary(row, full=True),
        "createdBy": row.created_by,
        "updatedBy": row.updated_by,
        "config": kind.public_fields(secret),
        "secretsSet": kind.secrets_set(secret),
    }


def get_credential(
    workspace_id: uuid.UUID, credential_id: uuid.UUID, *, for_update: bool = False
) -> Credential:
    """Return a credential of the workspace; raises ``NotFound`` otherwise."""
    stmt = select(Credential).where(
        Credential.id == credential_id, Credential.workspace_id == workspace_id
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = db.session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound("Credencial nao encontrada.")
    return row


def active_type_of(workspace_id: uuid.UUID, credential_id: str) -> str | None:
    """Return the type of an active credential of the workspace, None when there is none."""
    try:
        key = uuid.UUID(str(credential_id))
    except ValueError:
        return None
    return db.session.execute(
        select(Credential.type).where(
            Credential.workspace_id == workspace_id,
            Credential.id == key,
            Credential.is_active.is_(True),
        )
    ).scalar_one_or_none()


def list_all(workspace_id: uuid.UUID) -> list[Credential]:
    """Return the workspace's credentials by name (the builder's picker)."""
    stmt = (
        select(Credential)
        .where(Credential.workspace_id == workspace_id)
        .order_by(func.lower(Credential.name), Credential.id)
        .limit(LIST_ALL_MAX)
    )
    return list(db.session.execute(stmt).scalars())


def list_credentials(
    workspace_id: uuid.UUID,
    *,
    type: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[Credential]:
    """Return one page of the workspace's credentials, by name; filter by type and name."""
    stmt = select(Credential).where(Credential.workspace_id == workspace_id)
    if type:
        stmt = stmt.where(Credential.type == type)
    if search:
        stmt = stmt.where(Credential.name.ilike(f"%{escape_like(search)}%", escape="\\"))
    stmt = stmt.order_by(func.lower(Credential.name), Credential.id)
    return paginate(stmt, limit, offset)


def _validated(kind: CredentialType, secret: Any) -> dict[str, Any]:
    """Return ``secret`` if it fits its type's schema; else 422 with the field errors."""
    errors = kind.errors(secret)
    if errors:
        parts = [f"secret.{field}: {messages[0]}" for field, messages in list(errors.items())[:5]]
        raise ValidationFailed("Dados invalidos: " + "; ".join(parts), errors={"secret": errors})
    return dict(secret)


def _flush_name(name: str) -> None:
    """Flush; a name already used in the workspace (any case) is a readable 409."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(
            f"Ja existe uma credencial chamada '{name}' neste workspace.",
            code="credential_name_taken",
        ) from exc


def create_credential(
    workspace_id: uuid.UUID, user_id: uuid.UUID | None, fields: Mapping[str, Any]
) -> Credential:
    """Create a credential from validated ``{name, type, secret}`` and commit."""
    kind = get_type(fields["type"])
    assert kind is not None  # the schema allows only known types
    secret = _validated(kind, fields["secret"])
    box = cipher()
    row = Credential(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        name=fields["name"],
        type=kind.type,
        data_encrypted=box.encrypt(secret),
        key_id=box.key_id,
        is_active=True,
        created_by=user_id,
        updated_by=user_id,
    )
    db.session.add(row)
    audit.record("credential.created", ("credential", row.id), None, _audited(row, secret))
    _flush_name(row.name)
    db.session.commit()
    return row


def _audited(row: Credential, secret: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the audit trail keeps of a credential: never a secret value, only its key names."""
    fields = {"name": row.name, "type": row.type, "isActive": row.is_active}
    return fields if secret is None else {**fields, "secretFields": sorted(secret)}


def merge_secret(stored: Mapping[str, Any], partial: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``stored`` updated with ``partial``; a ``null`` value removes that field."""
    merged = {**stored, **partial}
    return {key: value for key, value in merged.items() if value is not None}


def update_credential(
    workspace_id: uuid.UUID,
    credential_id: uuid.UUID,
    user_id: uuid.UUID | None,
    changes: Mapping[str, Any],
) -> Credential:
    """Apply validated ``changes`` (name, isActive, type, secret) and commit.

    Without ``secret`` the stored one is kept; a partial secret merges into it and the
    result is validated as a whole. Changing the type needs the complete new secret.
    """
    row = get_credential(workspace_id, credential_id, for_update=True)
    before = _audited(row)
    new_type = changes.get("type", row.type)
    if new_type != row.type or "secret" in changes:
        kind = get_type(new_type)
        assert kind is not None
        if new_type != row.type and "secret" not in changes:
            raise ValidationFailed(
                "Ao trocar o tipo, envie o secret completo do novo tipo.",
                errors={"secret": ["Required when the type changes."]},
            )
        base = decrypt(row) if new_type == row.type else {}
        secret = _validated(kind, merge_secret(base, changes.get("secret") or {}))
        box = cipher()
        row.type = new_type
        row.data_encrypted = box.encrypt(secret)
        row.key_id = box.key_id
    if "name" in changes:
        row.name = changes["name"]
    if "isActive" in changes:
        row.is_active = bool(changes["isActive"])
    row.updated_by = user_id
    after = {**_audited(row), "secretChanged": True} if "secret" in changes else _audited(row)
    audit.record("credential.updated", ("credential", row.id), before, after)
    _flush_name(row.name)
    db.session.commit()
    return row


def _uses(definition: Any, credential_id: str) -> bool:
    """Tell whether a definition has a node whose ``params.credentialId`` is the credential."""
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    for node in nodes if isinstance(nodes, list) else ():
        params = node.get("params") if isinstance(node, dict) else None
        if isinstance(params, dict) and str(params.get("credentialId")) == credential_id:
            return True
    return False


def active_workflows_using(workspace_id: uuid.UUID, credential_id: uuid.UUID) -> list[str]:
    """Return the names of the active workflows whose current version uses the credential."""
    rows = db.session.execute(
        select(Workflow.name, WorkflowVersion.definition)
        .join(
            WorkflowVersion,
            and_(
                WorkflowVersion.workflow_id == Workflow.id,
                WorkflowVersion.version == Workflow.version,
            ),
        )
        .where(
            Workflow.workspace_id == workspace_id,
            Workflow.status == "active",
            Workflow.deleted_at.is_(None),
        )
        .order_by(func.lower(Workflow.name))
    )
    return [name for name, definition in rows if _uses(definition, str(credential_id))]


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def webhooks_using(workspace_id: uuid.UUID, credential_id: uuid.UUID) -> list[str]:
    """Return the names of the webhooks and forms whose auth reads the credential."""
    return list(
        db.session.execute(
            select(Webhook.name)
            .where(Webhook.workspace_id == workspace_id, Webhook.credential_id == credential_id)
            .order_by(func.lower(Webhook.name), Webhook.id)
        ).scalars()
    )


def delete_credential(workspace_id: uuid.UUID, credential_id: uuid.UUID) -> None:
    """Delete a credential; 409 naming the active workflows or webhooks that still use it."""
    row = get_credential(workspace_id, credential_id, for_update=True)
    users = active_workflows_using(workspace_id, row.id)
    if users:
        db.session.rollback()
        raise Conflict(
            f"A credencial '{row.name}' e usada por workflows ativos: {_names(users)}. "
            "Desative-os ou troque a credencial antes de excluir.",
            code="credential_in_use",
            errors={"workflows": users},
        )
    hooks = webhooks_using(workspace_id, row.id)
    if hooks:
        db.session.rollback()
        raise Conflict(
            f"A credencial '{row.name}' e usada por webhooks: {_names(hooks)}. "
            "Troque a autenticacao deles antes de excluir.",
            code="credential_in_use",
            errors={"webhooks": hooks},
        )
    audit.record("credential.deleted", ("credential", row.id), _audited(row))
    db.session.delete(row)
    db.session.commit()


def check_credential(workspace_id: uuid.UUID, credential_id: uuid.UUID) -> ProbeResult:
    """Check the credential against its target through the egress guard (never raises for it)."""
    row = get_credential(workspace_id, credential_id)
    credential = resolved(row)
    db.session.rollback()  # no transaction is held while the target answers
    return probe(credential, egress())
