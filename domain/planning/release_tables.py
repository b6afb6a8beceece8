"""Batch release of stored MRP runs (issue 20): which planned order of which run was released, by which release,
as what. The unique (run, n) is what makes a planned order become an order once, however often it is asked."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class PlannedOrderRelease(Base):
    """One planned order of a stored run, claimed by a release (`release_number`, its MrpRelease process) and,
    once made, the production order or purchase requisition it became (`released_as`)."""

    __tablename__ = "planned_order_releases"
    __table_args__ = (UniqueConstraint("run_id", "n", name="planned_order_released_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("mrp_runs.id"), index=True)
    n: Mapped[int] = mapped_column()  # 1-based position in the run's planned orders: its id is "<run>-<n>"
    release_number: Mapped[str] = mapped_column(String(30), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # production | purchase
    sku: Mapped[str] = mapped_column(String(60))
    qty: Mapped[Decimal] = mapped_column(Amount)
    released_as: Mapped[str | None] = mapped_column(String(30), nullable=True)
    released_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
