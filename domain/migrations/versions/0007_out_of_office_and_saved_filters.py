"""out of office (a deputy for a date range) and saved list filters per user

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.core.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'out_of_office',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=60), nullable=False),
        sa.Column('deputy', sa.String(length=60), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('note', sa.String(length=300), nullable=False),
        sa.Column('created_at', domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_out_of_office_user_dates', 'out_of_office', ['username', 'starts_on', 'ends_on'])
    op.create_table(
        'saved_filters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=60), nullable=False),
        sa.Column('page', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('query', sa.String(length=1000), nullable=False),
        sa.Column('created_at', domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username', 'page', 'name'),
    )


def downgrade() -> None:
    op.drop_table('saved_filters')
    op.drop_index('ix_out_of_office_user_dates', table_name='out_of_office')
    op.drop_table('out_of_office')
