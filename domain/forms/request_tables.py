"""The form requests' SQL table: one request filed on a form type version, with the route it resolved to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import UTCDateTime, utcnow


class FormRequest(Base):
    __tablename__ = "form_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)  # FR-00001
    form_key: Mapped[str] = mapped_column(String(60), index=True)
    version: Mapped[int] = mapped_column(Integer)
    requester: Mapped[str] = mapped_column(String(60), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    values: Mapped[dict[str, Any]] = mapped_column(JSON)  # as JSON: decimals and dates as text
    route: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the resolved ChainSteps
    status: Mapped[str] = mapped_column(String(30))  # a RequestStatus
    effect: Mapped[str] = mapped_column(String(300), default="")  # what its approval did (leave taken, advance)
    process_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
