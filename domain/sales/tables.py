"""The sales context's SQL tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow
from domain.sales.rules import QuotationStatus, SalesOrderStatus


class PricingPolicyRow(Base):
    """The company's policy (item_group NULL, one row) or an item group's (one row per group; unique).
    Percentages; NULL: no such limit (a group's NULL falls back to the company's, see domain/sales/pricing.py)."""

    __tablename__ = "pricing_policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_group: Mapped[str | None] = mapped_column(String(60), unique=True, nullable=True)
    max_below_list_pct: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    min_margin_pct: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    cfo_margin_pct: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Quotation(Base):
    __tablename__ = "quotations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(30), default=QuotationStatus.PENDING_APPROVAL)  # a QuotationStatus
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    subtotal: Mapped[Decimal] = mapped_column(Amount)
    discount_total: Mapped[Decimal] = mapped_column(Amount)
    net_total: Mapped[Decimal] = mapped_column(Amount)
    tax_rate: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    tax: Mapped[Decimal] = mapped_column(Amount)
    total: Mapped[Decimal] = mapped_column(Amount)
    max_discount_pct: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    process_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_by: Mapped[str] = mapped_column(String(60))
    sales_order_number: Mapped[str | None] = mapped_column(String(30), nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")  # why it was rejected
    # The price review when it was recorded (domain/pricing.Review as JSON): why it needs approval, the margin.
    price_review: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The day the customer wants it (None: not said); a line promised later is a reason for approval (issue 20).
    requested_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    lines: Mapped[list[QuotationLine]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                      order_by="QuotationLine.id")


class QuotationLine(Base):
    __tablename__ = "quotation_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quotation_id: Mapped[int] = mapped_column(ForeignKey("quotations.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    sku: Mapped[str] = mapped_column(String(60))
    qty: Mapped[Decimal] = mapped_column(Amount)
    unit_price: Mapped[Decimal] = mapped_column(Amount)
    discount_pct: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    net: Mapped[Decimal] = mapped_column(Amount)
    # Capable-to-promise when it was recorded (domain/planning/promise.py): the earliest day it could ship, from
    # what (stock | supply | build | purchase), what held it up (a sentence, and as data for the pages' wording).
    # None on quotations recorded before promises existed.
    promise_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    promise_basis: Mapped[str | None] = mapped_column(String(20), nullable=True)
    constrained_by: Mapped[str | None] = mapped_column(String(300), nullable=True)
    promise_constraint: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class SalesOrder(Base):
    __tablename__ = "sales_orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    quotation_number: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default=SalesOrderStatus.OPEN)  # a SalesOrderStatus
    requested_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    total: Mapped[Decimal] = mapped_column(Amount)
    owner: Mapped[str] = mapped_column(String(60))
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written when the goods leave (delivery): revenue net of tax, cost of the goods at their value in stock.
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revenue: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    cost_material: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    cost_labour: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    cost_overhead: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    cost_total: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    margin: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    notice: Mapped[str] = mapped_column(String(500), default="", server_default="")  # production news for sales

    lines: Mapped[list[SalesOrderLine]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                       order_by="SalesOrderLine.id")


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    sku: Mapped[str] = mapped_column(String(60))
    qty: Mapped[Decimal] = mapped_column(Amount)
    unit_price: Mapped[Decimal] = mapped_column(Amount)
    net: Mapped[Decimal] = mapped_column(Amount)
    reserved_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    delivered_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0), server_default="0")
    returned_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0), server_default="0")


class DeliveryNote(Base):
    """Goods that left for a customer against one sales order (a partial delivery or the whole), numbered; or,
    `is_return`, goods the customer sent back (a return note). Each has its invoice (or credit note)."""

    __tablename__ = "delivery_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    sales_order_number: Mapped[str] = mapped_column(String(30), index=True)
    is_return: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(String(500), default="")
    delivered_by: Mapped[str] = mapped_column(String(60))
    delivered_on: Mapped[date] = mapped_column(Date)
    revenue: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # net of tax, document currency
    cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # cost of the goods, company currency
    invoice_number: Mapped[str | None] = mapped_column(String(30), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[DeliveryNoteLine]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                         order_by="DeliveryNoteLine.id")


class DeliveryNoteLine(Base):
    __tablename__ = "delivery_note_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("delivery_notes.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60))
    qty: Mapped[Decimal] = mapped_column(Amount)
    unit_price: Mapped[Decimal] = mapped_column(Amount)  # the order line's net price per unit
    net: Mapped[Decimal] = mapped_column(Amount)
    cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
