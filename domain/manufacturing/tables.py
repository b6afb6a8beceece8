"""The manufacturing context's SQL tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class WorkCentre(Base):
    __tablename__ = "work_centres"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    hourly_cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BomRow(Base):
    """The BOM of one item (per one unit of it). Replacing it keeps the row and counts its revision."""

    __tablename__ = "boms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), unique=True)
    revision: Mapped[int] = mapped_column(default=1)
    labour_hours: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    # None: the work centre's hourly cost at the time of use (0 without a work centre).
    labour_rate: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    overhead_rate: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # per labour hour
    issue_method: Mapped[str] = mapped_column(String(20))  # kitted | backflush
    work_centre_id: Mapped[int | None] = mapped_column(ForeignKey("work_centres.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BomLineRow(Base):
    __tablename__ = "bom_lines"
    __table_args__ = (UniqueConstraint("bom_id", "component_item_id", name="bom_component_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bom_id: Mapped[int] = mapped_column(ForeignKey("boms.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    component_item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    qty: Mapped[Decimal] = mapped_column(Amount)  # per one unit of the parent
    scrap_pct: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
