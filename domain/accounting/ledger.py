"""Posting balanced journal entries and reading the trial balance."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.accounting.rules import CHART, JournalDraft
from domain.accounting.tables import Account, JournalEntry, JournalLine


def ensure_chart(session: Session) -> None:
    have = set(session.execute(select(Account.code)).scalars())
    for code, name, type_ in CHART:
        if code not in have:
            session.add(Account(code=code, name=name, type=type_))
    session.flush()


def post(session: Session, draft: JournalDraft, voucher_type: str, voucher_no: str, key: str) -> JournalEntry:
    """Append a balanced entry under idempotency key `key` (returns the existing one on a retry)."""
    existing = session.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key)).scalar_one_or_none()
    if existing is not None:
        return existing
    je = JournalEntry(memo=draft.memo, voucher_type=voucher_type, voucher_no=voucher_no, idempotency_key=key)
    je.lines = [JournalLine(account_code=p.account, debit=p.debit, credit=p.credit) for p in draft.postings]
    session.add(je)
    session.flush()
    return je


def trial_balance(session: Session) -> dict[str, object]:
    rows = session.execute(
        select(Account.code, Account.name, func.coalesce(func.sum(JournalLine.debit), 0),
               func.coalesce(func.sum(JournalLine.credit), 0))
        .join(JournalLine, JournalLine.account_code == Account.code, isouter=True)
        .group_by(Account.code, Account.name)
        .order_by(Account.code)
    ).all()
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
