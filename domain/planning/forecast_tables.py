"""Sales forecasts (销售预测): how much of an item the company expects to sell in a month, entered by a planner or
imported from a CSV file. MRP plans what actual orders of that month have not used up (domain.planning.forecasts)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class Forecast(Base):
    __tablename__ = "forecasts"
    __table_args__ = (UniqueConstraint("item_id", "month", name="uq_forecasts_item_month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60))
    month: Mapped[date] = mapped_column(Date, index=True)  # the first day of the month
    qty: Mapped[Decimal] = mapped_column(Amount)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
