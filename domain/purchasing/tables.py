"""The purchasing context's SQL tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow
from domain.purchasing.rules import PurchaseOrderStatus, RequisitionStatus


class PurchaseRequisition(Base):
    __tablename__ = "purchase_requisitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    requester: Mapped[str] = mapped_column(String(60), index=True)
    status: Mapped[str] = mapped_column(String(30), default=RequisitionStatus.PENDING_APPROVAL)  # a RequisitionStatus
    justification: Mapped[str] = mapped_column(String(2000), default="")
    total: Mapped[Decimal] = mapped_column(Amount)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    process_id: Mapped[str] = mapped_column(String(200), unique=True)
    purchase_order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_orders.id"), nullable=True)
    # Planned by MRP for this sales order (None: asked for by hand).
    sales_order_number: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[RequisitionLine]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                        order_by="RequisitionLine.id")


class RequisitionLine(Base):
    __tablename__ = "requisition_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requisition_id: Mapped[int] = mapped_column(ForeignKey("purchase_requisitions.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    sku: Mapped[str] = mapped_column(String(60))
    qty: Mapped[Decimal] = mapped_column(Amount)
    est_unit_price: Mapped[Decimal] = mapped_column(Amount)


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    requisition_number: Mapped[str] = mapped_column(String(30), index=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    buyer: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(30), default=PurchaseOrderStatus.OPEN)  # a PurchaseOrderStatus
    total: Mapped[Decimal] = mapped_column(Amount)
    expected_date: Mapped[date] = mapped_column(Date)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[PurchaseOrderLine]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                          order_by="PurchaseOrderLine.id")


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    po_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    sku: Mapped[str] = mapped_column(String(60))
    qty: Mapped[Decimal] = mapped_column(Amount)
    received_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    unit_price: Mapped[Decimal] = mapped_column(Amount)


class GoodsReceipt(Base):
    __tablename__ = "goods_receipts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    po_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    received_by: Mapped[str] = mapped_column(String(60))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[GoodsReceiptLine]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class GoodsReceiptLine(Base):
    __tablename__ = "goods_receipt_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("goods_receipts.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60))
    qty: Mapped[Decimal] = mapped_column(Amount)
