"""The audit trail: audit_log, append-only on PostgreSQL

Revision ID: 0011
Revises: 0014
Create Date: 2026-12-03 12:02:33.685736

One row per sensitive operation: the actor (user, API key or system), IP and user agent,
the action, its target, and a masked before/after diff. The ids carry no foreign keys: an
entry outlives what it names. On PostgreSQL the ``audit_log_append_only`` trigger refuses
every UPDATE, and every DELETE outside a transaction that set
``fluxolab.audit_retention = on`` (``SET LOCAL``), which only the retention job does.
SQLite (standalone) has no such trigger; no code path updates or deletes a row there either.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('fluxolab.audit_retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
"""


def upgrade():
    op.create_table(
        "audit_log",
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_audit_log_workspace_id_action_created_at",
            ["workspace_id", "action", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_audit_log_workspace_id_actor_user_id_created_at",
            ["workspace_id", "actor_user_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_audit_log_workspace_id_created_at", ["workspace_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_log_workspace_id_target_type_target_id",
            ["workspace_id", "target_type", "target_id"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_workspace_id_target_type_target_id")
        batch_op.drop_index("ix_audit_log_workspace_id_created_at")
        batch_op.drop_index("ix_audit_log_workspace_id_actor_user_id_created_at")
        batch_op.drop_index("ix_audit_log_workspace_id_action_created_at")
        batch_op.drop_index("ix_audit_log_created_at")
    op.drop_table("audit_log")
