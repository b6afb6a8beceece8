"""The inventory context's SQL tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # purchased | manufactured
    uom: Mapped[str] = mapped_column(String(20), default="ea")
    standard_cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    # What a quotation line is measured against (pricing policies, domain/sales/pricing.py); NULL: no list price.
    list_price: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    item_group: Mapped[str] = mapped_column(String(60), default="", server_default="")  # "": none
    lead_time_days: Mapped[int] = mapped_column(default=0)
    safety_stock: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    min_order_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    # Planned lots are a multiple of this (0: any quantity).
    order_multiple: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0), server_default="0")
    default_supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), nullable=True)
    # A deactivated item stays on the documents that name it; it is left out of lists and pickers.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Quality (domain/quality): goods received from a supplier (incoming) or from production (final) are
    # quarantined until an inspection accepts them.
    inspect_incoming: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    inspect_final: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    balance: Mapped[StockBalance] = relationship(lazy="joined", uselist=False)


class StockBalance(Base):
    """One row per item: the lock target that serializes concurrent moves of that item."""

    __tablename__ = "stock_balances"
    __table_args__ = (CheckConstraint("on_hand >= 0", name="on_hand_never_negative"),)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    on_hand: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    on_order: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    # Moving-average valuation: value of what is on hand.
    stock_value: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    # Received but not yet accepted by an inspection (domain/inventory/quarantine.py): outside on_hand, so nothing
    # that reads free stock (reservations, kitting, MRP, promises) counts it; its value is still inventory.
    quarantine: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0), server_default="0")
    quarantine_value: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0), server_default="0")


class StockLedgerEntry(Base):
    __tablename__ = "stock_ledger"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    qty: Mapped[Decimal] = mapped_column(Amount)  # + in, - out
    unit_cost: Mapped[Decimal] = mapped_column(Amount)
    value_change: Mapped[Decimal] = mapped_column(Amount)
    on_hand_after: Mapped[Decimal] = mapped_column(Amount)
    voucher_type: Mapped[str] = mapped_column(String(40))
    voucher_no: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(60), default="system")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Uom(Base):
    __tablename__ = "uoms"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), default="")
    whole: Mapped[bool] = mapped_column(Boolean, default=False)
