"""The changes context's SQL table: a proposed change that takes effect only once a second admin (or the cfo)
approved it (workflows/change_approval.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import UTCDateTime, utcnow


class ChangeRequest(Base):
    __tablename__ = "change_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # approval_policy, role_grants, credit_limit
    target: Mapped[str] = mapped_column(String(120))  # the policy kind, the role, the customer id
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON)  # what is to be stored
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # what was stored when proposed
    summary: Mapped[str] = mapped_column(String(300), default="")
    proposed_by: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="pending_approval")  # applied, rejected
    process_id: Mapped[str] = mapped_column(String(120), default="")
    decided_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
