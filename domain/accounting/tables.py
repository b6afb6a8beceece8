"""The accounting context's SQL tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.core.db import Base
from domain.core.types import Amount, Rate, UTCDateTime, utcnow


class Account(Base):
    __tablename__ = "accounts"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(20))  # asset | liability | equity | income | expense


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    memo: Mapped[str] = mapped_column(String(300), default="")
    voucher_type: Mapped[str] = mapped_column(String(40))
    voucher_no: Mapped[str] = mapped_column(String(60), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The accounting date: the period it belongs to (a closed period takes none), reports by date.
    posted_on: Mapped[date] = mapped_column(Date, index=True)

    lines: Mapped[list[JournalLine]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class JournalLine(Base):
    __tablename__ = "journal_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_code: Mapped[str] = mapped_column(ForeignKey("accounts.code"), index=True)
    debit: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))


class Period(Base):
    """An accounting period (a month) that has been closed, or is closing; no row: open."""

    __tablename__ = "periods"
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    status: Mapped[str] = mapped_column(String(20), default="open")  # a PeriodStatus
    process_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    checks: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)  # the close's last checks
    closed_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reopened_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    reopen_reason: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ExchangeRate(Base):
    """Company-currency units for one unit of `currency`, from `valid_from` until the next rate's date."""

    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("currency", "valid_from", name="uq_exchange_rates_currency_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(Rate)
    entered_by: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

