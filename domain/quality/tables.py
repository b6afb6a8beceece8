"""The quality context's SQL tables: nonconformance records (NCR)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class Nonconformance(Base):
    """What an inspection rejected: the item, quantity and reason, the document it came on, and what became of it
    (sent back to the supplier on a return and/or a debit against the bill; scrapped)."""

    __tablename__ = "nonconformances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)  # NCR-00001
    lot_id: Mapped[int] = mapped_column(ForeignKey("quarantine_lots.id"), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60))
    qty: Mapped[Decimal] = mapped_column(Amount)
    reason: Mapped[str] = mapped_column(String(40))  # a reason code (domain.quality.rules.REASONS)
    note: Mapped[str] = mapped_column(String(500), default="")
    source_document: Mapped[str] = mapped_column(String(60), index=True)  # the receipt the goods came on
    order_number: Mapped[str] = mapped_column(String(30), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), nullable=True, index=True)
    disposition: Mapped[str] = mapped_column(String(30))  # returned | scrapped
    returned_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # back before a bill: received less
    debited_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # back on a debit note against a bill
    debit_note: Mapped[str | None] = mapped_column(String(30), nullable=True)  # DN-00001
    bill: Mapped[str | None] = mapped_column(String(30), nullable=True)  # the bill the debit note is against
    value: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # what left inventory
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
