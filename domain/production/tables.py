"""The production context's SQL tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow
from domain.production.rules import ProductionStatus


class ProductionOrder(Base):
    """One production order. Its cost builds up in work in progress (`wip_value`) as material is issued
    and labour reported, and leaves it with each finished-goods receipt, at actual cost."""

    __tablename__ = "production_orders"
    __table_args__ = (CheckConstraint("completed_qty <= qty", name="completed_within_qty"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60))
    qty: Mapped[Decimal] = mapped_column(Amount)
    completed_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    scrap_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    issue_method: Mapped[str] = mapped_column(String(20))  # kitted | backflush
    status: Mapped[str] = mapped_column(String(30), default=ProductionStatus.WAITING_MATERIAL)  # a ProductionStatus
    wait_reason: Mapped[str] = mapped_column(String(500), default="")
    sales_order_number: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    pegged_to: Mapped[str] = mapped_column(String(500), default="")  # the demand it serves, from MRP
    release_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    # The BOM as it was when the order was made: per unit of the item.
    std_labour_hours: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    labour_rate: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    overhead_rate: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    labour_hours: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # reported so far
    material_cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    labour_cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    overhead_cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    wip_value: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    received_value: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    planner: Mapped[str] = mapped_column(String(60))
    notice: Mapped[str] = mapped_column(String(500), default="")  # lateness, as the sales order shows it
    process_id: Mapped[str] = mapped_column(String(200), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    materials: Mapped[list[ProductionMaterial]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                               order_by="ProductionMaterial.position")


class ProductionMaterial(Base):
    """A component of a production order: what its BOM needs for the order quantity (scrap included),
    what was issued so far and at what value (moving average at the time of each issue)."""

    __tablename__ = "production_materials"
    __table_args__ = (UniqueConstraint("order_id", "sku", name="production_material_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    sku: Mapped[str] = mapped_column(String(60))
    per_unit: Mapped[Decimal] = mapped_column(Amount)  # BOM qty per unit of the parent
    scrap_pct: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    required_qty: Mapped[Decimal] = mapped_column(Amount)
    issued_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    issued_value: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    standard_cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # of the component, when made
