"""Cash advanced for a business trip, and its settlement by the trip's expense claim.

A business trip request approved with an advance posts it at once (Dr employee advances, Cr bank: the cash goes
out) and keeps a `trip_advances` row. The expense claim that names the trip nets the advance when it is paid: its
payment clears what we owe the employee against the advance first and pays only the rest from the bank
(`rules.payment_entry`)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.core.errors import Invalid
from domain.core.money import money
from domain.core.types import utcnow
from domain.expenses.tables import ExpenseClaim, TripAdvance


def advance_entry(trip: str, requester: str, amount: Decimal) -> accounting.JournalDraft:
    return accounting.entry(f"Cash advance for business trip {trip} to {requester}",
                            {accounting.EMPLOYEE_ADVANCES: amount}, {accounting.BANK: amount})


def record(session: Session, trip: str, requester: str, amount: Decimal, key: str) -> TripAdvance:
    """The advance of `trip` paid to `requester` and its journal, once (a retry finds both)."""
    row = by_trip(session, trip)
    if row is not None:
        return row
    amount = money(amount)
    if amount <= 0:
        raise Invalid(f"the cash advance for trip {trip} must be greater than zero")
    ledger.post(session, advance_entry(trip, requester, amount), "trip_advance", trip, key)
    row = TripAdvance(trip=trip, requester=requester, amount=amount)
    session.add(row)
    session.flush()
    return row


def by_trip(session: Session, trip: str) -> TripAdvance | None:
    return session.execute(select(TripAdvance).where(TripAdvance.trip == trip)).scalar_one_or_none()


def check_trip(session: Session, trip: str, requester: str) -> None:
    """A claim may name the trip whose advance it settles: one of the requester's own, not yet settled."""
    row = by_trip(session, trip)
    if row is None or row.requester != requester:
        raise Invalid(f"trip {trip} has no cash advance of yours to settle; name a business trip of yours with an "
                      "advance, or leave the trip out")
    if row.settled:
        raise Invalid(f"the advance of trip {trip} is already settled by claim {row.claim_number}")


def settle(session: Session, claim: ExpenseClaim, owed: Decimal) -> Decimal:
    """What the payment of `claim` (owing `owed`) nets against its trip's advance: the advance, up to what is
    owed; 0 when it names no trip. Once: a retry answers the amount netted before."""
    if not claim.trip:
        return Decimal(0)
    row = by_trip(session, claim.trip)
    if row is None:
        return Decimal(0)
    if row.claim_number == claim.number:
        return row.settled_amount
    if row.settled:
        return Decimal(0)
    netted = min(money(row.amount - row.settled_amount), owed)
    row.settled_amount = money(row.settled_amount + netted)
    row.settled = row.settled_amount >= row.amount
    row.claim_number, row.settled_at = claim.number, utcnow()
    session.flush()
    return netted


def view(row: TripAdvance) -> dict[str, object]:
    return {"trip": row.trip, "requester": row.requester, "amount": row.amount,
            "settled_amount": row.settled_amount, "settled": row.settled, "claim": row.claim_number,
            "created_at": row.created_at, "settled_at": row.settled_at}
