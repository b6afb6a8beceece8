"""Exchange rates in SQL: the rates table finance keeps (entered one by one or imported from CSV, all or none),
read by domain.accounting.ledger.rate when a document in another currency is converted."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounting.rules import RateIn, check_rate
from domain.accounting.tables import ExchangeRate
from domain.core import csvfile
from domain.core.errors import DomainError, Invalid
from domain.org.company import base_currency

COLUMNS = ("currency", "valid_from", "rate")


def view(row: ExchangeRate) -> dict[str, Any]:
    return {"id": row.id, "currency": row.currency, "valid_from": row.valid_from, "rate": row.rate,
            "entered_by": row.entered_by, "created_at": row.created_at}


def rates(session: Session, currency: str | None = None, limit: int = 500, offset: int = 0) -> list[dict[str, Any]]:
    """The rates, newest day first (of one currency if given)."""
    q = select(ExchangeRate)
    if currency:
        q = q.where(ExchangeRate.currency == currency)
    q = q.order_by(ExchangeRate.currency, ExchangeRate.valid_from.desc()).limit(limit).offset(offset)
    return [view(r) for r in session.execute(q).scalars()]


def _days(session: Session, currencies: set[str]) -> dict[str, set[date]]:
    out: dict[str, set[date]] = {c: set() for c in currencies}
    for cur, day in session.execute(select(ExchangeRate.currency, ExchangeRate.valid_from)
                                    .where(ExchangeRate.currency.in_(currencies))).all():
        out[cur].add(day)
    return out


def add(session: Session, new: RateIn, by: str) -> ExchangeRate:
    """One rate; the company currency (422) and a second rate for the same currency and day (409) refused."""
    check_rate(new, base_currency(session), _days(session, {new.currency})[new.currency])
    row = ExchangeRate(currency=new.currency, valid_from=new.valid_from, rate=new.rate, entered_by=by)
    session.add(row)
    session.flush()
    return row


def import_csv(session: Session, text: str, by: str) -> dict[str, int]:
    """Rows `currency,valid_from,rate`: every row checked first (with the stored rates and the file's other
    rows), then all stored, or none (the refusal names the line; the header is line 1)."""
    _, rows = csvfile.read(text, COLUMNS, COLUMNS)
    parsed = [(line, csvfile.parse(RateIn, line, row)) for line, row in rows]
    base = base_currency(session)
    days = _days(session, {r.currency for _, r in parsed})
    seen: dict[tuple[str, date], int] = {}
    for line, r in parsed:
        if (r.currency, r.valid_from) in seen:
            raise Invalid(f"line {line}: {r.currency} on {r.valid_from.isoformat()} is on line "
                          f"{seen[r.currency, r.valid_from]} already")
        seen[r.currency, r.valid_from] = line
        try:
            check_rate(r, base, days[r.currency])
        except DomainError as e:  # the same refusal (422 or 409), with its line
            raise type(e)(f"line {line}: {e.message}") from None
    session.add_all([ExchangeRate(currency=r.currency, valid_from=r.valid_from, rate=r.rate, entered_by=by)
                     for _, r in parsed])
    session.flush()
    return {"rows": len(parsed), "created": len(parsed)}


def export_csv(session: Session) -> str:
    q = select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.rate).order_by(
        ExchangeRate.currency, ExchangeRate.valid_from)
    return csvfile.write(COLUMNS, session.execute(q).all())
