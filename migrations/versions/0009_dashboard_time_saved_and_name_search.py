"""Dashboard: minutes saved per run and a trigram index for the workflow search

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:01:21.062202

``workflows.minutes_saved_per_run`` is the workflow setting behind the dashboard's "time
saved". On PostgreSQL the ``pg_trgm`` extension (trusted since PostgreSQL 13: the database
owner may create it) backs a GIN trigram index on ``workflows.name`` so the search-as-you-type
``name ILIKE '%q%'`` is an index scan. SQLite gets no index (it could not use one for that).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "minutes_saved_per_run",
                sa.Double(),
                server_default=sa.text("0"),
                nullable=False,
            )
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_workflows_name_trgm",
            "workflows",
            ["name"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        # the extension stays: other objects of the database may use it
        op.drop_index("ix_workflows_name_trgm", table_name="workflows")
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.drop_column("minutes_saved_per_run")
