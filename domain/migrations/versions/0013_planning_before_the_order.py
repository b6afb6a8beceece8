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
    pass


def _promise_downgrade() -> None:
    pass


# --- B: forecasts (and kitting) -----------------------------------------------------------------------------
def _forecast_upgrade() -> None:
    pass


def _forecast_downgrade() -> None:
    pass


# --- C: make to stock and batch release ---------------------------------------------------------------------
def _release_upgrade() -> None:
    pass


def _release_downgrade() -> None:
    pass


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


def _capacity_downgrade() -> None:
    with op.batch_alter_table("routing_operations") as b:
        b.drop_index(b.f("ix_routing_operations_work_centre_id"))
        b.drop_index(b.f("ix_routing_operations_item_id"))
    op.drop_table("routing_operations")
    op.drop_table("work_centre_calendars")


# --- F: quality (inspection, quarantine, nonconformance, scrap reasons) -------------------------------------
def _quality_upgrade() -> None:
    pass


def _quality_downgrade() -> None:
    pass
