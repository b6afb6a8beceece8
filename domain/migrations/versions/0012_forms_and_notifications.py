"""Office approvals without code: form types as data and their requests, leave balances, attachments, comments,
notifications and webhooks, and what the approval engine keeps for "all of" steps and the OA actions.

Each part of issue 19 adds its tables in its own function below (keep them apart; downgrade in reverse).

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.core.types  # UTCDateTime, Money, Qty columns

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _approvals_upgrade()
    _forms_upgrade()
    _requests_upgrade()
    _attachments_upgrade()
    _comments_notifications_upgrade()


def downgrade() -> None:
    _comments_notifications_downgrade()
    _attachments_downgrade()
    _requests_downgrade()
    _forms_downgrade()
    _approvals_downgrade()


# --- approval engine (H2): all-of steps, send back, add approver, copy to, urge ------------------------------
def _approvals_upgrade() -> None:
    op.create_table(
        "approval_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("by", sa.String(length=60), nullable=False),
        sa.Column("at", domain.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("process_id", "username"),
    )
    op.create_index(op.f("ix_approval_copies_process_id"), "approval_copies", ["process_id"], unique=False)
    op.create_index(op.f("ix_approval_copies_username"), "approval_copies", ["username"], unique=False)


def _approvals_downgrade() -> None:
    op.drop_index(op.f("ix_approval_copies_username"), table_name="approval_copies")
    op.drop_index(op.f("ix_approval_copies_process_id"), table_name="approval_copies")
    op.drop_table("approval_copies")


# --- form types (H1): form_types, leave balances --------------------------------------------------------------
def _forms_upgrade() -> None:
    op.create_table(
        "form_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "version", name="uq_form_types_key_version"),
    )
    with op.batch_alter_table("form_types") as b:
        b.create_index(b.f("ix_form_types_key"), ["key"], unique=False)
    op.create_table(
        "leave_balances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("days_granted", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("days_taken", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username", "year", name="uq_leave_balances_username_year"),
    )
    with op.batch_alter_table("leave_balances") as b:
        b.create_index(b.f("ix_leave_balances_username"), ["username"], unique=False)


def _forms_downgrade() -> None:
    with op.batch_alter_table("leave_balances") as b:
        b.drop_index(b.f("ix_leave_balances_username"))
    op.drop_table("leave_balances")
    with op.batch_alter_table("form_types") as b:
        b.drop_index(b.f("ix_form_types_key"))
    op.drop_table("form_types")


# --- form requests (H3): form_requests, trip advances ---------------------------------------------------------
def _requests_upgrade() -> None:
    op.create_table(
        "form_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("form_key", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("requester", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("effect", sa.String(length=300), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", domain.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("process_id"),
    )
    with op.batch_alter_table("form_requests") as b:
        b.create_index(b.f("ix_form_requests_form_key"), ["form_key"], unique=False)
        b.create_index(b.f("ix_form_requests_requester"), ["requester"], unique=False)
    op.create_table(
        "trip_advances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trip", sa.String(length=30), nullable=False),
        sa.Column("requester", sa.String(length=60), nullable=False),
        sa.Column("amount", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("settled_amount", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("claim_number", sa.String(length=30), nullable=True),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", domain.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("trip"),
    )
    with op.batch_alter_table("trip_advances") as b:
        b.create_index(b.f("ix_trip_advances_requester"), ["requester"], unique=False)
    with op.batch_alter_table("expense_claims") as b:
        b.add_column(sa.Column("trip", sa.String(length=30), nullable=True))
    conn = op.get_bind()  # the account a trip's cash advance posts to
    if conn.execute(sa.text("SELECT code FROM accounts WHERE code = '1500'")).first() is None:
        conn.execute(sa.text("INSERT INTO accounts (code, name, type) VALUES ('1500', 'Employee advances', 'asset')"))


def _requests_downgrade() -> None:
    with op.batch_alter_table("expense_claims") as b:
        b.drop_column("trip")
    op.drop_table("trip_advances")
    op.drop_table("form_requests")


# --- attachments (H4) -------------------------------------------------------------------------------------------
def _attachments_upgrade() -> None:
    op.create_table('attachments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('document', sa.String(length=80), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('uploaded_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', domain.core.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_document'), ['document'], unique=False)


def _attachments_downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_document'))
    op.drop_table('attachments')


# --- comments, notifications, webhooks (H5) -------------------------------------------------------------------
def _comments_notifications_upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", sa.String(length=60), nullable=False),
        sa.Column("author", sa.String(length=60), nullable=False),
        sa.Column("text", sa.String(length=4000), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_comments_document_created", "comments", ["document", "created_at"], unique=False)
    op.create_table(
        "notification_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("exclude", sa.JSON(), nullable=False),
        sa.Column("document", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.String(length=2000), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", domain.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_notification_events_undispatched", "notification_events", ["dispatched_at", "id"],
                    unique=False)
    op.create_table(
        "notification_prefs",
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("updated_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", domain.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "channel", "target", name="uq_notification_deliveries_target"),
    )
    op.create_index("ix_notification_deliveries_event_id", "notification_deliveries", ["event_id"], unique=False)
    op.create_index("ix_notification_deliveries_status", "notification_deliveries", ["status", "created_at"],
                    unique=False)


def _comments_notifications_downgrade() -> None:
    for table in ("notification_deliveries", "webhooks", "notification_prefs", "notification_events", "comments"):
        op.drop_table(table)
