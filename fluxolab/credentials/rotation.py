"""Re-encrypt every credential with the first of ``CREDENTIALS_ENCRYPTION_KEYS``.

Rows are read in batches by id (keyset pagination) and each batch is committed: an
interrupted rotation keeps what it did, and running it again skips the rows already under
the first key (their ``key_id`` says so). Once it reports nothing left, the old keys can be
removed from the setting.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update

from fluxolab.credentials.cipher import InvalidToken, cipher
from fluxolab.extensions import db
from fluxolab.models import Credential

BATCH_SIZE = 500

_TABLE = cast(Table, Credential.__table__)
# Core UPDATE, sent once per batch with one parameter set per row (executemany).
_SET_TOKEN = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id", type_=_TABLE.c.id.type))
    .values(
        data_encrypted=bindparam("token"),
        key_id=bindparam("key"),
        updated_at=_TABLE.c.updated_at,  # re-encrypting is not an edit
    )
)


@dataclass
class RotationReport:
    """What a rotation did: rows re-encrypted and rows no configured key can read."""

    rotated: int = 0
    unreadable: int = 0

    def line(self, key_id: str) -> str:
        """Return the one-line summary printed by the command."""
        text = f"rotated {self.rotated} credential(s) to key {key_id}"
        if self.unreadable:
            text += f"; {self.unreadable} could not be decrypted with any configured key"
        return text


def pending_count() -> int:
    """Return how many credentials are not yet under the first key."""
    key_id = cipher().key_id
    count = select(func.count()).select_from(Credential).where(Credential.key_id != key_id)
    return int(db.session.execute(count).scalar_one())


def rotate_all(
    batch_size: int = BATCH_SIZE, on_batch: Callable[[int], None] | None = None
) -> RotationReport:
    """Re-encrypt every row not under the first key, committing after each batch.

    ``on_batch`` is called with the number of rows handled after each committed batch.
    """
    box = cipher()
    report = RotationReport()
    after = uuid.UUID(int=0)
    while True:
        rows = db.session.execute(
            select(Credential.id, Credential.data_encrypted)
            .where(Credential.key_id != box.key_id, Credential.id > after)
            .order_by(Credential.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return report
        updates = []
        for row_id, token in rows:
            try:
                updates.append({"row_id": row_id, "token": box.rotate(token), "key": box.key_id})
            except InvalidToken:
                report.unreadable += 1
        if updates:
            db.session.connection().execute(_SET_TOKEN, updates)
        db.session.commit()
        report.rotated += len(updates)
        after = rows[-1][0]
        if on_batch is not None:
            on_batch(len(rows))
