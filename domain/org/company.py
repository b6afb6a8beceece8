"""The company's settings: name, base (company) currency, fiscal year start and time zone."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from domain.core.currencies import Currency
from domain.org.tables import Company

DEFAULT_CURRENCY = "USD"


class CompanySettings(BaseModel):
    name: str = Field(default="", max_length=200)
    base_currency: Currency = DEFAULT_CURRENCY
    fiscal_year_start: int = Field(default=1, ge=1, le=12)
    time_zone: str = Field(default="UTC", max_length=60)


def settings(session: Session) -> CompanySettings:
    row = session.get(Company, 1)
    if row is None:
        return CompanySettings()
    return CompanySettings(name=row.name, base_currency=row.base_currency, fiscal_year_start=row.fiscal_year_start,
                           time_zone=row.time_zone)


def base_currency(session: Session) -> str:
    """The currency the ledger and every report are kept in."""
    row = session.get(Company, 1)
    return row.base_currency if row is not None else DEFAULT_CURRENCY


def save(session: Session, new: CompanySettings) -> CompanySettings:
    row = session.get(Company, 1)
    if row is None:
        row = Company(id=1)
        session.add(row)
    row.name, row.base_currency = new.name, new.base_currency
    row.fiscal_year_start, row.time_zone = new.fiscal_year_start, new.time_zone
    session.flush()
    return new
