"""Quarantine lots: goods received (from a supplier, or from production) that wait for an inspection before they
count as stock on hand."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class QuarantineLot(Base):
    """One inspection lot: `qty` of an item from one receipt line, held in quarantine at `value` until an
    inspection splits it into accepted (to on hand) and rejected (back to the supplier, or scrapped)."""

    __tablename__ = "quarantine_lots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)  # IL-00001
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(20))  # purchase | production
    source_document: Mapped[str] = mapped_column(String(60), index=True)  # the receipt: PO-00003-R1, MO-00002
    order_number: Mapped[str] = mapped_column(String(30), index=True)  # the purchase or production order
    voucher_type: Mapped[str] = mapped_column(String(40))  # the stock voucher accepted goods come in under
    qty: Mapped[Decimal] = mapped_column(Amount)
    value: Mapped[Decimal] = mapped_column(Amount)  # what the lot was received at (whole cents)
    out_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # what has left quarantine so far
    out_value: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # and its value
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | inspected
    accepted_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    rejected_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    reason: Mapped[str] = mapped_column(String(40), default="")  # a rejection reason code (domain.quality.rules)
    note: Mapped[str] = mapped_column(String(500), default="")
    inspected_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_by: Mapped[str] = mapped_column(String(60), default="system")
    process_id: Mapped[str] = mapped_column(String(200), default="")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
