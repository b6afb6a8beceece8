"""monitor: the customer a process serves and the process that started it, both filterable

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('processes') as batch:
        batch.add_column(sa.Column('customer', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('parent_id', sa.String(length=200), nullable=True))
        batch.create_index('ix_processes_customer', ['customer'], unique=False)
        batch.create_index('ix_processes_parent_id', ['parent_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('processes') as batch:
        batch.drop_index('ix_processes_parent_id')
        batch.drop_index('ix_processes_customer')
        batch.drop_column('parent_id')
        batch.drop_column('customer')
