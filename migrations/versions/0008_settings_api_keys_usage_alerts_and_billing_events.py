"""Settings: API keys (hashed), usage alerts and billing events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:51:21.676136

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamps():
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def _owned_by(table):
    return [
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f(f"fk_{table}_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f(f"fk_{table}_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade():
    op.create_table(
        "workspace_api_keys",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_preview", sa.String(length=16), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_timestamps(),
        *_owned_by("workspace_api_keys"),
        sa.UniqueConstraint("key_hash", name=op.f("uq_workspace_api_keys_key_hash")),
    )
    with op.batch_alter_table("workspace_api_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workspace_api_keys_workspace_id_status", ["workspace_id", "status"], unique=False
        )

    op.create_table(
        "workspace_billing_events",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_plan_code", sa.String(length=32), nullable=True),
        sa.Column("to_plan_code", sa.String(length=32), nullable=True),
        sa.Column("billing_interval", sa.String(length=8), nullable=True),
        sa.Column("immediate", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owned_by("workspace_billing_events"),
    )
    with op.batch_alter_table("workspace_billing_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workspace_billing_events_workspace_id_created_at",
            ["workspace_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "workspace_usage_alerts",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("condition", sa.String(length=16), nullable=False),
        sa.Column("window_size", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("last_triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_timestamps(),
        *_owned_by("workspace_usage_alerts"),
    )
    with op.batch_alter_table("workspace_usage_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workspace_usage_alerts_workspace_id", ["workspace_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("workspace_usage_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_workspace_usage_alerts_workspace_id")
    op.drop_table("workspace_usage_alerts")
    with op.batch_alter_table("workspace_billing_events", schema=None) as batch_op:
        batch_op.drop_index("ix_workspace_billing_events_workspace_id_created_at")
    op.drop_table("workspace_billing_events")
    with op.batch_alter_table("workspace_api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_workspace_api_keys_workspace_id_status")
    op.drop_table("workspace_api_keys")
