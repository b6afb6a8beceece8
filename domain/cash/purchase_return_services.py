"""Supplier credit notes in SQL: checking one against its bill, recording it (numbering, goods out of stock,
the credit note, its posting and setting it against the supplier's open bills) in one transaction once per key,
and what a bill's page shows of its credit notes.

Postings (through domain.cash.services.issue → domain.accounting.ledger.post, dated the credit note's day, in the
company currency at that day's rate): Dr payables the credit note's total / Cr inventory the value the goods left
stock at (goods sent back) and the difference to purchase price variance; a price correction: Dr payables / Cr
purchase price variance. Goods received not invoiced is untouched: the order received what it received and was
billed what it was billed; the goods leave inventory, not GRNI (the credit note carries no purchase order, so
domain.cash.services.received_not_billed_by_order leaves it out)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.cash import bills
from domain.cash import purchase_returns as rules
from domain.cash import services as cash
from domain.cash.rules import ZERO, InvoiceKind
from domain.cash.tables import Invoice, InvoiceLine
from domain.core import records as common
from domain.core.errors import Conflict, NotFound
from domain.core.money import money, qty_str
from domain.inventory import stock
from domain.inventory.tables import StockLedgerEntry
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus


def find_bill(session: Session, ref: str, *, lock: bool = False) -> Invoice:
    """A supplier bill by its number (BILL-00007) or its id."""
    text = str(ref).strip()
    where = (Invoice.id == int(text)) if text.isascii() and text.isdigit() and len(text) < 10 else (Invoice.number == text)
    q = select(Invoice).where(where, Invoice.kind == InvoiceKind.SUPPLIER)
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    row = session.execute(q).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no supplier bill {text}")
    return row


def existing(session: Session, supplier_id: int, supplier_ref: str) -> Invoice | None:
    """The credit note this supplier already sent under this reference, if any."""
    return session.execute(select(Invoice).where(
        Invoice.kind == InvoiceKind.SUPPLIER, Invoice.party_id == supplier_id, Invoice.credit_note.is_(True),
        Invoice.supplier_ref == supplier_ref).order_by(Invoice.id).limit(1)).scalar_one_or_none()


def billed_lines(session: Session, bill: Invoice) -> dict[str, rules.BilledLine]:
    """Each SKU of the bill: billed, at its price, and credited already by credit notes against it."""
    out: dict[str, rules.BilledLine] = {}
    for ln in bill.lines:
        b = out.get(ln.sku)
        out[ln.sku] = (rules.BilledLine(sku=ln.sku, qty=ln.qty, unit_price=ln.unit_price) if b is None else
                       b.model_copy(update={"qty": b.qty + ln.qty, "unit_price": max(b.unit_price, ln.unit_price)}))
    for sku, qty in session.execute(
            select(InvoiceLine.sku, func.coalesce(func.sum(InvoiceLine.qty), 0))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(Invoice.kind == InvoiceKind.SUPPLIER, Invoice.credit_note.is_(True),
                   Invoice.against_number == bill.number)
            .group_by(InvoiceLine.sku)).all():
        if sku in out:
            out[sku] = out[sku].model_copy(update={"credited": Decimal(qty)})
    return out


class Planned(BaseModel):
    """A credit note checked against its bill (or the credit note entered before under its reference)."""

    bill: str
    supplier_id: int
    supplier: str
    owner: str
    currency: str
    takes: list[rules.Take] = []
    existing: str | None = None  # the number of the credit note already entered under this reference

    @property
    def total(self) -> Decimal:
        return sum((t.net for t in self.takes), ZERO)


def plan(session: Session, ref: str, body: rules.CreditNoteIn, *, lock: bool = False,
         excluding: str | None = None) -> Planned:
    """Check a credit note without storing anything (the API asks this before the process starts; recording asks
    again under the bill's lock): the bill (404), a reference entered before (that credit note), the bill posted
    (409), the lines (on the bill, not more than is left to credit: 409; not above its price: 422), the rate of the
    bill's currency on the day (422), the period open (409), and goods to send back on hand (409)."""
    rules.check_lines(body.lines, body.reason)
    bill = find_bill(session, ref, lock=lock)
    base = Planned(bill=bill.number, supplier_id=bill.party_id, supplier=bill.party_name, owner=bill.owner,
                   currency=bill.currency)
    first = existing(session, bill.party_id, body.supplier_ref)
    if first is not None and first.number != excluding:
        return base.model_copy(update={"existing": first.number})
    rules.check_bill(bill.number, bill.status, bill.credit_note)
    takes = rules.plan_credit(bill.number, billed_lines(session, bill), body.lines)
    ledger.rate(session, bill.currency, body.issued_on)
    period = accounting.period_of(body.issued_on)
    accounting.check_period_open(period, ledger.period_status(session, period),
                                 f"the credit note {body.supplier_ref[:60]}")
    if body.return_goods:
        for t in takes:
            on_hand = stock.levels(session, t.sku)["on_hand"]
            if t.qty > on_hand:
                raise Conflict(f"{qty_str(t.qty)} of {t.sku} cannot go back to {bill.party_name}: only "
                               f"{qty_str(on_hand)} is on hand; nothing was stored")
    return base.model_copy(update={"takes": takes})


def reserve_number(session: Session, supplier_id: int, supplier_ref: str) -> str:
    """The credit note's number, once per supplier and reference: the same credit note entered twice at once gets
    one number, so one process (its id is formed from the number)."""
    number: str = common.once(session, f"supplier-credit-number:{supplier_id}:{supplier_ref}",
                              lambda: common.next_number(session, cash.PREFIX[(InvoiceKind.SUPPLIER, True)]))
    return number


def record(session: Session, draft: rules.CreditDraft, process_id: str) -> rules.CreditResult:
    """The credit note, once per process: checked again under the bill's lock (another credit note may have taken
    the same quantity since: Conflict, nothing stored); the goods sent back out of stock at the moving average; the
    credit note posted and set against the supplier's open bills (the bill first); its process row."""
    key = f"{process_id}:credit-note"

    def effect() -> dict[str, Any]:
        body = rules.CreditNoteIn(supplier_ref=draft.supplier_ref, issued_on=draft.issued_on, reason=draft.reason,
                                  lines=draft.lines, return_goods=draft.return_goods)
        p = plan(session, draft.bill, body, lock=True, excluding=draft.number)
        if p.existing is not None:
            raise Conflict(f"{p.supplier}'s credit note {draft.supplier_ref} is entered already, as {p.existing}")
        bill = find_bill(session, draft.bill)
        stock_value = ZERO
        if draft.return_goods:
            for t in sorted(p.takes, key=lambda t: t.sku):  # one lock order for every credit note
                entry = stock.move(session, t.sku, -t.qty, unit_cost=None, voucher_type=rules.VOUCHER,
                                   voucher_no=draft.number, key=f"{key}:{t.sku}", actor=draft.by,
                                   reason=f"back to {bill.party_name} on {draft.number} against {bill.number}: "
                                          f"{draft.reason[:200]}")
                stock_value -= entry.value_change
        rate = ledger.rate(session, bill.currency, draft.issued_on)
        total_base = accounting.to_base(p.total, rate)
        what = rules.RETURNED if draft.return_goods else rules.CORRECTED
        cn = cash.issue(session, kind=InvoiceKind.SUPPLIER, party_id=bill.party_id, credit_note=True,
                        lines=[cash.LineIn(sku=t.sku, qty=t.qty, unit_price=t.unit_price, net=t.net,
                                           description=f"{what} ({bill.number})") for t in p.takes],
                        tax=ZERO, issued_on=draft.issued_on, currency=bill.currency, key=f"{key}:invoice",
                        process_id=process_id, owner=bill.owner, created_by=draft.by, number=draft.number,
                        other_side=rules.posting(total_base, stock_value, draft.return_goods),
                        other_side_in_base=True, supplier_ref=draft.supplier_ref, against_number=bill.number,
                        reason=draft.reason[:500])
        touched = bills.touched_by_posting(session, cn)
        processes.start(session, process_id, rules.PROCESS_TYPE, cn.number,
                        title=f"Supplier credit note {cn.number} ({cn.party_name} {draft.supplier_ref}) against "
                              f"{bill.number}", owner=bill.owner, amount=cn.total, first_step="recorded",
                        parent_id=bill.process_id or None)
        processes.advance(session, process_id, "recorded", detail=draft.reason[:300], close=True,
                          status=ProcessStatus.COMPLETED)
        session.flush()
        return result_of(cn, stock_value, touched).model_dump(mode="json")

    return rules.CreditResult.model_validate(common.once(session, key, effect))


def result_of(cn: Invoice, stock_value: Decimal, touched: list[str] | None = None, *,
              existing: bool = False) -> rules.CreditResult:
    return rules.CreditResult(invoice_id=cn.number, process_id=cn.process_id, against=cn.against_number or "",
                              supplier_id=cn.party_id, total=cn.total, total_base=cn.total_base, currency=cn.currency,
                              return_goods=returned_goods(cn),
                              stock_value=money(stock_value), outstanding=cn.outstanding, invoices=touched or [],
                              existing=existing)


def returned_goods(cn: Invoice) -> bool:
    """Whether the credit note sent goods back (its lines say so), or corrected a price."""
    return any(ln.description.startswith(rules.RETURNED) for ln in cn.lines)


def entered(session: Session, number: str) -> rules.CreditResult:
    """The answer for a credit note entered before (its reference again)."""
    cn = cash.by_number(session, number)
    return result_of(cn, _stock_out(session, [number]).get(number, ZERO), existing=True)


def _stock_out(session: Session, numbers: list[str]) -> dict[str, Decimal]:
    """The stock value each credit note sent back to the supplier (company currency)."""
    if not numbers:
        return {}
    rows = session.execute(select(StockLedgerEntry.voucher_no, func.sum(StockLedgerEntry.value_change))
                           .where(StockLedgerEntry.voucher_type == rules.VOUCHER,
                                  StockLedgerEntry.voucher_no.in_(numbers))
                           .group_by(StockLedgerEntry.voucher_no)).all()
    return {n: -Decimal(v) for n, v in rows}


def credit_notes_of(session: Session, bill_number: str) -> list[dict[str, Any]]:
    """The credit notes against a bill, oldest first: what each credited, whether goods went back, what is left of
    it as the supplier's credit."""
    notes = list(session.execute(select(Invoice).where(
        Invoice.kind == InvoiceKind.SUPPLIER, Invoice.credit_note.is_(True), Invoice.against_number == bill_number)
        .order_by(Invoice.id)).scalars())
    out_value = _stock_out(session, [n.number for n in notes])
    return [{"invoice_id": n.number, "id": n.id, "number": n.number, "supplier_ref": n.supplier_ref,
             "issued_on": n.issued_on, "status": n.status, "total": n.total, "total_base": n.total_base,
             "outstanding": n.outstanding, "currency": n.currency, "reason": n.reason, "entered_by": n.created_by,
             "process_id": n.process_id,
             "return_goods": returned_goods(n),
             "stock_value": money(out_value.get(n.number, ZERO)),
             "lines": [{"sku": ln.sku, "qty": ln.qty, "unit_price": ln.unit_price, "net": ln.net} for ln in n.lines]}
            for n in notes]


def credit_form(session: Session, bill: Invoice) -> list[dict[str, Any]]:
    """Each SKU of the bill with what is left to credit (what a new credit note's form starts from)."""
    return [{"sku": b.sku, "billed_qty": b.qty, "credited_qty": b.credited, "left_qty": b.qty - b.credited,
             "unit_price": b.unit_price} for b in billed_lines(session, bill).values()]
