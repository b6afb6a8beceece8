"""Pricing policies: how far under list a quotation line may go and the margins that call for approval."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base
from domain.schema.types import Amount, UTCDateTime, utcnow


class PricingPolicyRow(Base):
    """The company's policy (item_group NULL, one row) or an item group's (one row per group; unique).
    Percentages; NULL: no such limit (a group's NULL falls back to the company's, see domain/pricing.py)."""

    __tablename__ = "pricing_policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_group: Mapped[str | None] = mapped_column(String(60), unique=True, nullable=True)
    max_below_list_pct: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    min_margin_pct: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    cfo_margin_pct: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
