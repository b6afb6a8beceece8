"""The planning context's SQL tables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import UTCDateTime, utcnow


class MrpRun(Base):
    __tablename__ = "mrp_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    as_of: Mapped[date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(200))  # "all open sales orders", "SO-00003", "what-if"
    what_if: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(60))
    planned_count: Mapped[int] = mapped_column(default=0)
    exception_count: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
