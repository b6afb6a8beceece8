"""The expenses context's SQL tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow
from domain.expenses.rules import ClaimStatus


class ExpenseClaim(Base):
    __tablename__ = "expense_claims"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    requester: Mapped[str] = mapped_column(String(60), index=True)
    status: Mapped[str] = mapped_column(String(30), default=ClaimStatus.PENDING_APPROVAL)  # a ClaimStatus
    total: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    process_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    trip: Mapped[str | None] = mapped_column(String(30), nullable=True)  # the business trip (FR-…) it settles

    lines: Mapped[list[ExpenseLine]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                    order_by="ExpenseLine.id")


class ExpenseLine(Base):
    __tablename__ = "expense_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("expense_claims.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(500), default="")


class TripAdvance(Base):
    """Cash advanced for a business trip (a form request's effect): netted when the trip's expense claim is paid."""

    __tablename__ = "trip_advances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trip: Mapped[str] = mapped_column(String(30), unique=True)  # the business trip request's number (FR-…)
    requester: Mapped[str] = mapped_column(String(60), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount)  # in the company currency
    settled_amount: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    claim_number: Mapped[str | None] = mapped_column(String(30), nullable=True)  # the claim that settled it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
