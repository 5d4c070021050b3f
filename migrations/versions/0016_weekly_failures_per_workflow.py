"""Failed production runs per workflow and local week: execution_stats_week_failures

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 17:00:00.000000

``execution_stats_week_failures`` holds, per (workspace, week, workflow), the failed or
timed-out production runs of the week's seven local days (``week`` is its Monday), added up
from ``execution_stats``: the failing workflows of a 90-day period read about 13 rows per
workflow instead of 90. Filled here, week by week, from the days already rolled; the rollup
rewrites a day's week with every day it rolls.
"""

from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# one week of every workspace: its production rows of execution_stats added up per workflow
FILL_WEEK = """
INSERT INTO execution_stats_week_failures (workspace_id, week, workflow_id, failures, rolled_at)
SELECT workspace_id, :week, workflow_id, sum(failed + timed_out), max(rolled_at)
FROM execution_stats
WHERE production AND day >= :week AND day < :after
GROUP BY workspace_id, workflow_id
HAVING sum(failed + timed_out) > 0
"""


def upgrade():
    op.create_table(
        "execution_stats_week_failures",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_execution_stats_week_failures_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_execution_stats_week_failures_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "week", "workflow_id", name=op.f("pk_execution_stats_week_failures")
        ),
    )
    fill(op.get_bind())


def fill(bind: sa.engine.Connection) -> None:
    """Every week with a rolled day, from ``execution_stats``."""
    days = bind.execute(sa.text("SELECT DISTINCT day FROM execution_stats")).scalars()
    weeks = {monday(value) for value in days}
    statement = sa.text(FILL_WEEK).bindparams(
        sa.bindparam("week", type_=sa.Date()), sa.bindparam("after", type_=sa.Date())
    )
    for week in sorted(weeks):
        bind.execute(statement, {"week": week, "after": week + timedelta(days=7)})


def monday(value: date | str) -> date:
    """The Monday of the week of ``value`` (SQLite answers dates as text)."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return day - timedelta(days=day.weekday())


def downgrade():
    op.drop_table("execution_stats_week_failures")
