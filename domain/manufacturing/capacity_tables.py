"""The capacity master data's SQL tables: a work centre's calendar (hours it works on each weekday, and dated
exceptions: holidays, short days, extra shifts) and an item's routing (its operations, each on a work centre, in
sequence)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class WorkCentreCalendar(Base):
    """The hours a work centre works on each weekday (Monday first). A work centre without one has no capacity
    known: no routing may use it."""

    __tablename__ = "work_centre_calendars"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_centre_id: Mapped[int] = mapped_column(ForeignKey("work_centres.id"), unique=True)
    mon: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    tue: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    wed: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    thu: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    fri: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    sat: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    sun: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingOperation(Base):
    """One operation of an item's routing: on a work centre, a setup once per order and hours per unit made."""

    __tablename__ = "routing_operations"
    __table_args__ = (UniqueConstraint("item_id", "seq", name="routing_operation_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    seq: Mapped[int] = mapped_column()
    work_centre_id: Mapped[int] = mapped_column(ForeignKey("work_centres.id"), index=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    setup_hours: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    hours_per_unit: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkCentreDay(Base):
    """A dated exception to a work centre's calendar: a holiday (0 hours), a short day or an extra shift."""

    __tablename__ = "work_centre_days"
    __table_args__ = (UniqueConstraint("work_centre_id", "day", name="work_centre_day_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_centre_id: Mapped[int] = mapped_column(ForeignKey("work_centres.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    hours: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    reason: Mapped[str] = mapped_column(String(200), default="")
