"""production orders, their materials, MRP runs; sales order cost and margin

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.core.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    op.create_table('mrp_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('what_if', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('planned_count', sa.Integer(), nullable=False),
    sa.Column('exception_count', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', domain.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    op.create_table('production_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=60), nullable=False),
    sa.Column('qty', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('completed_qty', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('scrap_qty', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('issue_method', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('wait_reason', sa.String(length=500), nullable=False),
    sa.Column('sales_order_number', sa.String(length=30), nullable=True),
    sa.Column('pegged_to', sa.String(length=500), nullable=False),
    sa.Column('release_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('std_labour_hours', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('labour_rate', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('overhead_rate', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('labour_hours', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('material_cost', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('labour_cost', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('overhead_cost', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('wip_value', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('received_value', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('planner', sa.String(length=60), nullable=False),
    sa.Column('notice', sa.String(length=500), nullable=False),
    sa.Column('process_id', sa.String(length=200), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', domain.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_at', domain.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', domain.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('completed_qty <= qty', name='completed_within_qty'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('process_id')
    )
    with op.batch_alter_table('production_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_production_orders_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_production_orders_sales_order_number'), ['sales_order_number'], unique=False)

    op.create_table('production_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=60), nullable=False),
    sa.Column('per_unit', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('scrap_pct', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('required_qty', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('issued_qty', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('issued_value', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.Column('standard_cost', domain.core.types.Amount(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['production_orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'sku', name='production_material_once')
    )
    with op.batch_alter_table('production_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_production_materials_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('purchase_requisitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sales_order_number', sa.String(length=30), nullable=True))
        batch_op.create_index(batch_op.f('ix_purchase_requisitions_sales_order_number'), ['sales_order_number'], unique=False)

    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', domain.core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revenue', domain.core.types.Amount(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column('cost_material', domain.core.types.Amount(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column('cost_labour', domain.core.types.Amount(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column('cost_overhead', domain.core.types.Amount(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column('cost_total', domain.core.types.Amount(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column('margin', domain.core.types.Amount(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column('notice', sa.String(length=500), server_default='', nullable=False))

def downgrade() -> None:
    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.drop_column('notice')
        batch_op.drop_column('margin')
        batch_op.drop_column('cost_total')
        batch_op.drop_column('cost_overhead')
        batch_op.drop_column('cost_labour')
        batch_op.drop_column('cost_material')
        batch_op.drop_column('revenue')
        batch_op.drop_column('delivered_at')

    with op.batch_alter_table('purchase_requisitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_requisitions_sales_order_number'))
        batch_op.drop_column('sales_order_number')

    with op.batch_alter_table('production_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_production_materials_order_id'))

    op.drop_table('production_materials')
    with op.batch_alter_table('production_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_production_orders_sales_order_number'))
        batch_op.drop_index(batch_op.f('ix_production_orders_item_id'))

    op.drop_table('production_orders')
    op.drop_table('mrp_runs')
