"""The catalog (contract 8.1-8.3) and the registry it is generated from."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from fluxolab.engine import NodeRegistry, catalog, registry
from fluxolab.engine.nodes.core import NO_OP
from fluxolab.engine.nodetype import CATEGORIES, NodeType

TEMPLATE_KEYS = {
    "id",
    "name",
    "description",
    "category",
    "icon",
    "type",
    "inputs",
    "outputs",
    "configSchema",
    "defaultConfig",
}


def template(type_name: str) -> dict:
    return next(t for t in catalog.templates() if t["id"] == type_name)


def test_categories_are_the_six_of_the_contract_in_order() -> None:
    categories = catalog.categories()
    assert [c["id"] for c in categories] == ["ai", "action", "data", "flow", "core", "human"]
    assert [c["order"] for c in categories] == [1, 2, 3, 4, 5, 6]
    assert categories[2]["description"] == "Manipulate, filter or convert data"
    assert all(set(c) == {"id", "name", "description", "icon", "order"} for c in categories)


def test_every_template_has_the_contract_shape_with_id_equal_to_type() -> None:
    for entry in catalog.templates():
        assert set(entry) == TEMPLATE_KEYS
        assert entry["id"] == entry["type"]


def test_template_config_schemas_are_objects_with_titled_properties() -> None:
    for entry in catalog.templates():
        schema = entry["configSchema"]
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object"
        assert isinstance(schema["required"], list)
        assert all("title" in spec for spec in schema["properties"].values()), entry["id"]


def test_template_categories_are_known_and_grouped_in_order() -> None:
    orders = {c["id"]: c["order"] for c in catalog.categories()}
    found = [orders[entry["category"]] for entry in catalog.templates()]
    assert found == sorted(found)


@pytest.mark.parametrize(
    ("type_name", "inputs", "outputs"),
    [("if-condition", 1, 2), ("merge", 2, 1), ("webhook", 0, 1), ("set", 1, 1)],
    ids=["if-1-to-2", "merge-2-to-1", "webhook-0-to-1", "set-1-to-1"],
)
def test_template_ports_are_counts(type_name: str, inputs: int, outputs: int) -> None:
    entry = template(type_name)
    assert (entry["inputs"], entry["outputs"]) == (inputs, outputs)


def test_contract_template_fields_are_present() -> None:
    schema = template("if-condition")["configSchema"]
    assert schema["required"] == ["condition", "operator"]
    assert template("merge")["configSchema"]["required"] == ["mergeStrategy"]
    assert template("approval")["defaultConfig"] == {"approvers": [], "timeout": 24}


def test_triggers_are_manual_schedule_webhook_form_error() -> None:
    triggers = catalog.triggers()
    assert [t["id"] for t in triggers] == ["manual", "schedule", "webhook", "form", "error-trigger"]
    keys = {"id", "name", "description", "icon", "configSchema", "defaultConfig"}
    assert all(set(t) == keys for t in triggers)


def test_schedule_trigger_has_interval_value_timezone_defaults() -> None:
    schedule = next(t for t in catalog.triggers() if t["id"] == "schedule")
    assert schedule["defaultConfig"] == {"interval": "hour", "value": 1, "timezone": "UTC"}
    assert schedule["configSchema"]["properties"]["interval"]["enum"] == [
        "minute",
        "hour",
        "day",
        "week",
        "month",
    ]


def test_form_trigger_requires_form_name_and_has_fields_list() -> None:
    form = next(t for t in catalog.triggers() if t["id"] == "form")
    assert form["configSchema"]["required"] == ["formName"]
    assert form["configSchema"]["properties"]["fields"]["type"] == "array"


def test_config_schema_resolves_aliases_and_unknown_types() -> None:
    assert catalog.config_schema("if.branch") == catalog.config_schema("if-condition")
    assert catalog.config_schema("nope") is None


def test_catalog_returns_copies_that_callers_may_change() -> None:
    catalog.templates()[0]["configSchema"]["properties"].clear()
    assert catalog.templates()[0]["configSchema"]["properties"]


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("trigger", "manual"),
        ("webhook.in", "webhook"),
        ("if.branch", "if-condition"),
        ("webhook.respond", "respond-to-webhook"),
        ("data-filter", "filter"),
        ("smtp.send", "email-send"),
        ("set", "set"),
    ],
)
def test_registry_resolves_aliases(alias: str, canonical: str) -> None:
    assert registry.resolve(alias) == canonical
    assert registry.get(alias) is registry.get(canonical)


def test_registry_has_the_thirty_node_types_users_expect() -> None:
    types = {node_type.type for node_type in registry.all()}
    assert len(types) >= 30
    outbound = {"email-send", "ai-agent", "ai-summarize", "crypto", "csv", "xml", "rename-keys"}
    assert outbound <= types
    assert all(registry.get(name).icon for name in outbound)  # type: ignore[union-attr]


def test_registry_returns_none_for_unknown_types() -> None:
    assert registry.get("no-such-node") is None
    assert registry.resolve("no-such-node") is None


def test_registry_refuses_a_name_registered_twice() -> None:
    with pytest.raises(ValueError, match="already registered"):
        NodeRegistry([NO_OP, NO_OP])


@pytest.mark.parametrize("node_type", registry.all(), ids=lambda node_type: node_type.type)
def test_every_node_type_has_a_schema_a_category_and_an_icon(node_type: NodeType) -> None:
    assert node_type.category in CATEGORIES
    assert node_type.icon.strip(), "no icon"
    assert node_type.name.strip() and node_type.description.strip()
    schema = dict(node_type.config_schema)
    Draft202012Validator.check_schema(schema)
    assert schema.get("type") == "object" and isinstance(schema.get("properties"), dict)
    assert all(isinstance(kind, str) and kind for kind in node_type.credential_types)


def test_the_catalog_lists_every_registered_type_once() -> None:
    ids = [entry["id"] for entry in catalog.templates()]
    assert sorted(ids) == sorted(node_type.type for node_type in registry.all())
    assert len(ids) == len(set(ids))
