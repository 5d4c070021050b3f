"""Covering indexes of the weekly and hourly failures: index-only reads

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 19:30:00.000000

The dashboard's failing workflows read ``execution_stats_week_failures`` and
``execution_stats_hour_failures`` by (workspace, week or hour) range. Their primary keys end
with the workflow but hold no count, so those reads visited the tables, whose pages the
rollup's rewrites leave half dead. These indexes carry the workflow and the count
(PostgreSQL's INCLUDE; a plain index on SQLite).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

INDEXES = (
    ("execution_stats_week_failures", "ix_execution_stats_week_failures_counts", "week"),
    ("execution_stats_hour_failures", "ix_execution_stats_hour_failures_counts", "hour"),
)


def upgrade():
    for table, name, moment in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                name,
                ["workspace_id", moment],
                unique=False,
                postgresql_include=["workflow_id", "failures"],
            )


def downgrade():
    for table, name, _ in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name, postgresql_include=["workflow_id", "failures"])
