"""rules hold (issue 15): sessions in the database, idempotency keys per caller and endpoint, units of measure,
pricing policies with list prices and item groups, a quotation's price review, and name keys of look-alike names
(customers, suppliers, contacts)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.core.types

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = domain.core.types.UTCDateTime(timezone=True)
AMOUNT = domain.core.types.Amount(precision=18, scale=4)


def _keyed(table: str, scope: str | None, columns: str) -> None:
    """Fill `name_key` (and `email_key` for contacts) from the rows' names. Rows whose keys collide (two names
    that look the same, made before the rule) keep their data: the later one's key gets its id appended, so the
    unique constraint can go on, and the migration says which they are."""
    from domain.core.names import email_key, name_key

    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT id, {columns} FROM {table} ORDER BY id")).mappings().all()
    seen: set[tuple[object, str]] = set()
    emails: set[tuple[object, str]] = set()
    for row in rows:
        where = row[scope] if scope else None
        key = name_key(row["name"]) or f"#{row['id']}"
        if (where, key) in seen:
            print(f"0009: {table} {row['id']} {row['name']!r} looks like an earlier one; its name key is kept apart")
            key = f"{key}#{row['id']}"
        seen.add((where, key))
        values = {"id": row["id"], "key": key}
        sets = "name_key = :key"
        if table == "contacts":
            mail = email_key(row["email"])
            if mail is not None and (where, mail) in emails:
                mail = None  # a second contact with the same address at one customer: only the first is found by it
            if mail is not None:
                emails.add((where, mail))
            values["mail"] = mail
            sets += ", email_key = :mail"
        conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"), values)


def upgrade() -> None:
    op.create_table('auth_sessions',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=60), nullable=False),
    sa.Column('issued_at', UTC, nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('revoked_at', UTC, nullable=True),
    sa.Column('revoked_reason', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('jti')
    )
    op.create_index('ix_auth_sessions_username', 'auth_sessions', ['username'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=60), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_headers', sa.JSON(), nullable=True),
    sa.Column('response_body', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('finished_at', UTC, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username', 'method', 'path', 'key', name='uq_idempotency_keys_scope')
    )
    op.create_index('ix_idempotency_keys_created', 'idempotency_keys', ['created_at'], unique=False)

    op.create_table('uoms',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('whole', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )

    op.create_table('pricing_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_group', sa.String(length=60), nullable=True),
    sa.Column('max_below_list_pct', AMOUNT, nullable=True),
    sa.Column('min_margin_pct', AMOUNT, nullable=True),
    sa.Column('cfo_margin_pct', AMOUNT, nullable=True),
    sa.Column('updated_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_group')
    )
    with op.batch_alter_table('items') as batch:
        batch.add_column(sa.Column('list_price', AMOUNT, nullable=True))
        batch.add_column(sa.Column('item_group', sa.String(length=60), server_default='', nullable=False))
    with op.batch_alter_table('quotations') as batch:
        batch.add_column(sa.Column('price_review', sa.JSON(), nullable=True))

    # Look-alike names: the key columns nullable first, filled from the names, then required and unique.
    for table in ('customers', 'suppliers'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('name_key', sa.String(length=600), nullable=True))
        _keyed(table, None, 'name')
        with op.batch_alter_table(table) as batch:
            batch.alter_column('name_key', existing_type=sa.String(length=600), nullable=False)
            batch.create_unique_constraint(f'{table}_name_key_key', ['name_key'])
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('name_key', sa.String(length=600), nullable=True))
        batch.add_column(sa.Column('email_key', sa.String(length=254), nullable=True))
    _keyed('contacts', 'customer_id', 'customer_id, name, email')
    with op.batch_alter_table('contacts') as batch:
        batch.alter_column('name_key', existing_type=sa.String(length=600), nullable=False)
        batch.create_unique_constraint('uq_contacts_customer_email', ['customer_id', 'email_key'])
        batch.create_unique_constraint('uq_contacts_customer_name', ['customer_id', 'name_key'])


def downgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.drop_constraint('uq_contacts_customer_name', type_='unique')
        batch.drop_constraint('uq_contacts_customer_email', type_='unique')
        batch.drop_column('email_key')
        batch.drop_column('name_key')
    for table in ('suppliers', 'customers'):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f'{table}_name_key_key', type_='unique')
            batch.drop_column('name_key')
    with op.batch_alter_table('quotations') as batch:
        batch.drop_column('price_review')
    with op.batch_alter_table('items') as batch:
        batch.drop_column('item_group')
        batch.drop_column('list_price')
    op.drop_table('pricing_policies')
    op.drop_table('uoms')
    op.drop_index('ix_idempotency_keys_created', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
    op.drop_index('ix_auth_sessions_username', table_name='auth_sessions')
    op.drop_table('auth_sessions')
