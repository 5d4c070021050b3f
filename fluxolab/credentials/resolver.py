"""``CredentialResolver`` for runs: a workspace's active credentials, decrypted on demand.

A run (or a node test) gets one resolver in ``ctx.services["credentials"]``. ``get`` reads
the row through the worker's session (a plain SELECT of columns: no lock, no ORM object,
nothing written; a transaction it had to open for that is ended at once, so no snapshot is
held while the run's nodes work), decrypts it once per run and remembers that it was used.
``record_usage`` then sets ``last_used_at`` of every credential the run used with one
UPDATE, which the worker sends in the transaction that stores the run's outcome: no row
lock is held while the run works (two long runs sharing a credential never wait on each
other), the lease-guarded commit decides as for the rest of the outcome, and no second
connection is needed.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy import bindparam, select, update

from fluxolab import audit
from fluxolab.credentials.cipher import InvalidToken, cipher
from fluxolab.credentials.types import CredentialType, get_type
from fluxolab.engine.credentials import Credential as ResolvedCredential
from fluxolab.extensions import db
from fluxolab.models import Credential, utcnow

_ACTIVE_IN_WORKSPACE = select(
    Credential.id, Credential.name, Credential.type, Credential.data_encrypted
).where(
    Credential.id == bindparam("id"),
    Credential.workspace_id == bindparam("workspace_id"),
    Credential.is_active.is_(True),
)


class StoredCredential(Protocol):
    """The columns of a credential row a run needs (an ORM row or a selected row)."""

    id: uuid.UUID
    name: str
    type: str
    data_encrypted: str


def kind_of(row: StoredCredential) -> CredentialType:
    """Return the type of a stored credential (raises if the registry lost it)."""
    kind = get_type(row.type)
    if kind is None:
        raise LookupError(f"unknown credential type {row.type!r}")
    return kind


def decrypt(row: StoredCredential) -> dict[str, Any]:
    """Return the decrypted secret of a row (for runs and tests only)."""
    return cipher().decrypt(row.data_encrypted)


def resolved(row: StoredCredential) -> ResolvedCredential:
    """Return what a node or a test sees of a row: the secret and the values to redact."""
    secret = decrypt(row)
    return ResolvedCredential(
        id=str(row.id),
        name=row.name,
        type=row.type,
        secret=secret,
        secret_values=kind_of(row).secret_values(secret),
    )


class CredentialResolver:
    """Resolves the active credentials of one workspace for one run."""

    def __init__(self, workspace_id: uuid.UUID, execution_id: uuid.UUID | None = None) -> None:
        self.workspace_id = workspace_id
        self.execution_id = execution_id
        self._found: dict[str, ResolvedCredential | None] = {}

    def get(self, credential_id: str) -> ResolvedCredential | None:
        """Return the active credential ``credential_id`` of the workspace, else None."""
        if credential_id in self._found:
            return self._found[credential_id]
        found = self._load(credential_id)
        self._found[credential_id] = found
        return found

    def _load(self, credential_id: str) -> ResolvedCredential | None:
        try:
            key = uuid.UUID(str(credential_id))
        except ValueError:
            return None
        params = {"id": key, "workspace_id": self.workspace_id}
        opened = not db.session().in_transaction()
        try:
            row = db.session.execute(_ACTIVE_IN_WORKSPACE, params).first()
        finally:
            if opened:
                db.session.rollback()  # ends the read-only transaction this read began
        if row is None or get_type(row.type) is None:
            return None
        try:
            return resolved(row)
        except InvalidToken:  # encrypted by a key no longer configured
            return None

    @property
    def used(self) -> list[uuid.UUID]:
        """Return the ids of the credentials this run resolved."""
        return [uuid.UUID(cid) for cid, found in self._found.items() if found is not None]

    def record_usage(self) -> None:
        """Set ``last_used_at`` of the used credentials (one UPDATE; the caller commits).

        Adds one ``credential.used`` audit entry per credential to the same transaction.
        """
        used = self.used
        run = {"executionId": self.execution_id} if self.execution_id else {"nodeTest": True}
        for credential_id in used:
            audit.record(
                "credential.used",
                ("credential", credential_id),
                None,
                run,
                workspace_id=self.workspace_id,
            )
        if used:
            db.session.execute(
                update(Credential)
                .where(Credential.id.in_(used))
                .values(last_used_at=utcnow(), updated_at=Credential.updated_at)
                .execution_options(synchronize_session=False)
            )

    def __repr__(self) -> str:
        return f"CredentialResolver(workspace_id={self.workspace_id})"
