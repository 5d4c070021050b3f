"""Hourly execution stats and the failed-runs index

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-03 12:20:27.084519

``execution_stats_hours`` holds a workspace's production runs per local hour (outcome counts,
durations, the histogram, time saved) and ``execution_stats_hour_marks`` which (time zone,
hour) were rolled up to which instant: the dashboard reads a few hundred of these rows for
any period; ``execution_stats_days.hours`` says a rolled day has all its hours there. Days
rolled before this revision keep being read from ``execution_stats`` until ``fluxolab
backfill-stats`` rolls them again. ``ix_executions_failures`` (the failed runs only)
and ``ix_execution_stats_production`` (index-only) serve the dashboard's failing workflows.
Building ``ix_executions_failures`` reads the whole executions table once.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "execution_stats_hour_marks",
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rolled_through", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("timezone", "hour", name=op.f("pk_execution_stats_hour_marks")),
    )
    op.create_table(
        "execution_stats_hours",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
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
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_execution_stats_hours_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "hour", name=op.f("pk_execution_stats_hours")),
    )
    with op.batch_alter_table("execution_stats_days", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hours", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("execution_stats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_execution_stats_production",
            ["workspace_id", "day"],
            unique=False,
            postgresql_include=["workflow_id", "failed", "timed_out"],
            postgresql_where=sa.text("production"),
            sqlite_where=sa.text("production"),
        )

    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_executions_failures",
            ["workspace_id", "created_at"],
            unique=False,
            postgresql_include=["workflow_id", "mode"],
            postgresql_where=sa.text("status IN ('failed', 'timed_out')"),
            sqlite_where=sa.text("status IN ('failed', 'timed_out')"),
        )


def downgrade():
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_executions_failures",
            postgresql_include=["workflow_id", "mode"],
            postgresql_where=sa.text("status IN ('failed', 'timed_out')"),
            sqlite_where=sa.text("status IN ('failed', 'timed_out')"),
        )

    with op.batch_alter_table("execution_stats", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_execution_stats_production",
            postgresql_include=["workflow_id", "failed", "timed_out"],
            postgresql_where=sa.text("production"),
            sqlite_where=sa.text("production"),
        )

    with op.batch_alter_table("execution_stats_days", schema=None) as batch_op:
        batch_op.drop_column("hours")

    op.drop_table("execution_stats_hours")
    op.drop_table("execution_stats_hour_marks")
