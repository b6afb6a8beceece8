"""The back office: each user's language and time zone, permissions as data, the audit trail, second approvals,
and the master data the pages edit.

Each part of issue 18 adds its tables in its own section below (keep sections apart; downgrade in reverse).

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.core.types  # noqa: F401  # UTCDateTime, Money, Qty columns

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # --- i18n: the user's own language and time zone --------------------------------------------------
    with op.batch_alter_table("users") as b:
        b.add_column(sa.Column("locale", sa.String(10), nullable=True))
        b.add_column(sa.Column("time_zone", sa.String(60), nullable=True))
    # --- back office (permissions, audit, second approvals) -------------------------------------------
    _back_office_upgrade()
    # --- master data -----------------------------------------------------------------------------------
    # customers and suppliers (H3): active, supplier prices, the price list, the parties' settings
    with op.batch_alter_table("customers") as b:
        b.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("suppliers") as b:
        b.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        "supplier_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("price", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("min_qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=False),
        sa.Column("updated_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supplier_id", "item_id", name="uq_supplier_prices_supplier_item"),
    )
    with op.batch_alter_table("supplier_prices") as b:
        b.create_index(b.f("ix_supplier_prices_supplier_id"), ["supplier_id"], unique=False)
        b.create_index(b.f("ix_supplier_prices_item_id"), ["item_id"], unique=False)
    op.create_table(
        "price_list_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("unit_price", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=False),
        sa.Column("updated_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "customer_id", "currency", name="uq_price_list_item_customer"),
    )
    with op.batch_alter_table("price_list_prices") as b:
        b.create_index(b.f("ix_price_list_prices_item_id"), ["item_id"], unique=False)
        b.create_index(b.f("ix_price_list_prices_customer_id"), ["customer_id"], unique=False)
    op.create_table(
        "party_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("default_credit_limit", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=False),
        sa.Column("updated_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # items and CSV imports (H2): an item can be deactivated; a file uploaded in the browser and its progress
    with op.batch_alter_table("items") as b:
        b.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", domain.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # --- workspaces ------------------------------------------------------------------------------------


def downgrade() -> None:
    # --- workspaces ------------------------------------------------------------------------------------
    # --- master data -----------------------------------------------------------------------------------
    # items and CSV imports (H2)
    op.drop_table("import_jobs")
    with op.batch_alter_table("items") as b:
        b.drop_column("active")
    # customers and suppliers (H3)
    op.drop_table("party_settings")
    with op.batch_alter_table("price_list_prices") as b:
        b.drop_index(b.f("ix_price_list_prices_customer_id"))
        b.drop_index(b.f("ix_price_list_prices_item_id"))
    op.drop_table("price_list_prices")
    with op.batch_alter_table("supplier_prices") as b:
        b.drop_index(b.f("ix_supplier_prices_item_id"))
        b.drop_index(b.f("ix_supplier_prices_supplier_id"))
    op.drop_table("supplier_prices")
    with op.batch_alter_table("suppliers") as b:
        b.drop_column("active")
    with op.batch_alter_table("customers") as b:
        b.drop_column("active")
    # --- back office (permissions, audit, second approvals) -------------------------------------------
    op.drop_table('change_requests')
    op.drop_index('ix_audit_log_entity_key', table_name='audit_log')
    op.drop_table('audit_log')
    with op.batch_alter_table("company") as b:
        b.drop_column("credit_limit_threshold")
    op.drop_table('grants_state')
    op.drop_table('role_grants')
    # --- i18n ------------------------------------------------------------------------------------------
    with op.batch_alter_table("users") as b:
        b.drop_column("time_zone")
        b.drop_column("locale")


def _back_office_upgrade() -> None:
    """Back office (H1): permissions as data (role_grants, grants_state, seeded with the defaults the code held),
    the audit trail, and the changes waiting for a second approval."""
    op.create_table('role_grants',
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('role', 'action')
    )
    op.create_table('grants_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('seeded', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', domain.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('entity', sa.String(length=60), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_log_entity_key', 'audit_log', ['entity', 'key'], unique=False)
    with op.batch_alter_table("company") as b:
        b.add_column(sa.Column("credit_limit_threshold", domain.core.types.Amount(precision=18, scale=4),
                               server_default="50000", nullable=False))
    op.create_table('change_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('target', sa.String(length=120), nullable=False),
    sa.Column('proposal', sa.JSON(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('proposed_by', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('process_id', sa.String(length=120), nullable=False),
    sa.Column('decided_by', sa.String(length=60), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('created_at', domain.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', domain.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    # An existing company's roles hold what the code granted them; actions added later get their defaults once,
    # from domain.org.grants.seed at start-up.
    bind = op.get_bind()
    roles = {r[0] for r in bind.execute(sa.text("SELECT name FROM roles"))}
    from domain.permissions import DEFAULT_GRANTS

    grants = sa.table("role_grants", sa.column("role", sa.String), sa.column("action", sa.String))
    rows = [{"role": role, "action": str(action)} for action, holders in DEFAULT_GRANTS.items()
            for role in sorted(holders) if role in roles]
    if rows:
        op.bulk_insert(grants, rows)
    if roles:  # an empty database is seeded at its first start instead
        state = sa.table("grants_state", sa.column("id", sa.Integer), sa.column("version", sa.Integer),
                         sa.column("seeded", sa.JSON))
        op.bulk_insert(state, [{"id": 1, "version": 1, "seeded": sorted(str(a) for a in DEFAULT_GRANTS)}])
