"""quotation reason: why a quotation was rejected (by the customer, or its opportunity was lost);
status wide enough for pending_credit_approval

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('quotations') as batch:
        batch.add_column(sa.Column('reason', sa.String(length=500), nullable=False, server_default=''))
        batch.alter_column('status', existing_type=sa.String(length=20), type_=sa.String(length=30),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('quotations') as batch:
        batch.alter_column('status', existing_type=sa.String(length=30), type_=sa.String(length=20),
                           existing_nullable=False)
        batch.drop_column('reason')
