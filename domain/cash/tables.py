"""The cash context's SQL tables: invoices (customer and supplier, credit notes too), payments and their
allocations, the cash policies."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.cash.rules import InvoiceStatus
from domain.core.db import Base
from domain.core.types import Amount, Rate, UTCDateTime, utcnow


class Invoice(Base):
    """A customer invoice (one per delivery), a supplier's bill (against a purchase order), or a credit note
    of either kind (negative amounts). Posted once: never edited, corrected by a credit note."""

    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_party_open", "kind", "party_id", "status", "due_on", "issued_on"),
        Index("ix_invoices_kind_status_due", "kind", "status", "due_on"),
        # Aging and the cash position read only these columns of the open invoices of a kind: the index covers
        # them, so a report over 100,000 open invoices never visits the table (bench/bench_aging.py).
        Index("ix_invoices_aging", "kind", "status", "party_id", "due_on", "issued_on", "outstanding_base"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # an InvoiceKind
    credit_note: Mapped[bool] = mapped_column(Boolean, default=False)
    party_id: Mapped[int] = mapped_column(Integer)  # customers.id or suppliers.id, by kind
    party_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=InvoiceStatus.OPEN)  # an InvoiceStatus
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(1))  # company currency per unit, at issued_on
    subtotal: Mapped[Decimal] = mapped_column(Amount)
    tax: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(Amount)  # in `currency`; negative for a credit note
    total_base: Mapped[Decimal] = mapped_column(Amount)
    outstanding: Mapped[Decimal] = mapped_column(Amount)  # what is still owed, in `currency`
    outstanding_base: Mapped[Decimal] = mapped_column(Amount)  # its company-currency value at the invoice's rate
    sales_order_number: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    delivery_note_number: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    purchase_order_number: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    supplier_ref: Mapped[str | None] = mapped_column(String(60), nullable=True)  # the supplier's own bill number
    against_number: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)  # a credit note's invoice
    reason: Mapped[str] = mapped_column(String(500), default="")  # a credit note's, a write-off's, a rejection's
    match: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # a supplier bill's Match
    owner: Mapped[str] = mapped_column(String(60), default="")  # the order's salesperson, the bill's buyer
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    dunning_level: Mapped[int] = mapped_column(Integer, default=0)  # the last reminder level raised
    created_by: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # paid or written off

    lines: Mapped[list[InvoiceLine]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                    order_by="InvoiceLine.id")


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(200), default="")
    qty: Mapped[Decimal] = mapped_column(Amount)
    unit_price: Mapped[Decimal] = mapped_column(Amount)
    net: Mapped[Decimal] = mapped_column(Amount)  # negative on a credit note


class Payment(Base):
    """Money in from a customer or out to a supplier. The same reference from the same party is one payment."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("direction", "party_id", "reference", name="uq_payments_party_reference"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    direction: Mapped[str] = mapped_column(String(3))  # a Direction
    party_id: Mapped[int] = mapped_column(Integer, index=True)
    party_name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(1))
    amount_base: Mapped[Decimal] = mapped_column(Amount)
    paid_on: Mapped[date] = mapped_column(Date, index=True)
    reference: Mapped[str] = mapped_column(String(100))
    unallocated: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # credit left to use, in `currency`
    unallocated_base: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # its value in customer advances
    process_id: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    allocations: Mapped[list[PaymentAllocation]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                                order_by="PaymentAllocation.id")


class PaymentAllocation(Base):
    """Part of a payment (or of a credit note, `credit_note_id`) set against one invoice."""

    __tablename__ = "payment_allocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True, index=True)
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), nullable=True, index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount)  # in the invoice's currency
    cleared_base: Mapped[Decimal] = mapped_column(Amount)  # what left the control account, company currency
    exchange_difference: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # a loss above zero
    allocated_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CashPolicyRow(Base):
    """The company's cash policies (domain/cash/rules.CashPolicy as JSON), one row (id 1); none: the defaults."""

    __tablename__ = "cash_policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
