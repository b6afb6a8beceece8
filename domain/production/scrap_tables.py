"""Scrap reported on the shop floor, by reason (issue 20): one row per progress report that scrapped units."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class ScrapReport(Base):
    __tablename__ = "scrap_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60), index=True)
    qty: Mapped[Decimal] = mapped_column(Amount)
    reason: Mapped[str] = mapped_column(String(40), default="")  # a code of domain.production.scrap ("": not said)
    reported_by: Mapped[str] = mapped_column(String(60))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
