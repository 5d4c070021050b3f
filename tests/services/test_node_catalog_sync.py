"""``sync_node_catalog``: the tables follow the registry, idempotently."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from fluxolab.engine import catalog
from fluxolab.extensions import db
from fluxolab.models import NodeCategory, NodeTemplate
from fluxolab.nodes.service import sync_node_catalog


def rows(model: Any) -> list[dict[str, Any]]:
    found = db.session.execute(select(model).order_by(model.id)).scalars()
    return [
        {column.key: getattr(row, column.key) for column in model.__table__.columns}
        for row in found
    ]


def test_sync_fills_the_tables_from_the_registry(app_ctx: Flask) -> None:
    sync_node_catalog()
    templates = {row["id"]: row for row in rows(NodeTemplate)}
    assert set(templates) == {entry["id"] for entry in catalog.templates()}
    for entry in catalog.templates():
        row = templates[entry["id"]]
        assert row["is_active"] is True
        assert row["type"] == entry["type"]
        assert (row["inputs"], row["outputs"]) == (entry["inputs"], entry["outputs"])
        assert row["config_schema"] == entry["configSchema"]
        assert row["default_config"] == entry["defaultConfig"]
    categories = rows(NodeCategory)
    assert [
        (c["id"], c["order_index"]) for c in sorted(categories, key=lambda c: c["order_index"])
    ] == [(c["id"], c["order"]) for c in catalog.categories()]


def test_sync_twice_gives_the_same_rows(app_ctx: Flask) -> None:
    first = sync_node_catalog()
    before = (rows(NodeTemplate), rows(NodeCategory))
    second = sync_node_catalog()
    db.session.expire_all()
    assert (rows(NodeTemplate), rows(NodeCategory)) == before
    assert first.created == len(catalog.templates()) + len(catalog.categories())
    assert (second.created, second.updated, second.deactivated) == (0, 0, 0)


def test_a_removed_type_is_deactivated_and_a_changed_one_restored(app_ctx: Flask) -> None:
    sync_node_catalog()
    db.session.add(
        NodeTemplate(id="gone", name="Gone", category="core", type="gone", icon="x", is_active=True)
    )
    db.session.get(NodeTemplate, "set").name = "Edited by hand"  # type: ignore[union-attr]
    db.session.commit()
    report = sync_node_catalog()
    assert (report.created, report.updated, report.deactivated) == (0, 1, 1)
    db.session.expire_all()
    gone = db.session.get(NodeTemplate, "gone")
    assert gone is not None and gone.is_active is False
    [set_template] = [t for t in catalog.templates() if t["id"] == "set"]
    assert db.session.get(NodeTemplate, "set").name == set_template["name"]  # type: ignore[union-attr]
    assert len(rows(NodeTemplate)) == len(catalog.templates()) + 1


def test_cli_command_syncs(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["sync-node-catalog"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("created ")
