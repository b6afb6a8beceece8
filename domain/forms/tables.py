"""The forms context's SQL tables: form types (one row per version) and leave balances."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class FormType(Base):
    """One version of a form type: its definition (domain.forms.rules.FormTypeIn as JSON) as it was published.
    A change is a new row (version n+1); requests keep the version they started with."""

    __tablename__ = "form_types"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_form_types_key_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeaveBalance(Base):
    """A user's leave for one year: the days granted, and those taken by approved leave requests."""

    __tablename__ = "leave_balances"
    __table_args__ = (UniqueConstraint("username", "year", name="uq_leave_balances_username_year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), index=True)
    year: Mapped[int] = mapped_column(Integer)
    days_granted: Mapped[Decimal] = mapped_column(Amount)
    days_taken: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
