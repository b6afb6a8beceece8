"""Posting balanced journal entries and reading the trial balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.accounting.rules import CHART, JournalDraft, PeriodStatus, check_period_open, period_of, to_base
from domain.accounting.tables import Account, ExchangeRate, JournalEntry, JournalLine, Period
from domain.core.errors import Invalid
from domain.core.types import utcnow
from domain.org.company import base_currency


def ensure_chart(session: Session) -> None:
    have = set(session.execute(select(Account.code)).scalars())
    for code, name, type_ in CHART:
        if code not in have:
            session.add(Account(code=code, name=name, type=type_))
    session.flush()


def post(session: Session, draft: JournalDraft, voucher_type: str, voucher_no: str, key: str,
         on: date | None = None) -> JournalEntry:
    """Append a balanced entry dated `on` (today by default) under idempotency key `key` (returns the existing
    one on a retry). A date in a closed period is refused (Conflict), whatever posts it: the one place the
    period lock is enforced."""
    existing = session.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key)).scalar_one_or_none()
    if existing is not None:
        return existing
    on = on or utcnow().date()
    check_open(session, on, f"{voucher_type.replace('_', ' ')} {voucher_no}")
    je = JournalEntry(memo=draft.memo, voucher_type=voucher_type, voucher_no=voucher_no, idempotency_key=key,
                      posted_on=on)
    je.lines = [JournalLine(account_code=p.account, debit=p.debit, credit=p.credit) for p in draft.postings]
    session.add(je)
    session.flush()
    return je


def period_status(session: Session, period: str) -> str:
    row = session.get(Period, period)
    return row.status if row is not None else PeriodStatus.OPEN


def check_open(session: Session, on: date, posting: str) -> None:
    """Refuse (Conflict) a posting dated in a closed period. Reads the period's row under a shared lock where the
    database has row locks (FOR SHARE): a close, which locks the row for update, and this posting are taken one
    after the other, while postings of the same month do not wait for each other."""
    period = period_of(on)
    row = session.execute(select(Period.status).where(Period.period == period)
                          .with_for_update(read=True)).scalar_one_or_none()
    check_period_open(period, row, posting)


def rate(session: Session, currency: str, on: date) -> Decimal:
    """Company-currency units per unit of `currency` on `on`: the latest rate dated on or before it; 1 for the
    company currency. None entered yet → Invalid naming the currency and the date."""
    if currency == base_currency(session):
        return Decimal(1)
    found = session.execute(select(ExchangeRate.rate).where(ExchangeRate.currency == currency,
                                                            ExchangeRate.valid_from <= on)
                            .order_by(ExchangeRate.valid_from.desc()).limit(1)).scalar_one_or_none()
    if found is None:
        raise Invalid(f"no exchange rate for {currency} on or before {on.isoformat()}; finance enters rates under "
                      "Finance → Exchange rates")
    return Decimal(found)


def in_base(session: Session, amount: Decimal, currency: str, on: date) -> tuple[Decimal, Decimal]:
    """(amount in the company currency to the cent, the rate used)."""
    r = rate(session, currency, on)
    return to_base(amount, r), r


def balances(session: Session, *, to: date | None = None, since: date | None = None) -> dict[str, Decimal]:
    """Each account's debit minus credit over entries dated in [since, to] (either end open)."""
    q = (select(JournalLine.account_code, func.coalesce(func.sum(JournalLine.debit), 0) -
                func.coalesce(func.sum(JournalLine.credit), 0))
         .join(JournalEntry, JournalEntry.id == JournalLine.entry_id).group_by(JournalLine.account_code))
    if to is not None:
        q = q.where(JournalEntry.posted_on <= to)
    if since is not None:
        q = q.where(JournalEntry.posted_on >= since)
    return {code: Decimal(net) for code, net in session.execute(q).all()}


def trial_balance(session: Session, as_of: date | None = None) -> dict[str, object]:
    q = (select(Account.code, Account.name, func.coalesce(func.sum(JournalLine.debit), 0),
                func.coalesce(func.sum(JournalLine.credit), 0))
         .join(JournalLine, JournalLine.account_code == Account.code, isouter=True))
    if as_of is not None:
        q = q.join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(JournalEntry.posted_on <= as_of)
    rows = session.execute(q.group_by(Account.code, Account.name).order_by(Account.code)).all()
    accounts = []
    debit_total = credit_total = Decimal(0)
    for code, name, debit, credit in rows:
        debit, credit = Decimal(debit), Decimal(credit)
        # Net each account to one side, as a trial balance shows it.
        net = debit - credit
        d, c = (net, Decimal(0)) if net >= 0 else (Decimal(0), -net)
        if debit == 0 and credit == 0:
            continue
        accounts.append({"code": code, "name": name, "debit": d, "credit": c})
        debit_total += d
        credit_total += c
    return {"accounts": accounts, "debit_total": debit_total, "credit_total": credit_total}
