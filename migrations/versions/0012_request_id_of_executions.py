"""Request id of executions: executions.request_id

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:04:03.872852

The ``X-Request-Id`` of the API request that created a run (``fluxolab.requestid``), shown
in the execution detail as ``requestId``. Nullable: runs started by beat (schedules, the
sweeper) and every run created before this revision have none.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))


def downgrade():
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_column("request_id")
