"""Request and response bodies of the credential routes (contract 3.3 and ``/api/credentials``).

No response schema has a field for the secret: the detail shows the non-secret fields
(``config``) and, for each secret field, only whether it is set (``secretsSet``).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from fluxolab.common.fields import Trimmed
from fluxolab.common.schemas import BaseSchema, PageArgs, page_fields
from fluxolab.credentials.types import CREDENTIAL_TYPES

_TYPE_HELP = "One of: " + ", ".join(CREDENTIAL_TYPES)
SMTP_EXAMPLE = {
    "host": "smtp.example.com",
    "port": 587,
    "secure": False,
    "user": "ana",
    "password": "app-password",
}


def _name(required: bool) -> Trimmed:
    return Trimmed(required=required, validate=validate.Length(min=1, max=255))


def _secret(required: bool) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        required=required,
        metadata={
            "description": "Fields of the type's schema; validated against it (422 per field)",
            "example": SMTP_EXAMPLE,
        },
    )


class CredentialCreateIn(BaseSchema):
    """Body of ``POST /api/workflows/credentials`` (what the Settings panel sends)."""

    name = _name(True)
    type = fields.String(
        required=True,
        validate=validate.OneOf(CREDENTIAL_TYPES),
        metadata={"description": _TYPE_HELP, "example": "smtp"},
    )
    secret = _secret(True)


class CredentialUpdateIn(BaseSchema):
    """Body of ``PUT /api/credentials/<id>``: absent fields are kept; ``secret`` merges."""

    name = _name(False)
    type = fields.String(
        validate=validate.OneOf(CREDENTIAL_TYPES), metadata={"description": _TYPE_HELP}
    )
    secret = _secret(False)
    isActive = fields.Boolean(metadata={"description": "An inactive credential fails runs"})


class CredentialListArgs(PageArgs):
    """Filters of ``GET /api/credentials``."""

    type = fields.String(validate=validate.OneOf(CREDENTIAL_TYPES))
    search = fields.String(
        validate=validate.Length(max=255),
        metadata={"description": "Case-insensitive substring of the name"},
    )


class CredentialSummary(Schema):
    """A credential in a list: viewers get ``id, name, type, createdAt`` only."""

    id = fields.UUID()
    name = fields.String()
    type = fields.String()
    createdAt = fields.DateTime()
    isActive = fields.Boolean(metadata={"description": "editors and above"})
    lastUsedAt = fields.DateTime(allow_none=True, metadata={"description": "editors and above"})
    updatedAt = fields.DateTime(metadata={"description": "editors and above"})


class CredentialCreated(Schema):
    """The contract's created credential ``{id, name, type, createdAt}``."""

    id = fields.UUID()
    name = fields.String()
    type = fields.String()
    createdAt = fields.DateTime()


class CredentialDetail(CredentialSummary):
    """One credential for editors and above: no secret value, ever."""

    createdBy = fields.UUID(allow_none=True)
    updatedBy = fields.UUID(allow_none=True)
    config = fields.Dict(metadata={"description": "The non-secret fields (host, port, baseUrl...)"})
    secretsSet = fields.Dict(
        keys=fields.String(),
        values=fields.Boolean(),
        metadata={"description": "For each secret field, whether it holds a value"},
    )


class WorkflowCredentialsBody(Schema):
    """``GET /api/workflows/credentials`` (contract 3.3): exactly ``{credentials}``."""

    credentials = fields.List(fields.Nested(CredentialCreated))


class CredentialCreatedBody(Schema):
    status = fields.String(dump_default="created")
    credential = fields.Nested(CredentialCreated)


class CredentialBody(Schema):
    status = fields.String(dump_default="ok")
    credential = fields.Nested(CredentialDetail)


CredentialListBody = Schema.from_dict(
    page_fields("credentials", CredentialSummary), name="CredentialList"
)


class TestResultOut(Schema):
    success = fields.Boolean()
    message = fields.String(metadata={"description": "Readable reason (never a secret)"})


class TestResultBody(Schema):
    status = fields.String(dump_default="ok")
    result = fields.Nested(TestResultOut)
