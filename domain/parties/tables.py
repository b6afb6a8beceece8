"""The parties context's SQL tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, true
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
    # An inactive customer takes no new leads' opportunities, quotations or orders; refused while it has open ones.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
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
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())  # as Customer.active
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @validates("name")
    def _keyed(self, _: str, name: str) -> str:
        self.name_key = name_key(name)
        return name


class SupplierPrice(Base):
    """What a supplier asks for an item: its price in a currency from a minimum quantity, and its lead time."""

    __tablename__ = "supplier_prices"
    __table_args__ = (UniqueConstraint("supplier_id", "item_id", name="uq_supplier_prices_supplier_item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    price: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    min_qty: Mapped[Decimal] = mapped_column(Amount, default=Decimal(1))
    lead_time_days: Mapped[int] = mapped_column(default=0)
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PriceListPrice(Base):
    """The price list: an item's unit price in a currency, for every customer (customer_id None) or for one.
    A quotation or order line left without a price takes the customer's own price, else everyone's
    (domain.parties.prices.list_price)."""

    __tablename__ = "price_list_prices"
    __table_args__ = (UniqueConstraint("item_id", "customer_id", "currency", name="uq_price_list_item_customer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    unit_price: Mapped[Decimal] = mapped_column(Amount)
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PartySettings(Base):
    """The company's settings for customers and suppliers, one row (id 1); none: the defaults
    (domain.parties.master.settings)."""

    __tablename__ = "party_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    default_credit_limit: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))  # of a customer from a lead
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
