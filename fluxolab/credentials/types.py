"""The credential types: one JSON Schema per type validating its ``secret``.

Field names are shared with the nodes that use the credentials (HTTP Request, Send Email,
the AI nodes) and, for ``smtp``, exactly what the frontend sends (contract 3.3). Secret
fields are marked ``"writeOnly": true`` in the schema: they are never shown again and their
values are redacted from runs. ``testUrl`` (http-* types) is the address the credential test
requests with the auth applied.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator

MIN_SECRET_CHARS = 6  # shorter values are not redacted (they would mask ordinary words)

_TEXT = {"type": "string", "minLength": 1, "maxLength": 1024}
_SECRET = {"type": "string", "minLength": 1, "maxLength": 8192, "writeOnly": True}
_URL = {
    "type": "string",
    "minLength": 1,
    "maxLength": 2048,
    "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+",
}
_HEADER_NAME = {  # an HTTP token (RFC 9110)
    "type": "string",
    "minLength": 1,
    "maxLength": 256,
    "pattern": r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
}


def _schema(required: list[str], **properties: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: dict(spec) for name, spec in properties.items()},
        "required": required,
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class CredentialType:
    """A kind of credential: its id, label, secret schema and which fields are secret."""

    type: str
    name: str
    schema: Mapping[str, Any]

    @cached_property
    def secret_fields(self) -> tuple[str, ...]:
        """Return the fields marked ``writeOnly`` (never shown, redacted from runs)."""
        properties = self.schema["properties"]
        return tuple(name for name, spec in properties.items() if spec.get("writeOnly"))

    @cached_property
    def validator(self) -> Draft202012Validator:
        return Draft202012Validator(self.schema)

    def errors(self, secret: Any) -> dict[str, list[str]]:
        """Return ``{field: [messages]}`` for an invalid ``secret``; empty when valid."""
        found: dict[str, list[str]] = {}
        for error in sorted(self.validator.iter_errors(secret), key=lambda e: list(e.path)):
            for field, message in _field_messages(error, secret):
                found.setdefault(field, []).append(message)
        return found

    def public_fields(self, secret: Mapping[str, Any]) -> dict[str, Any]:
        """Return the fields that may be shown: non-secret values, secret ones as "is set"."""
        shown: dict[str, Any] = {}
        for name in self.schema["properties"]:
            if name in self.secret_fields:
                continue
            if name in secret:
                shown[name] = secret[name]
        return shown

    def secrets_set(self, secret: Mapping[str, Any]) -> dict[str, bool]:
        """Return, for each secret field, whether it holds a value."""
        return {name: bool(secret.get(name)) for name in self.secret_fields}

    def secret_values(self, secret: Mapping[str, Any]) -> tuple[str, ...]:
        """Return the values to redact: secret fields (6+ characters) and derived forms.

        The HTTP Basic ``Authorization`` value is redacted too, since an echoing server would
        return it rather than the password: ``http-basic``'s, and the one an OAuth2 client
        sends its token endpoint (``authStyle`` header: id and secret form-encoded first).
        """
        values = [
            value
            for name in self.secret_fields
            if isinstance(value := secret.get(name), str) and len(value) >= MIN_SECRET_CHARS
        ]
        if self.type == "http-basic" and isinstance(secret.get("password"), str):
            values.append(basic_token(str(secret.get("user", "")), str(secret["password"])))
        if self.type == "oauth2-client-credentials" and isinstance(secret.get("clientSecret"), str):
            client_id, client_secret = str(secret.get("clientId", "")), secret["clientSecret"]
            values.append(basic_token(quote(client_id, safe=""), quote(client_secret, safe="")))
        return tuple(dict.fromkeys(values))


def basic_token(user: str, password: str) -> str:
    """Return the base64 ``user:password`` of HTTP Basic auth."""
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _field_messages(error: Any, secret: Any) -> list[tuple[str, str]]:
    """Name the field(s) of one JSON Schema error with a marshmallow-like message."""
    if not error.path:
        if error.validator == "required":
            present = secret if isinstance(secret, Mapping) else {}
            return [
                (name, "Missing data for required field.")
                for name in error.validator_value
                if name not in present
            ]
        if error.validator == "additionalProperties" and isinstance(secret, Mapping):
            allowed = set(error.schema.get("properties", {}))
            return [(str(name), "Unknown field.") for name in secret if name not in allowed]
        if error.validator == "type":
            return [("_schema", "Must be an object.")]
        return [("_schema", error.message)]
    field = ".".join(str(part) for part in error.path)
    return [(field, _message(error))]


def _message(error: Any) -> str:
    """A readable message that never echoes the (possibly secret) value."""
    spec = error.schema
    validator = error.validator
    if validator == "type":
        return f"Must be of type {spec['type']}."
    if validator == "minLength":
        return "Must not be empty." if spec["minLength"] == 1 else "Too short."
    if validator == "maxLength":
        return f"Longer than maximum length {spec['maxLength']}."
    if validator == "pattern":
        url = spec.get("pattern") == _URL["pattern"]
        return "Must be an http:// or https:// URL." if url else "Invalid format."
    if validator in ("minimum", "maximum"):
        return f"Must be between {spec.get('minimum')} and {spec.get('maximum')}."
    if validator == "enum":
        return "Must be one of: " + ", ".join(str(v) for v in spec["enum"]) + "."
    return "Invalid value."


_TEST_URL = {**_URL, "description": "Address requested with the auth applied to test it"}

TYPES: dict[str, CredentialType] = {
    kind.type: kind
    for kind in (
        CredentialType(
            "http-header",
            "HTTP header",
            _schema(["name", "value"], name=_HEADER_NAME, value=_SECRET, testUrl=_TEST_URL),
        ),
        CredentialType(
            "http-bearer",
            "HTTP bearer token",
            _schema(["token"], token=_SECRET, testUrl=_TEST_URL),
        ),
        CredentialType(
            "http-basic",
            "HTTP basic auth",
            _schema(
                ["user", "password"],
                user={"type": "string", "maxLength": 1024, "pattern": "^[^:]*$"},
                password=_SECRET,
                testUrl=_TEST_URL,
            ),
        ),
        CredentialType(
            "webhook-hmac",
            "Webhook signing secrets (Standard Webhooks)",
            _schema(
                ["secret"],
                secret={**_SECRET, "minLength": 16},
                previousSecret={**_SECRET, "minLength": 16},
            ),
        ),
        CredentialType(
            "api-key-query",
            "API key in the query string",
            _schema(["name", "value"], name=_TEXT, value=_SECRET, testUrl=_TEST_URL),
        ),
        CredentialType(
            "oauth2-client-credentials",
            "OAuth2 client credentials",
            _schema(
                ["tokenUrl", "clientId", "clientSecret"],
                tokenUrl=_URL,
                clientId=_TEXT,
                clientSecret=_SECRET,
                scope={"type": "string", "maxLength": 1024},
                audience={"type": "string", "maxLength": 1024},
                authStyle={"type": "string", "enum": ["header", "body"], "default": "header"},
            ),
        ),
        CredentialType(
            "smtp",
            "SMTP server",
            _schema(
                ["host", "port", "secure", "user", "password"],
                host={"type": "string", "minLength": 1, "maxLength": 255},
                port={"type": "integer", "minimum": 1, "maximum": 65535},
                secure={"type": "boolean", "description": "TLS from the start (port 465)"},
                user={"type": "string", "maxLength": 255},
                password={**_SECRET, "minLength": 0},
            ),
        ),
        CredentialType(
            "openai-compatible",
            "OpenAI-compatible API",
            _schema(
                ["baseUrl", "apiKey"],
                baseUrl=_URL,
                apiKey=_SECRET,
                model={"type": "string", "minLength": 1, "maxLength": 255},
            ),
        ),
    )
}
CREDENTIAL_TYPES = tuple(TYPES)


def get_type(name: str) -> CredentialType | None:
    """Return the credential type ``name`` or None when unknown."""
    return TYPES.get(name)
