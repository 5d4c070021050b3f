"""Production runs per workspace and local day: execution_stats_workspace_days

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-04 16:10:00.000000

``execution_stats_workspace_days`` holds a workspace's production runs of one local day, the
sum of its production rows of ``execution_stats``: the dashboard reads one row per whole day
instead of one per workflow and mode (90 rows for 90 days). Filled here from the days
already rolled; the rollup writes it with every day from then on.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

HISTOGRAM = (
    "duration_le_10", "duration_le_25", "duration_le_50", "duration_le_100", "duration_le_250",
    "duration_le_500", "duration_le_1000", "duration_le_2500", "duration_le_5000",
    "duration_le_10000", "duration_le_30000", "duration_le_60000", "duration_le_300000",
    "duration_le_inf",
)  # fmt: skip
SUMMED = ("total", "succeeded", "failed", "canceled", "timed_out", "duration_ms_sum",
          "durations", *HISTOGRAM, "time_saved_minutes")  # fmt: skip
# every rolled day's production rows of ``execution_stats``, added up per workspace
FILL = (
    "INSERT INTO execution_stats_workspace_days"
    f" (workspace_id, day, {', '.join(SUMMED)}, duration_ms_max, rolled_at)"
    f" SELECT workspace_id, day, {', '.join(f'sum({name})' for name in SUMMED)},"
    " max(duration_ms_max), max(rolled_at)"
    " FROM execution_stats WHERE production GROUP BY workspace_id, day"
)


def upgrade():
    op.create_table(
        "execution_stats_workspace_days",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("canceled", sa.Integer(), nullable=False),
        sa.Column("timed_out", sa.Integer(), nullable=False),
        sa.Column("duration_ms_sum", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms_max", sa.Integer(), nullable=True),
        sa.Column("durations", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in HISTOGRAM),
        sa.Column("time_saved_minutes", sa.Double(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_execution_stats_workspace_days_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "day", name=op.f("pk_execution_stats_workspace_days")
        ),
    )
    op.execute(FILL)


def downgrade():
    op.drop_table("execution_stats_workspace_days")
