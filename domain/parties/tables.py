"""The parties context's SQL tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column, validates

from domain.core.db import Base
from domain.core.names import MAX_KEY, name_key
from domain.core.types import Amount, UTCDateTime, utcnow


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # domain.names.name_key(name), kept in step with the name: two customers whose names look the same are one.
    name_key: Mapped[str] = mapped_column(String(MAX_KEY), unique=True)
    credit_limit: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    payment_terms_days: Mapped[int] = mapped_column(default=30, server_default="30")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @validates("name")
    def _keyed(self, _: str, name: str) -> str:
        self.name_key = name_key(name)
        return name


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_key: Mapped[str] = mapped_column(String(MAX_KEY), unique=True)  # as Customer.name_key
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    payment_terms_days: Mapped[int] = mapped_column(default=30, server_default="30")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @validates("name")
    def _keyed(self, _: str, name: str) -> str:
        self.name_key = name_key(name)
        return name
