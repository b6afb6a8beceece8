"""production master data: items' order multiple, work centres, BOMs and their lines

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.core.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('items') as batch:
        batch.add_column(sa.Column('order_multiple', domain.core.types.Amount(precision=18, scale=4),
                                   nullable=False, server_default='0'))
    op.create_table('work_centres',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('hourly_cost', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('created_at', domain.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('boms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('labour_hours', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('labour_rate', domain.core.types.Amount(precision=18, scale=4), nullable=True),
    sa.Column('overhead_rate', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('issue_method', sa.String(length=20), nullable=False),
    sa.Column('work_centre_id', sa.Integer(), nullable=True),
    sa.Column('created_at', domain.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', domain.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.ForeignKeyConstraint(['work_centre_id'], ['work_centres.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id')
    )
    op.create_table('bom_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bom_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('component_item_id', sa.Integer(), nullable=False),
    sa.Column('qty', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('scrap_pct', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['bom_id'], ['boms.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['component_item_id'], ['items.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bom_id', 'component_item_id', name='bom_component_once')
    )
    with op.batch_alter_table('bom_lines') as batch:
        batch.create_index(batch.f('ix_bom_lines_bom_id'), ['bom_id'], unique=False)
        batch.create_index(batch.f('ix_bom_lines_component_item_id'), ['component_item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bom_lines') as batch:
        batch.drop_index(batch.f('ix_bom_lines_component_item_id'))
        batch.drop_index(batch.f('ix_bom_lines_bom_id'))
    op.drop_table('bom_lines')
    op.drop_table('boms')
    op.drop_table('work_centres')
    with op.batch_alter_table('items') as batch:
        batch.drop_column('order_multiple')
