"""Planning before the order: capable-to-promise on quotations, forecasts, make to stock and batch release of MRP
runs, net-change MRP, capacity (work-centre calendars, routings) and quality (inspection, quarantine,
nonconformance).

Each part of issue 20 adds its tables and columns in its own function below (keep them apart; downgrade in
reverse).

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import domain.core.types  # noqa: F401  (UTCDateTime, Money, Qty columns)

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _promise_upgrade()
    _forecast_upgrade()
    _release_upgrade()
    _netchange_upgrade()
    _capacity_upgrade()
    _quality_upgrade()


def downgrade() -> None:
    _quality_downgrade()
    _capacity_downgrade()
    _netchange_downgrade()
    _release_downgrade()
    _forecast_downgrade()
    _promise_downgrade()


# --- A: capable-to-promise on quotations ------------------------------------------------------------------
def _promise_upgrade() -> None:
    with op.batch_alter_table("quotations") as b:
        b.add_column(sa.Column("requested_date", sa.Date(), nullable=True))
    with op.batch_alter_table("quotation_lines") as b:
        b.add_column(sa.Column("promise_date", sa.Date(), nullable=True))
        b.add_column(sa.Column("promise_basis", sa.String(length=20), nullable=True))
        b.add_column(sa.Column("constrained_by", sa.String(length=300), nullable=True))
        b.add_column(sa.Column("promise_constraint", sa.JSON(), nullable=True))


def _promise_downgrade() -> None:
    with op.batch_alter_table("quotation_lines") as b:
        b.drop_column("promise_constraint")
        b.drop_column("constrained_by")
        b.drop_column("promise_basis")
        b.drop_column("promise_date")
    with op.batch_alter_table("quotations") as b:
        b.drop_column("requested_date")


# --- B: forecasts (and kitting) -----------------------------------------------------------------------------
def _forecast_upgrade() -> None:
    op.create_table(
        "forecasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=False),
        sa.Column("updated_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "month", name="uq_forecasts_item_month"),
    )
    with op.batch_alter_table("forecasts") as b:
        b.create_index(b.f("ix_forecasts_item_id"), ["item_id"], unique=False)
        b.create_index(b.f("ix_forecasts_month"), ["month"], unique=False)


def _forecast_downgrade() -> None:
    with op.batch_alter_table("forecasts") as b:
        b.drop_index(b.f("ix_forecasts_month"))
        b.drop_index(b.f("ix_forecasts_item_id"))
    op.drop_table("forecasts")


# --- C: make to stock and batch release ---------------------------------------------------------------------
def _release_upgrade() -> None:
    op.create_table(
        "planned_order_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("release_number", sa.String(length=30), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("released_as", sa.String(length=30), nullable=True),
        sa.Column("released_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", domain.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["mrp_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "n", name="planned_order_released_once"),
    )
    with op.batch_alter_table("planned_order_releases") as b:
        b.create_index(b.f("ix_planned_order_releases_run_id"), ["run_id"], unique=False)
        b.create_index(b.f("ix_planned_order_releases_release_number"), ["release_number"], unique=False)


def _release_downgrade() -> None:
    with op.batch_alter_table("planned_order_releases") as b:
        b.drop_index(b.f("ix_planned_order_releases_release_number"))
        b.drop_index(b.f("ix_planned_order_releases_run_id"))
    op.drop_table("planned_order_releases")


# --- D2: net-change MRP -------------------------------------------------------------------------------------
def _netchange_upgrade() -> None:
    pass


def _netchange_downgrade() -> None:
    pass


# --- E: capacity (work-centre calendars, routings) ----------------------------------------------------------
def _capacity_upgrade() -> None:
    amount = domain.core.types.Amount(precision=18, scale=4)
    op.create_table(
        "work_centre_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_centre_id", sa.Integer(), nullable=False),
        *[sa.Column(day, amount, nullable=False) for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")],
        sa.Column("updated_by", sa.String(length=60), nullable=False),
        sa.Column("updated_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["work_centre_id"], ["work_centres.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("work_centre_id"),
    )
    op.create_table(
        "routing_operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("work_centre_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("setup_hours", amount, nullable=False),
        sa.Column("hours_per_unit", amount, nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=False),
        sa.Column("updated_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["work_centre_id"], ["work_centres.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "seq", name="routing_operation_once"),
    )
    with op.batch_alter_table("routing_operations") as b:
        b.create_index(b.f("ix_routing_operations_item_id"), ["item_id"], unique=False)
        b.create_index(b.f("ix_routing_operations_work_centre_id"), ["work_centre_id"], unique=False)
    op.create_table(
        "work_centre_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_centre_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hours", amount, nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["work_centre_id"], ["work_centres.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("work_centre_id", "day", name="work_centre_day_once"),
    )
    with op.batch_alter_table("work_centre_days") as b:
        b.create_index(b.f("ix_work_centre_days_work_centre_id"), ["work_centre_id"], unique=False)


def _capacity_downgrade() -> None:
    with op.batch_alter_table("work_centre_days") as b:
        b.drop_index(b.f("ix_work_centre_days_work_centre_id"))
    op.drop_table("work_centre_days")
    with op.batch_alter_table("routing_operations") as b:
        b.drop_index(b.f("ix_routing_operations_work_centre_id"))
        b.drop_index(b.f("ix_routing_operations_item_id"))
    op.drop_table("routing_operations")
    op.drop_table("work_centre_calendars")


# --- F: quality (inspection, quarantine, nonconformance, scrap reasons) -------------------------------------
def _quality_upgrade() -> None:
    with op.batch_alter_table("items") as b:
        b.add_column(sa.Column("inspect_incoming", sa.Boolean(), server_default=sa.false(), nullable=False))
        b.add_column(sa.Column("inspect_final", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("stock_balances") as b:
        b.add_column(sa.Column("quarantine", domain.core.types.Amount(precision=18, scale=4), server_default="0",
                               nullable=False))
        b.add_column(sa.Column("quarantine_value", domain.core.types.Amount(precision=18, scale=4),
                               server_default="0", nullable=False))
    op.create_table(
        "quarantine_lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_document", sa.String(length=60), nullable=False),
        sa.Column("order_number", sa.String(length=30), nullable=False),
        sa.Column("voucher_type", sa.String(length=40), nullable=False),
        sa.Column("qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("value", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("out_qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("out_value", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("accepted_qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("rejected_qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("inspected_by", sa.String(length=60), nullable=True),
        sa.Column("inspected_at", domain.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.String(length=60), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("quarantine_lots") as b:
        b.create_index(b.f("ix_quarantine_lots_item_id"), ["item_id"], unique=False)
        b.create_index(b.f("ix_quarantine_lots_order_number"), ["order_number"], unique=False)
        b.create_index(b.f("ix_quarantine_lots_source_document"), ["source_document"], unique=False)
        b.create_index(b.f("ix_quarantine_lots_status"), ["status"], unique=False)
    op.create_table(
        "nonconformances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("source_document", sa.String(length=60), nullable=False),
        sa.Column("order_number", sa.String(length=30), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("disposition", sa.String(length=30), nullable=False),
        sa.Column("returned_qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("debited_qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("debit_note", sa.String(length=30), nullable=True),
        sa.Column("bill", sa.String(length=30), nullable=True),
        sa.Column("value", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["lot_id"], ["quarantine_lots.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lot_id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("nonconformances") as b:
        b.create_index(b.f("ix_nonconformances_item_id"), ["item_id"], unique=False)
        b.create_index(b.f("ix_nonconformances_order_number"), ["order_number"], unique=False)
        b.create_index(b.f("ix_nonconformances_source_document"), ["source_document"], unique=False)
        b.create_index(b.f("ix_nonconformances_supplier_id"), ["supplier_id"], unique=False)
    op.create_table(
        "scrap_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("qty", domain.core.types.Amount(precision=18, scale=4), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("reported_by", sa.String(length=60), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", domain.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["production_orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("scrap_reports") as b:
        b.create_index(b.f("ix_scrap_reports_order_id"), ["order_id"], unique=False)
        b.create_index(b.f("ix_scrap_reports_sku"), ["sku"], unique=False)


def _quality_downgrade() -> None:
    op.drop_table("scrap_reports")
    op.drop_table("nonconformances")
    op.drop_table("quarantine_lots")
    with op.batch_alter_table("stock_balances") as b:
        b.drop_column("quarantine_value")
        b.drop_column("quarantine")
    with op.batch_alter_table("items") as b:
        b.drop_column("inspect_final")
        b.drop_column("inspect_incoming")
