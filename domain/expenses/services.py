"""Expense claims in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.accounting.tables import JournalEntry, JournalLine
from domain.approvals import access
from domain.approvals import services as approvals
from domain.core.errors import NotFound
from domain.core.types import utcnow
from domain.expenses import advances
from domain.expenses import rules as expenses
from domain.expenses.rules import ClaimStatus
from domain.expenses.tables import ExpenseClaim, ExpenseLine
from domain.notifications import services as notifications


def record(session: Session, draft: expenses.ClaimDraft, process_id: str) -> ExpenseClaim:
    claim = by_number(session, draft.number, missing_ok=True)
    if claim is not None:
        return claim
    claim = ExpenseClaim(number=draft.number, requester=draft.requester, status=ClaimStatus.PENDING_APPROVAL,
                         total=draft.total, currency=draft.currency, process_id=process_id, trip=draft.trip)
    claim.lines = [ExpenseLine(category=ln.category, amount=ln.amount, currency=ln.currency, date=ln.date,
                               description=ln.description) for ln in draft.lines]
    session.add(claim)
    session.flush()
    return claim


# Built once (a claim is read by its number on every request about it, each long-poll answer included).
_BY_NUMBER = select(ExpenseClaim).where(ExpenseClaim.number == bindparam("number"))


def by_number(session: Session, number: str, *, missing_ok: bool = False) -> ExpenseClaim | None:
    claim = session.execute(_BY_NUMBER, {"number": number}).scalar_one_or_none()
    if claim is None and not missing_ok:
        raise NotFound(f"no expense claim {number}")
    return claim


def visible_claim(session: Session, number: str, viewer: access.Viewer) -> ExpenseClaim:
    """The claim `viewer` (username, roles) may open (access.may_see); NotFound otherwise."""
    claim = by_number(session, number, missing_ok=True)
    _must_see(session, number, viewer, claim)
    return claim  # type: ignore[return-value]  # _must_see raised if it was None


_STATUS = select(ExpenseClaim.status, ExpenseClaim.requester, ExpenseClaim.process_id).where(
    ExpenseClaim.number == bindparam("number"))


def visible_status(session: Session | Connection, number: str, viewer: access.Viewer) -> str:
    """The status of the claim `viewer` may open, read without loading the claim (what a long poll waits on);
    NotFound as visible_claim."""
    row = session.execute(_STATUS, {"number": number}).first()
    _must_see(session, number, viewer, row)
    return str(row.status)  # type: ignore[union-attr]  # _must_see raised if it was None


def _must_see(session: Session | Connection, number: str, viewer: access.Viewer, claim: Any) -> None:
    """NotFound unless the claim (an ExpenseClaim or a row with its requester and process) exists and `viewer` may
    see it (access.may_see): the one rule of who may open a claim."""
    username, roles = viewer
    if claim is None or not access.may_see(session, username, set(roles), "expense_claim", claim.requester,
                                           claim.process_id):
        raise NotFound(f"no expense claim {number}")


def get(session: Session, number: str) -> ExpenseClaim:
    claim = by_number(session, number)
    assert claim is not None
    return claim


def set_status(session: Session, number: str, status: ClaimStatus, *, post_key: str | None = None) -> None:
    """Move the claim on; `approved` posts the accrual, `paid` the payment, each under its key."""
    claim = get(session, number)
    now = utcnow()
    draft = to_draft(claim)
    if status == ClaimStatus.APPROVED and post_key:
        # In the company currency at the claim date's rate (its submission checked that one exists).
        rate = ledger.rate(session, claim.currency, claim.created_at.date())
        ledger.post(session, expenses.accrual_entry(draft, rate), "expense_claim", number, post_key)
    if status == ClaimStatus.PAID and post_key:
        due = owed(session, claim)
        ledger.post(session, expenses.payment_entry(number, due, advances.settle(session, claim, due)),
                    "expense_payment", number, post_key)
        claim.paid_at = claim.paid_at or now
    if status in (ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.CANCELLED):
        claim.decided_at = claim.decided_at or now
    claim.status = status
    session.flush()
    if status in (ClaimStatus.APPROVED, ClaimStatus.REJECTED):  # its approval decided it: the requester is told
        notifications.emit(session, "request.decided", key=f"request.decided:{number}", users=[claim.requester],
                           document=number, title=f"Expense claim {number}: {status}",
                           detail=f"Your expense claim {number} of {claim.total:,.2f} {claim.currency} is {status}.",
                           link=f"/requests/expense-claims/{number}")


def owed(session: Session, claim: ExpenseClaim) -> Decimal:
    """What the claim's approval put in employee payable (company currency), so paying clears exactly that even
    if a rate entered since would convert the claim differently; a claim approved before it posted anything,
    its total at the claim date's rate."""
    posted = session.execute(
        select(func.sum(JournalLine.credit)).join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.voucher_type == "expense_claim", JournalEntry.voucher_no == claim.number,
               JournalLine.account_code == accounting.EMPLOYEE_PAYABLE)).scalar_one_or_none()
    if posted is not None:
        return Decimal(posted)
    return ledger.in_base(session, claim.total, claim.currency, claim.created_at.date())[0]


def to_draft(claim: ExpenseClaim) -> expenses.ClaimDraft:
    return expenses.ClaimDraft(
        number=claim.number, requester=claim.requester, currency=claim.currency, total=claim.total,
        lines=[expenses.ExpenseLineIn(category=ln.category, amount=ln.amount, currency=ln.currency, date=ln.date,
                                      description=ln.description) for ln in claim.lines],
    )


def view(session: Session, claim: ExpenseClaim) -> dict[str, Any]:
    return _view(session, claim, claim.lines)


def _view(session: Session | Connection, claim: Any, lines: Iterable[Any]) -> dict[str, Any]:
    """A claim as the API shows it: `claim` an ExpenseClaim or a row of its columns, `lines` its lines (the same)."""
    return {
        "id": claim.number, "claim_id": claim.number, "number": claim.number, "requester": claim.requester,
        "status": claim.status, "total": claim.total, "currency": claim.currency, "process_id": claim.process_id,
        "trip": claim.trip, "created_at": claim.created_at, "decided_at": claim.decided_at, "paid_at": claim.paid_at,
        "lines": [{"category": ln.category, "amount": ln.amount, "currency": ln.currency, "date": ln.date,
                   "description": ln.description} for ln in lines],
        "approvals": approvals.trail(session, claim.process_id),
    }


_CLAIM_ROW = select(ExpenseClaim.__table__).where(ExpenseClaim.__table__.c.number == bindparam("number"))
_LINE_ROWS = (select(ExpenseLine.__table__).where(ExpenseLine.__table__.c.claim_id == bindparam("claim_id"))
              .order_by(ExpenseLine.__table__.c.id))


def visible_view(c: Connection, number: str, viewer: access.Viewer) -> dict[str, Any]:
    """`view` of the claim `viewer` may open (NotFound as visible_claim), read in Core: rows, not ORM objects
    (a long poll's answer, a third of the cost)."""
    claim = c.execute(_CLAIM_ROW, {"number": number}).first()
    _must_see(c, number, viewer, claim)
    assert claim is not None  # _must_see raised if it was None
    return _view(c, claim, c.execute(_LINE_ROWS, {"claim_id": claim.id}))
