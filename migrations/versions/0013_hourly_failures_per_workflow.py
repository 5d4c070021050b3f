"""Failed production runs per workflow and local hour: execution_stats_hour_failures

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 15:20:00.000000

``execution_stats_hour_failures`` holds, per (workspace, local hour, workflow), the failed or
timed-out production runs of the hour (only pairs with at least one). The dashboard's failing
workflows of the last 24 hours and of today read these instead of the failed runs
themselves; whole rolled days keep reading ``execution_stats``.

The hours rolled in the last three days before this revision are filled from their failed
runs here (an index range of ``ix_executions_failures``), so those reads are right from the
first request; older hours are never read for failures.
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# the failed runs of the marked hours since :since that are production runs (a trigger
# mode, or a sub-execution whose chain of parents ends at one)
FILL = """
INSERT INTO execution_stats_hour_failures (workspace_id, hour, workflow_id, failures, rolled_at)
WITH RECURSIVE chain (id, parent_id, mode) AS (
    SELECT e.id, e.parent_execution_id, e.mode FROM executions e
    WHERE e.mode = 'subworkflow' AND e.status IN ('failed', 'timed_out')
      AND e.created_at >= :since
    UNION ALL
    SELECT chain.id, p.parent_execution_id, p.mode FROM chain
    JOIN executions p ON p.id = chain.parent_id
    WHERE chain.mode = 'subworkflow'
)
SELECT e.workspace_id, m.hour, e.workflow_id, count(*), :now
FROM executions e
JOIN workspaces w ON w.id = e.workspace_id
JOIN execution_stats_hour_marks m
  ON m.timezone = w.timezone AND e.created_at >= m.hour AND e.created_at < m.rolled_through
WHERE e.status IN ('failed', 'timed_out') AND e.created_at >= :since AND m.hour >= :since
  AND (e.mode IN ('webhook', 'schedule', 'form', 'error')
       OR e.id IN (SELECT id FROM chain WHERE mode IN ('webhook', 'schedule', 'form', 'error')))
GROUP BY e.workspace_id, m.hour, e.workflow_id
"""


def upgrade():
    op.create_table(
        "execution_stats_hour_failures",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_execution_stats_hour_failures_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_execution_stats_hour_failures_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "hour", "workflow_id", name=op.f("pk_execution_stats_hour_failures")
        ),
    )
    now = datetime.now(UTC)
    sqlite = op.get_bind().dialect.name == "sqlite"
    stamp = sa.DateTime(timezone=True)
    statement = sa.text(FILL).bindparams(
        sa.bindparam("since", type_=stamp), sa.bindparam("now", type_=stamp)
    )
    since = now - timedelta(days=3)
    if sqlite:  # stored as naive UTC there (fluxolab.models.base.UTCDateTime)
        since, now = since.replace(tzinfo=None), now.replace(tzinfo=None)
    op.get_bind().execute(statement, {"since": since, "now": now})


def downgrade():
    op.drop_table("execution_stats_hour_failures")
