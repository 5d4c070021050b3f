"""Node catalog tables; sub-executions (parent execution and depth)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 18:50:00.000000

The catalog rows are not seeded here: ``fluxolab sync-node-catalog`` fills them from the
node registry (the standalone runner and the compose migrate step run it after upgrading).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('node_categories',
    sa.Column('id', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('icon', sa.String(length=100), nullable=False),
    sa.Column('order_index', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_node_categories'))
    )
    op.create_table('node_templates',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('category', sa.String(length=50), nullable=False),
    sa.Column('icon', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('inputs', sa.Integer(), nullable=False),
    sa.Column('outputs', sa.Integer(), nullable=False),
    sa.Column('config_schema', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('default_config', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_node_templates'))
    )
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_execution_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('depth', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.create_index('ix_executions_parent_execution_id', ['parent_execution_id'], unique=False, postgresql_where=sa.text('parent_execution_id IS NOT NULL'), sqlite_where=sa.text('parent_execution_id IS NOT NULL'))
        batch_op.create_foreign_key(batch_op.f('fk_executions_parent_execution_id_executions'), 'executions', ['parent_execution_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_executions_parent_execution_id_executions'), type_='foreignkey')
        batch_op.drop_index('ix_executions_parent_execution_id', postgresql_where=sa.text('parent_execution_id IS NOT NULL'), sqlite_where=sa.text('parent_execution_id IS NOT NULL'))
        batch_op.drop_column('depth')
        batch_op.drop_column('parent_execution_id')
    op.drop_table('node_templates')
    op.drop_table('node_categories')
