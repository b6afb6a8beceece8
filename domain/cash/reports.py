"""The finance reports, read from SQL in the company currency: AR and AP aging, the customer statement, profit
and loss, the balance sheet and the cash position; each also as CSV rows.

Aging is summed in the database (one GROUP BY over the open invoices, a CASE per bucket on the due date), so
it stays fast over a hundred thousand open invoices (bench/bench_aging.py). It shows what is open now, aged as
seen on `as_of` (invoices issued after it left out): the sub-ledger keeps no history of what was open when."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from domain.accounting import ledger, statements
from domain.accounting import rules as accounting
from domain.accounting.tables import Account
from domain.cash import rules
from domain.cash.rules import BUCKETS, ZERO, Direction, InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice, Payment, PaymentAllocation
from domain.core import csvfile
from domain.core.errors import Invalid, NotFound
from domain.org import company
from domain.parties.tables import Customer, Supplier

NOT_ISSUED = (InvoiceStatus.PENDING_APPROVAL, InvoiceStatus.REJECTED)  # never posted: no part of a balance


def _in_bucket(lo: date | None, hi: date | None) -> ColumnElement[bool]:
    parts = [*([Invoice.due_on >= lo] if lo else []), *([Invoice.due_on <= hi] if hi else [])]
    return and_(*parts)


# --- aging ------------------------------------------------------------------------------------------------

def aging(session: Session, kind: InvoiceKind | str, as_of: date, party_id: int | None = None) -> dict[str, Any]:
    """{as_of, buckets, rows: [{party_id, party_name, <bucket>: amount, total}], totals}: what each
    party's open invoices (less its open credit notes) still owe, by how long past due on `as_of`."""
    sums = [func.coalesce(func.sum(case((_in_bucket(lo, hi), Invoice.outstanding_base), else_=0)), 0).label(name)
            for name, lo, hi in rules.aging_bounds(as_of)]
    # Only columns of ix_invoices_aging: the sums never visit the table. Names are read after, per party.
    q = (select(Invoice.party_id, *sums, func.sum(Invoice.outstanding_base))
         .where(Invoice.kind == kind, Invoice.status == InvoiceStatus.OPEN, Invoice.issued_on <= as_of)
         .group_by(Invoice.party_id))
    if party_id is not None:
        q = q.where(Invoice.party_id == party_id)
    sums_by_party = session.execute(q).all()
    model = Customer if kind == InvoiceKind.CUSTOMER else Supplier
    names = dict(session.execute(select(model.id, model.name).where(
        model.id.in_([r[0] for r in sums_by_party]))).all()) if sums_by_party else {}
    rows: list[dict[str, Any]] = []
    for pid, *amounts, total in sums_by_party:
        rows.append({"party_id": pid, "party_name": names.get(pid, f"#{pid}"),
                     **{b: Decimal(a) for b, a in zip(BUCKETS, amounts, strict=True)}, "total": Decimal(total)})
    rows.sort(key=lambda r: (str(r["party_name"]).casefold(), r["party_id"]))
    return {"as_of": as_of, "buckets": list(BUCKETS), "rows": rows, "totals": rules.aging_totals(rows)}


def aging_csv(report: dict[str, Any]) -> str:
    columns = ("party_id", "party_name", *BUCKETS, "total")
    lines = [[r[c] for c in columns] for r in report["rows"]]
    lines.append(["", "Total", *[report["totals"][b] for b in (*BUCKETS, "total")]])
    return csvfile.write(columns, lines)


# --- the customer statement ----------------------------------------------------------------------------

def _customer_lines(session: Session, customer_id: int, to: date) -> list[rules.StatementLine]:
    """Everything that moved what the customer owes us, up to `to`, in the company currency."""
    out: list[rules.StatementLine] = []
    invoices = list(session.execute(select(Invoice).where(
        Invoice.kind == InvoiceKind.CUSTOMER, Invoice.party_id == customer_id, Invoice.issued_on <= to,
        Invoice.status.not_in(NOT_ISSUED))).scalars())
    for inv in invoices:
        out.append(rules.StatementLine(on=inv.issued_on, kind="credit_note" if inv.credit_note else "invoice",
                                       number=inv.number, reference=inv.against_number or inv.sales_order_number or "",
                                       due_on=None if inv.credit_note else inv.due_on, amount=inv.total_base))
    for pay in session.execute(select(Payment).where(Payment.direction == Direction.IN,
                                                     Payment.party_id == customer_id, Payment.paid_on <= to)).scalars():
        out.append(rules.StatementLine(on=pay.paid_on, kind="payment", number=pay.number, reference=pay.reference,
                                       amount=-pay.amount_base))
    # What settling an invoice cleared beyond what was received for it (the rate moved): it left the
    # receivable, so it leaves the balance too. A write-off: what was left when it was written off.
    by_id = {inv.id: inv for inv in invoices}
    cleared: dict[int, Decimal] = {}
    for alloc in session.execute(select(PaymentAllocation).where(
            PaymentAllocation.invoice_id.in_(by_id), PaymentAllocation.allocated_on <= to)).scalars():
        cleared[alloc.invoice_id] = cleared.get(alloc.invoice_id, ZERO) + alloc.cleared_base
        if alloc.exchange_difference:
            out.append(rules.StatementLine(on=alloc.allocated_on, kind="exchange_difference",
                                           number=by_id[alloc.invoice_id].number, amount=-alloc.exchange_difference))
    for inv in invoices:
        if inv.status == InvoiceStatus.WRITTEN_OFF and inv.closed_on is not None and inv.closed_on <= to:
            out.append(rules.StatementLine(on=inv.closed_on, kind="write_off", number=inv.number,
                                           reference=inv.reason[:100], amount=-(inv.total_base - cleared.get(inv.id, ZERO))))
    return out


def statement(session: Session, customer_id: int, from_: date, to: date) -> dict[str, Any]:
    """{customer_id, customer_name, currency, from, to, opening_balance, lines: [{on, kind, number, reference,
    due_on, amount, balance}], closing_balance, aging}: the balance before `from_`, each line from `from_` to
    `to` with the balance after it, and the open invoices aged on `to`."""
    if from_ > to:
        raise Invalid(f"the statement's start {from_.isoformat()} is after its end {to.isoformat()}")
    who = session.get(Customer, customer_id)
    if who is None:
        raise NotFound(f"no customer {customer_id}")
    every = _customer_lines(session, customer_id, to)
    opening = sum((ln.amount for ln in every if ln.on < from_), ZERO)
    lines, closing = rules.statement_lines(opening, [ln for ln in every if ln.on >= from_])
    aged = aging(session, InvoiceKind.CUSTOMER, to, party_id=customer_id)
    return {"customer_id": customer_id, "customer_name": who.name, "currency": company.base_currency(session),
            "from": from_, "to": to, "opening_balance": opening,
            "lines": [ln.model_dump() for ln in lines], "closing_balance": closing,
            "aging": aged["totals"]}


STATEMENT_COLUMNS = ("on", "kind", "number", "reference", "due_on", "amount", "balance")


def statement_csv(report: dict[str, Any]) -> str:
    rows: list[list[Any]] = [[report["from"], "opening_balance", "", "", "", "", report["opening_balance"]]]
    rows += [[ln[c] for c in STATEMENT_COLUMNS] for ln in report["lines"]]
    rows.append([report["to"], "closing_balance", "", "", "", "", report["closing_balance"]])
    return csvfile.write(STATEMENT_COLUMNS, rows)


# --- profit and loss, balance sheet ------------------------------------------------------------------------

def _chart(session: Session) -> list[tuple[str, str, str]]:
    return [(c, n, t) for c, n, t in session.execute(select(Account.code, Account.name, Account.type)).all()]


def profit_and_loss(session: Session, from_: date | None, to: date) -> dict[str, Any]:
    if from_ is not None and from_ > to:
        raise Invalid(f"the start {from_.isoformat()} is after the end {to.isoformat()}")
    pnl = statements.profit_and_loss(_chart(session), ledger.balances(session, to=to, since=from_), from_, to)
    out = pnl.model_dump()
    return {"from": out.pop("from_"), **out, "currency": company.base_currency(session)}


def balance_sheet(session: Session, as_of: date) -> dict[str, Any]:
    year_start = statements.fiscal_year_start(as_of, company.settings(session).fiscal_year_start)
    sheet = statements.balance_sheet(_chart(session), ledger.balances(session, to=as_of),
                                     ledger.balances(session, to=year_start - timedelta(days=1)), as_of)
    return {**sheet.model_dump(), "fiscal_year_start": year_start, "balanced": True,
            "currency": company.base_currency(session)}


def statement_rows_csv(report: dict[str, Any], sections: tuple[str, ...]) -> str:
    """P&L or balance sheet as `section,code,name,amount` rows, each section followed by its total."""
    rows: list[list[Any]] = []
    for section in sections:
        rows += [[section, ln["code"], ln["name"], ln["amount"]] for ln in report[section]]
        rows.append([section, "", f"Total {section.replace('_', ' ')}", report[f"total_{section}"]])
    for key in ("net_profit", "total_liabilities_and_equity"):
        if key in report:
            rows.append(["", "", key.replace("_", " ").capitalize(), report[key]])
    return csvfile.write(("section", "code", "name", "amount"), rows)


# --- cash position --------------------------------------------------------------------------------------

def _due(session: Session, kind: InvoiceKind, as_of: date) -> dict[str, Decimal]:
    """Open invoices' outstanding (company currency): overdue on `as_of`, due within 7 and within 30 days."""
    week, month = as_of + timedelta(days=7), as_of + timedelta(days=30)

    def total(cond: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((cond, Invoice.outstanding_base), else_=0)), 0)

    overdue, next_7, next_30 = session.execute(
        select(total(Invoice.due_on < as_of), total(and_(Invoice.due_on >= as_of, Invoice.due_on <= week)),
               total(and_(Invoice.due_on >= as_of, Invoice.due_on <= month)))
        .where(Invoice.kind == kind, Invoice.status == InvoiceStatus.OPEN, Invoice.issued_on <= as_of)).one()
    return {"overdue": Decimal(overdue), "next_7_days": Decimal(next_7), "next_30_days": Decimal(next_30)}


def cash_position(session: Session, as_of: date) -> dict[str, Any]:
    """{as_of, currency, bank, receivables, payables (each {overdue, next_7_days, next_30_days}), net_30_days}:
    the bank balance on `as_of`, and what comes in and goes out over the next 30 days if everything overdue
    and due is settled."""
    bank = ledger.balances(session, to=as_of).get(accounting.BANK, ZERO)
    recv, pay = _due(session, InvoiceKind.CUSTOMER, as_of), _due(session, InvoiceKind.SUPPLIER, as_of)
    net = bank + recv["overdue"] + recv["next_30_days"] - pay["overdue"] - pay["next_30_days"]
    return {"as_of": as_of, "currency": company.base_currency(session), "bank": bank, "receivables": recv,
            "payables": pay, "net_30_days": net}


def cash_position_csv(report: dict[str, Any]) -> str:
    rows: list[list[Any]] = [["bank", "", report["bank"]]]
    for side in ("receivables", "payables"):
        rows += [[side, k, v] for k, v in report[side].items()]
    rows.append(["net_30_days", "", report["net_30_days"]])
    return csvfile.write(("item", "when", "amount"), rows)


# --- documents ----------------------------------------------------------------------------------------

def invoice_document(session: Session, number: str, *, username: str, see_all: bool) -> dict[str, Any]:
    """An invoice as its printed copy shows it: the company, the party, its lines and totals in its currency
    (and in the company currency when they differ), what has been set against it. Finance sees every invoice,
    anyone else those they own (the order's salesperson, the bill's buyer); another's is not found."""
    inv = session.execute(select(Invoice).where(Invoice.number == number)).scalar_one_or_none()
    if inv is None or not (see_all or inv.owner == username):
        raise NotFound(f"no invoice {number}")
    settled = session.execute(
        select(PaymentAllocation.allocated_on, PaymentAllocation.amount, Payment.number, Payment.reference,
               Invoice.number)
        .outerjoin(Payment, Payment.id == PaymentAllocation.payment_id)
        .outerjoin(Invoice, Invoice.id == PaymentAllocation.credit_note_id)
        .where(PaymentAllocation.invoice_id == inv.id).order_by(PaymentAllocation.id)).all()
    me = company.settings(session)
    return {
        "company": {"name": me.name or "Valueloop", "currency": me.base_currency},
        "number": inv.number, "kind": inv.kind, "credit_note": inv.credit_note, "party_id": inv.party_id,
        "party_name": inv.party_name, "status": inv.status, "issued_on": inv.issued_on, "due_on": inv.due_on,
        "currency": inv.currency, "rate": inv.rate, "subtotal": inv.subtotal, "tax": inv.tax, "total": inv.total,
        "total_base": inv.total_base, "outstanding": inv.outstanding, "outstanding_base": inv.outstanding_base,
        "sales_order_number": inv.sales_order_number, "delivery_note_number": inv.delivery_note_number,
        "purchase_order_number": inv.purchase_order_number, "supplier_ref": inv.supplier_ref,
        "against_number": inv.against_number,
        "lines": [{"sku": ln.sku, "description": ln.description, "qty": ln.qty, "unit_price": ln.unit_price,
                   "net": ln.net} for ln in inv.lines],
        "settled": [{"on": on, "amount": amount, "by": pay_no or note_no or "", "reference": ref or ""}
                    for on, amount, pay_no, ref, note_no in settled],
    }
