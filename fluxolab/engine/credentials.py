"""What a node sees of a credential: the decrypted secret of one credential of its workspace.

The worker hands the engine a ``CredentialResolver`` in ``ctx.services["credentials"]``; it
resolves only credentials of the run's workspace. ``secret_values`` are the values of the
fields the credential type marks secret (6 characters or more): the engine replaces them
with ``"***"`` in a step's output, error and logs before the step is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Credential:
    """One decrypted credential; never stored, logged or put into items."""

    id: str
    name: str
    type: str
    secret: Mapping[str, Any]
    secret_values: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Credential(id={self.id!r}, name={self.name!r}, type={self.type!r})"


class CredentialResolver(Protocol):
    """Looks up a credential of the run's workspace by id (None when missing or elsewhere)."""

    def get(self, credential_id: str) -> Credential | None: ...
