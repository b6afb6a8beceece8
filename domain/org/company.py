"""The company's settings: name, base (company) currency, fiscal year start and time zone."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from zoneinfo import available_timezones

from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session

from domain.audit import services as audit
from domain.core.currencies import Currency
from domain.core.money import MAX_AMOUNT
from domain.core.numbers import PlainDecimal
from domain.org.tables import Company

DEFAULT_CURRENCY = "USD"
DEFAULT_THRESHOLD = Decimal(50000)


class CompanySettings(BaseModel):
    name: str = Field(default="", max_length=200)
    base_currency: Currency = DEFAULT_CURRENCY
    fiscal_year_start: int = Field(default=1, ge=1, le=12)
    time_zone: str = Field(default="UTC", max_length=60)
    # A credit limit above this (company currency) waits for a second approval (domain.changes).
    credit_limit_threshold: PlainDecimal = Field(default=DEFAULT_THRESHOLD, ge=0, le=MAX_AMOUNT, decimal_places=2)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return v.strip()

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        zone = time_zone_or_none(v)
        if zone is None:
            raise ValueError(f"{v[:60]!r} is not a time zone; use an IANA name such as Asia/Shanghai or UTC")
        return zone


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def time_zone_or_none(name: str) -> str | None:
    """`name` (trimmed) when it is an IANA time zone this system knows, else None."""
    name = (name or "").strip()
    return name if name in _zones() else None


def settings(session: Session) -> CompanySettings:
    row = session.get(Company, 1)
    if row is None:
        return CompanySettings()
    return CompanySettings(name=row.name, base_currency=row.base_currency, fiscal_year_start=row.fiscal_year_start,
                           time_zone=row.time_zone,
                           credit_limit_threshold=row.credit_limit_threshold if row.credit_limit_threshold is not None
                           else DEFAULT_THRESHOLD)


def base_currency(session: Session) -> str:
    """The currency the ledger and every report are kept in."""
    row = session.get(Company, 1)
    return row.base_currency if row is not None else DEFAULT_CURRENCY


def is_set_up(session: Session) -> bool:
    """Has the company been named (the first-run page, or --demo)? Until then admin is led to /setup."""
    row = session.get(Company, 1)
    return row is not None and bool(row.name.strip())


def save(session: Session, new: CompanySettings, actor: str | None = None) -> CompanySettings:
    """Store the settings; with an `actor`, the change is recorded in the audit trail."""
    before = settings(session) if session.get(Company, 1) is not None else None
    row = session.get(Company, 1)
    if row is None:
        row = Company(id=1)
        session.add(row)
    row.name, row.base_currency = new.name, new.base_currency
    row.fiscal_year_start, row.time_zone = new.fiscal_year_start, new.time_zone
    row.credit_limit_threshold = new.credit_limit_threshold
    session.flush()
    if actor is not None:
        audit.record(session, actor, "company", 1, before.model_dump() if before else None, new.model_dump())
    return new
