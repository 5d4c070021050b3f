"""The node catalog (contract 8): precomputed answers, one node's validation, the table sync.

The registry is immutable once the process has imported it, so every catalog answer is
encoded once per process and served as the same bytes. The ``node_templates`` and
``node_categories`` tables are a copy for SQL consumers, refreshed by ``sync_node_catalog``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from jsonschema.exceptions import ValidationError
from sqlalchemy import select

from fluxolab.credentials import service as credentials
from fluxolab.engine import catalog
from fluxolab.engine.expressions import check_syntax, has_expression
from fluxolab.engine.nodetype import NodeType
from fluxolab.engine.registry import registry
from fluxolab.errors import NotFound
from fluxolab.extensions import db
from fluxolab.models import NodeCategory, NodeTemplate

_SEARCHED = ("name", "description", "type")


@dataclass(frozen=True)
class CachedJson:
    """A response body encoded once, with its entity tag."""

    body: bytes
    etag: str


def _encoded(payload: Mapping[str, Any]) -> CachedJson:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return CachedJson(body, hashlib.sha256(body).hexdigest()[:32])


@cache
def _templates() -> tuple[dict[str, Any], ...]:
    return tuple(catalog.templates())


@lru_cache(maxsize=256)
def templates_json(category: str | None = None, search: str | None = None) -> CachedJson:
    """``{status, templates}``: every template, or those of ``category`` matching ``search``.

    ``search`` is a case-insensitive part of the name, description or type.
    """
    needle = (search or "").strip().casefold()
    found = [
        entry
        for entry in _templates()
        if (category is None or entry["category"] == category)
        and (not needle or any(needle in str(entry[key]).casefold() for key in _SEARCHED))
    ]
    return _encoded({"status": "ok", "templates": found})


@cache
def categories_json() -> CachedJson:
    """``{status, categories}``: the six categories sorted by ``order``."""
    return _encoded({"status": "ok", "categories": catalog.categories()})


@cache
def triggers_json() -> CachedJson:
    """``{status, triggers}``: manual, schedule, webhook, form (then any other trigger)."""
    return _encoded({"status": "ok", "triggers": catalog.triggers()})


@lru_cache(maxsize=256)
def _schema_json(canonical: str) -> CachedJson:
    return _encoded({"status": "ok", "schema": catalog.config_schema(canonical)})


def config_schema_json(type_name: str) -> CachedJson:
    """``{status, schema}`` of a node type id or alias; raises ``NotFound`` for unknown types."""
    canonical = registry.resolve(type_name)
    if canonical is None:
        raise NotFound(f"Node type '{type_name}' not found")
    return _schema_json(canonical)


# --- validation of one node --------------------------------------------------------------


def _schema_message(error: ValidationError, field: str) -> str:
    """The original catalog's wording for required, type and enum errors; jsonschema's else."""
    if error.validator == "required":
        return f"Required field '{field}' is missing"
    if error.validator == "type":
        expected = error.validator_value
        kinds = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return f"Field '{field}' must be of type {kinds}"
    if error.validator == "enum":
        options = ", ".join(json.dumps(option) for option in error.validator_value)
        return f"Field '{field}' must be one of: {options}"
    return f"Field '{field}': {error.message}"


def _field(error: ValidationError) -> str:
    parts = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        parts.extend(missing[:1])
    return ".".join(parts) or "config"


def _schema_errors(node_type: NodeType, params: Mapping[str, Any]) -> Iterator[str]:
    """Yield one message per JSON Schema violation (values holding expressions are skipped)."""
    errors = sorted(node_type.validator.iter_errors(params), key=lambda e: [str(p) for p in e.path])
    for error in errors:
        if isinstance(error.instance, str) and has_expression(error.instance):
            continue
        yield _schema_message(error, _field(error))


def _expression_errors(node_type: NodeType, params: Mapping[str, Any]) -> Iterator[str]:
    """Yield the syntax errors of the ``{{ }}`` expressions in the node's params."""
    for key, value in params.items():
        if key not in node_type.raw_params and has_expression(value):
            for message in check_syntax(value):
                yield f"Field '{key}': Expression error: {message}"


def _credential_problems(
    workspace_id: uuid.UUID, node_type: NodeType, credential_id: Any
) -> tuple[list[str], list[str]]:
    """Return (errors, warnings) about ``config.credentialId``."""
    if credential_id in (None, "") or has_expression(credential_id):
        return [], []
    found = credentials.active_type_of(workspace_id, str(credential_id))
    if found is None:
        return [f"Credential '{credential_id}' not found"], []
    accepted = node_type.credential_types
    if not accepted:
        return [], [f"Node type '{node_type.type}' does not use a credential"]
    if found not in accepted:
        wanted = ", ".join(accepted)
        return [f"Credential '{credential_id}' is of type {found}; expected {wanted}"], []
    return [], []


def validate_node(
    workspace_id: uuid.UUID, type_name: str | None, name: str | None, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate one node ``{type, name, config}`` as a run would (defaults applied).

    Returns ``{isValid, errors, warnings}``: schema (required, types, enums), the node's own
    checks, expression syntax, and the credential's existence and type.
    """
    errors: list[str] = []
    warnings: list[str] = []
    if not type_name:
        errors.append("Node type is required")
    if not name or not str(name).strip():
        errors.append("Node name is required")
    node_type = registry.get(type_name) if type_name else None
    if type_name and node_type is None:
        errors.append(f"Unknown node type '{type_name}'")
    if node_type is not None:
        if node_type.type != type_name:
            warnings.append(f"Node type '{type_name}' is an alias of '{node_type.type}'")
        params = {
            **copy.deepcopy(node_type.defaults),
            **node_type.prepare(copy.deepcopy(dict(config))),
        }
        schema_errors = list(_schema_errors(node_type, params))
        errors.extend(schema_errors)
        if not schema_errors:
            errors.extend(f"Field '{key}': {message}" for key, message in node_type.check(params))
        errors.extend(_expression_errors(node_type, params))
        known = node_type.config_schema.get("properties", {})
        warnings.extend(f"Unknown field '{key}'" for key in config if key not in known)
        more_errors, more_warnings = _credential_problems(
            workspace_id, node_type, config.get("credentialId")
        )
        errors.extend(more_errors)
        warnings.extend(more_warnings)
    return {"isValid": not errors, "errors": errors, "warnings": warnings}


# --- the tables --------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncReport:
    """What one sync changed."""

    created: int
    updated: int
    deactivated: int

    def __str__(self) -> str:
        return f"created {self.created}, updated {self.updated}, deactivated {self.deactivated}"


def _template_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": entry["name"],
        "description": entry["description"],
        "category": entry["category"],
        "icon": entry["icon"],
        "type": entry["type"],
        "inputs": entry["inputs"],
        "outputs": entry["outputs"],
        "config_schema": entry["configSchema"],
        "default_config": entry["defaultConfig"],
        "is_active": True,
    }


def _category_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": entry["name"],
        "description": entry["description"],
        "icon": entry["icon"],
        "order_index": entry["order"],
        "is_active": True,
    }


def _sync_table(model: Any, wanted: Mapping[str, dict[str, Any]]) -> tuple[int, int, int]:
    """Upsert ``wanted`` rows by id and deactivate the others; returns (created, updated, off)."""
    existing = {row.id: row for row in db.session.execute(select(model)).scalars()}
    created = updated = deactivated = 0
    for row_id, values in wanted.items():
        row = existing.get(row_id)
        if row is None:
            db.session.add(model(id=row_id, **values))
            created += 1
            continue
        changed = {key: value for key, value in values.items() if getattr(row, key) != value}
        for key, value in changed.items():
            setattr(row, key, value)
        updated += bool(changed)
    for row_id, row in existing.items():
        if row_id not in wanted and row.is_active:
            row.is_active = False
            deactivated += 1
    return created, updated, deactivated


def sync_node_catalog() -> SyncReport:
    """Make ``node_templates`` and ``node_categories`` match the registry; idempotent.

    Changed rows are updated, new types inserted, types no longer registered deactivated
    (``is_active`` false, never deleted); a second run changes nothing.
    """
    counts = [
        _sync_table(NodeCategory, {c["id"]: _category_row(c) for c in catalog.categories()}),
        _sync_table(NodeTemplate, {t["id"]: _template_row(t) for t in catalog.templates()}),
    ]
    db.session.commit()
    return SyncReport(*(sum(column) for column in zip(*counts, strict=True)))
