"""The month-end close's checks as sales sees them: deliveries (and returns) dated in the period whose invoice
(or credit note) is not yet issued count as recorded but not posted. Cash runs the checks (domain/cash/close.py)
and cannot read sales (it sits below it), so the close's checks are put together here."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounting.rules import parse_period
from domain.cash import close
from domain.cash.close_rules import CloseReport, Unposted
from domain.cash.tables import Invoice
from domain.sales.tables import DeliveryNote


def uninvoiced_deliveries(session: Session, first: date, last: date) -> list[Unposted]:
    """Delivery and return notes dated in [first, last] with no invoice or credit note issued for them yet."""
    invoiced = select(Invoice.id).where(Invoice.delivery_note_number == DeliveryNote.number).exists()
    rows = session.execute(select(DeliveryNote).where(DeliveryNote.delivered_on >= first,
                                                      DeliveryNote.delivered_on <= last,
                                                      DeliveryNote.invoice_number.is_(None), ~invoiced)
                           .order_by(DeliveryNote.delivered_on, DeliveryNote.number)).scalars()
    return [Unposted(kind="return without its credit note" if r.is_return else "delivery not yet invoiced",
                     number=r.number, on=r.delivered_on, amount=r.revenue) for r in rows]


def checks(session: Session, period: str) -> CloseReport:
    """Every check of the close of `period`."""
    first, last = parse_period(period)
    return close.run_checks(session, period, more_unposted=uninvoiced_deliveries(session, first, last))
