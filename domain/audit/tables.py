"""The audit context's SQL table: one row per change of master data, policies, roles, permissions, users, the
company and credit limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import UTCDateTime, utcnow


class AuditEntry(Base):
    """Who changed what, when, and the record before and after (JSON; None before a creation)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity_key", "entity", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(60))  # "user", "role", "company", "approval_policy", "customer", …
    key: Mapped[str] = mapped_column(String(120))  # the record's own key (username, role name, customer id, …)
    action: Mapped[str] = mapped_column(String(20))  # created, changed, deactivated, …
    before: Mapped[dict[str, Any] | list[Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | list[Any] | None] = mapped_column(JSON, nullable=True)
