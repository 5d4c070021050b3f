"""Nightly execution stats rollup: execution_stats and execution_stats_days

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:53:19.627499

``execution_stats`` holds one row per (workspace, local day, workflow, mode, production) with
outcome counts, duration sum/max/count and a fixed-bucket duration histogram; its primary key
starts with (workspace_id, day) so the dashboard reads a range of it. ``execution_stats_days``
records which (time zone, day) the rollup has rolled and whether the day is sealed.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "execution_stats_days",
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("timezone", "day", name=op.f("pk_execution_stats_days")),
    )
    op.create_table(
        "execution_stats",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("production", sa.Boolean(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("canceled", sa.Integer(), nullable=False),
        sa.Column("timed_out", sa.Integer(), nullable=False),
        sa.Column("duration_ms_sum", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms_max", sa.Integer(), nullable=True),
        sa.Column("durations", sa.Integer(), nullable=False),
        sa.Column("duration_le_10", sa.Integer(), nullable=False),
        sa.Column("duration_le_25", sa.Integer(), nullable=False),
        sa.Column("duration_le_50", sa.Integer(), nullable=False),
        sa.Column("duration_le_100", sa.Integer(), nullable=False),
        sa.Column("duration_le_250", sa.Integer(), nullable=False),
        sa.Column("duration_le_500", sa.Integer(), nullable=False),
        sa.Column("duration_le_1000", sa.Integer(), nullable=False),
        sa.Column("duration_le_2500", sa.Integer(), nullable=False),
        sa.Column("duration_le_5000", sa.Integer(), nullable=False),
        sa.Column("duration_le_10000", sa.Integer(), nullable=False),
        sa.Column("duration_le_30000", sa.Integer(), nullable=False),
        sa.Column("duration_le_60000", sa.Integer(), nullable=False),
        sa.Column("duration_le_300000", sa.Integer(), nullable=False),
        sa.Column("duration_le_inf", sa.Integer(), nullable=False),
        sa.Column("time_saved_minutes", sa.Double(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_execution_stats_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_execution_stats_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id",
            "day",
            "workflow_id",
            "mode",
            "production",
            name=op.f("pk_execution_stats"),
        ),
    )


def downgrade():
    op.drop_table("execution_stats")
    op.drop_table("execution_stats_days")
