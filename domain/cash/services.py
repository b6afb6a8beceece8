"""Invoices and payments in SQL: issuing an invoice (and posting it), recording a payment and its allocation in
one transaction, using a party's unallocated credit, what is open, the cash policies, and the sub-ledger checks.

Every posting goes through domain.accounting.ledger.post (so a closed period refuses it) and every effect runs
once per idempotency key (a retried activity finds the first result)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session, lazyload

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.cash import rules
from domain.cash.rules import (
    ZERO,
    Direction,
    InvoiceKind,
    InvoiceStatus,
    PaymentIn,
    PaymentPlan,
    PaymentResult,
)
from domain.cash.tables import CashPolicyRow, Invoice, InvoiceLine, Payment, PaymentAllocation
from domain.core import records as common
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.money import money
from domain.core.types import utcnow
from domain.inventory import quarantine
from domain.inventory.tables import StockBalance, StockLedgerEntry
from domain.parties.tables import Customer, Supplier
from domain.purchasing.rules import RECEIPT_VOUCHER
from domain.purchasing.tables import GoodsReceipt, PurchaseOrder, PurchaseOrderLine

CONTROL = {InvoiceKind.CUSTOMER: accounting.RECEIVABLES, InvoiceKind.SUPPLIER: accounting.PAYABLES}
ADVANCES = {InvoiceKind.CUSTOMER: accounting.CUSTOMER_ADVANCES, InvoiceKind.SUPPLIER: accounting.SUPPLIER_ADVANCES}
PREFIX = {(InvoiceKind.CUSTOMER, False): "INV", (InvoiceKind.CUSTOMER, True): "CN",
          (InvoiceKind.SUPPLIER, False): "BILL", (InvoiceKind.SUPPLIER, True): "DN"}


# --- policies ---------------------------------------------------------------------------------------------

def policy(session: Session) -> rules.CashPolicy:
    row = session.get(CashPolicyRow, 1)
    return rules.CashPolicy.model_validate(row.policy) if row is not None else rules.CashPolicy()


def save_policy(session: Session, new: rules.CashPolicy, by: str) -> rules.CashPolicy:
    row = session.get(CashPolicyRow, 1)
    if row is None:
        row = CashPolicyRow(id=1, policy={})
        session.add(row)
    row.policy, row.updated_by = new.model_dump(mode="json"), by
    session.flush()
    return new


# --- parties ---------------------------------------------------------------------------------------------

def party(session: Session, kind: InvoiceKind | str, party_id: int) -> Customer | Supplier:
    row: Customer | Supplier | None = (session.get(Customer, party_id) if kind == InvoiceKind.CUSTOMER
                                       else session.get(Supplier, party_id))
    if row is None:
        raise NotFound(f"no {'customer' if kind == InvoiceKind.CUSTOMER else 'supplier'} {party_id}")
    return row


def terms_days(row: Customer | Supplier) -> int:
    return int(getattr(row, "payment_terms_days", 30) or 0)


# --- invoices ------------------------------------------------------------------------------------------

class LineIn(BaseModel):
    sku: str
    qty: Decimal
    unit_price: Decimal
    net: Decimal
    description: str = ""


class Posting(BaseModel):
    """The other side of an invoice's posting, in the company currency: {account: amount}. For a customer
    invoice the credits (revenue, tax), for a supplier bill the debits (goods received not invoiced, price
    variance). A credit note gives them as for the invoice it reverses; the sides swap."""

    accounts: dict[str, Decimal]


def issue(session: Session, *, kind: InvoiceKind, party_id: int, lines: list[LineIn], tax: Decimal,
          issued_on: date, currency: str, key: str, process_id: str, owner: str = "", created_by: str = "",
          credit_note: bool = False, status: InvoiceStatus = InvoiceStatus.OPEN,
          other_side: dict[str, Decimal] | None = None, terms: int | None = None, number: str | None = None,
          other_side_in_base: bool = False, **refs: Any) -> Invoice:
    """Record an invoice (or credit note: pass positive lines, they are stored negative), once per `key`.
    `status` open posts it now (see `post_invoice`); pending_approval records it unposted. `other_side`: the
    accounts of the non-control side in the document's currency (default: revenue and tax for a customer,
    goods received not invoiced for a supplier); they are converted at the invoice date's rate; one below zero
    (a supplier billing under the order's price: price variance) goes to the other side; `other_side_in_base`:
    they are in the company currency already (a supplier credit note's inventory at the value stock gave it).
    `number`: the one its process was started under (numbered before the start), else the next of its series."""
    existing = session.execute(select(Invoice).where(Invoice.idempotency_key == key)).scalar_one_or_none()
    if existing is not None:
        return existing
    who = party(session, kind, party_id)
    sign = Decimal(-1) if credit_note else Decimal(1)
    subtotal = sum((ln.net for ln in lines), ZERO)
    total = subtotal + tax
    if total <= 0:
        raise Invalid("an invoice's total must be above zero")
    rate = ledger.rate(session, currency, issued_on)
    total_base = accounting.to_base(total, rate)
    row = Invoice(number=number or common.next_number(session, PREFIX[(kind, credit_note)]), kind=kind,
                  credit_note=credit_note,
                  party_id=party_id, party_name=who.name, status=status, issued_on=issued_on,
                  due_on=rules.due_on(issued_on, terms if terms is not None else terms_days(who)),
                  currency=currency, rate=rate, subtotal=sign * subtotal, tax=sign * tax, total=sign * total,
                  total_base=sign * total_base, outstanding=sign * total, outstanding_base=sign * total_base,
                  owner=owner, process_id=process_id, idempotency_key=key, created_by=created_by, **refs)
    row.lines = [InvoiceLine(sku=ln.sku, description=ln.description, qty=ln.qty, unit_price=ln.unit_price,
                             net=sign * ln.net) for ln in lines]
    session.add(row)
    session.flush()
    if status == InvoiceStatus.OPEN:
        post_invoice(session, row, other_side, in_base=other_side_in_base)
    return row


def post_invoice(session: Session, row: Invoice, other_side: dict[str, Decimal] | None = None, *,
                 in_base: bool = False) -> None:
    """Post an invoice in the company currency (once: its key is the invoice's number), then set any unused
    credit of the party against it (an invoice) or against the party's open invoices (a credit note: the invoice
    it is against first, then the oldest). `in_base`: `other_side` is in the company currency already."""
    kind = InvoiceKind(row.kind)
    total, tax = abs(row.total), abs(row.tax)
    if other_side is None:
        other_side = ({accounting.REVENUE: total - tax, accounting.SALES_TAX: tax} if kind == InvoiceKind.CUSTOMER
                      else {accounting.GRNI: total})
    base = {a: (v if in_base else accounting.to_base(v, row.rate)) for a, v in other_side.items() if v}
    control = abs(row.total_base)
    rounding = control - sum(base.values(), ZERO)  # cents lost converting each account: to the largest
    if rounding and base:
        biggest = max(base, key=lambda a: base[a])
        base[biggest] += rounding
    ctl = {CONTROL[kind]: control}
    debits, credits = (ctl, base) if kind == InvoiceKind.CUSTOMER else (base, ctl)
    if row.credit_note:
        debits, credits = credits, debits
    debits, credits = _sides(debits, credits)
    what = "Credit note" if row.credit_note else ("Invoice" if kind == InvoiceKind.CUSTOMER else "Supplier bill")
    ledger.post(session, accounting.entry(f"{what} {row.number}, {row.party_name}", debits, credits),
                "credit_note" if row.credit_note else f"{kind}_invoice", row.number, f"invoice:{row.number}",
                on=row.issued_on)
    row.status = InvoiceStatus.OPEN
    session.flush()
    apply_credit(session, kind, row.party_id, row.issued_on, key=f"credit:{row.number}",
                 first=row.against_number if row.credit_note else None)


def _sides(debits: dict[str, Decimal], credits: dict[str, Decimal]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """A negative amount on one side is that amount on the other (a price variance in the company's favour is a
    credit); an account on both sides nets to one."""
    net: dict[str, Decimal] = {}
    for a, v in debits.items():
        net[a] = net.get(a, ZERO) + v
    for a, v in credits.items():
        net[a] = net.get(a, ZERO) - v
    return {a: v for a, v in net.items() if v > 0}, {a: -v for a, v in net.items() if v < 0}


def by_number(session: Session, number: str) -> Invoice:
    return common.one(session, Invoice, Invoice.number == number, f"no invoice {number}")


def by_id(session: Session, invoice_id: int) -> Invoice:
    row = session.get(Invoice, invoice_id)
    if row is None:
        raise NotFound(f"no invoice {invoice_id}")
    return row


def open_invoices(session: Session, kind: InvoiceKind | str, party_id: int, currency: str | None = None,
                  *, lock: bool = False) -> list[Invoice]:
    q = select(Invoice).where(Invoice.kind == kind, Invoice.party_id == party_id,
                              Invoice.status == InvoiceStatus.OPEN)
    if currency is not None:
        q = q.where(Invoice.currency == currency)
    if lock:
        q = q.with_for_update()
    return list(session.execute(q.order_by(Invoice.due_on, Invoice.issued_on, Invoice.number)).scalars())


def _settle(session: Session, inv: Invoice, amount: Decimal, on: date, *, payment: Payment | None = None,
            credit_note: Invoice | None = None, rate: Decimal | None = None) -> PaymentAllocation:
    """Set `amount` (invoice currency, > 0) against `inv`: its outstanding falls, the allocation row records the
    company-currency value cleared at the invoice's rate and the exchange difference against `rate` (the
    payment's); closes the invoice when nothing is left. Posts nothing: the caller posts the whole payment."""
    if amount <= 0 or amount > inv.outstanding:
        raise Conflict(f"{amount} is more than invoice {inv.number} still owes ({inv.outstanding})")
    cleared = rules.cleared_base(inv.outstanding, inv.outstanding_base, amount)
    paid_base = accounting.to_base(amount, rate) if rate is not None else cleared
    # Customer: we receive paid_base for cleared of receivable; receiving less is a loss. Supplier: we pay
    # paid_base for cleared of payable; paying more is a loss.
    loss = cleared - paid_base if inv.kind == InvoiceKind.CUSTOMER else paid_base - cleared
    inv.outstanding -= amount
    inv.outstanding_base -= cleared
    if inv.outstanding == 0:
        inv.status, inv.closed_on = InvoiceStatus.PAID, on
    alloc = PaymentAllocation(payment_id=payment.id if payment else None,
                              credit_note_id=credit_note.id if credit_note else None, invoice_id=inv.id,
                              amount=amount, cleared_base=cleared, exchange_difference=loss, allocated_on=on)
    session.add(alloc)
    return alloc


def find_payment(session: Session, direction: str, party_id: int, reference: str) -> Payment | None:
    return session.execute(select(Payment).where(Payment.direction == direction, Payment.party_id == party_id,
                                                 Payment.reference == reference)).scalar_one_or_none()


def result_of(session: Session, pay: Payment, existing: bool = False) -> PaymentResult:
    invs = {r.id: r for r in session.execute(select(Invoice.id, Invoice.number, Invoice.process_id).where(
        Invoice.id.in_([a.invoice_id for a in pay.allocations])))}
    allocs = [rules.Allocation(invoice_id=a.invoice_id, number=invs[a.invoice_id].number, amount=a.amount)
              for a in pay.allocations]
    return PaymentResult(payment_id=pay.number, allocations=allocs, unallocated=pay.unallocated,
                         invoices=sorted({invs[a.invoice_id].process_id for a in pay.allocations}), existing=existing)


_OPEN_COLUMNS = (Invoice.id, Invoice.number, Invoice.issued_on, Invoice.due_on, Invoice.outstanding, Invoice.currency)


def _open_invoice(row: Any) -> rules.OpenInvoice:
    return rules.OpenInvoice(invoice_id=row.id, number=row.number, issued_on=row.issued_on, due_on=row.due_on,
                             outstanding=row.outstanding)


def _oldest_open(session: Session, kind: InvoiceKind, party_id: int, currency: str, amount: Decimal) -> list[Any]:
    """The party's open invoices in `currency` (not credit notes) that `amount` reaches, oldest first: read in
    pages along the index ix_invoices_party_open (columns, not rows with their lines), so a payment reaching three
    of 10,000 open invoices reads a page of them, not all 10,000."""
    order = (Invoice.due_on, Invoice.issued_on, Invoice.number)
    base = (select(*_OPEN_COLUMNS)
            .where(Invoice.kind == kind, Invoice.party_id == party_id, Invoice.status == InvoiceStatus.OPEN,
                   Invoice.credit_note.is_(False), Invoice.outstanding > 0, Invoice.currency == currency)
            .order_by(*order))
    out: list[Any] = []
    left, page, after = amount, 32, None
    while True:
        q = base if after is None else base.where(tuple_(*order) > tuple_(*after))
        rows = session.execute(q.limit(page)).all()
        for r in rows:
            out.append(r)
            left -= r.outstanding
            if left <= 0:
                return out
        if len(rows) < page:
            return out
        after = (rows[-1].due_on, rows[-1].issued_on, rows[-1].number)
        page = min(page * 4, 2048)


def check_payment(session: Session, p: PaymentIn) -> InvoiceKind:
    """What refuses a payment before its allocation: its amount, its party, its currency's rate on its date, and a
    closed period; nothing stored."""
    if p.amount <= 0:
        raise Invalid("a payment's amount must be above zero")
    kind = rules.kind_of(p.direction)
    party(session, kind, p.party_id)
    ledger.rate(session, p.currency, p.paid_on)
    period = accounting.period_of(p.paid_on)
    accounting.check_period_open(period, ledger.period_status(session, period), f"payment {p.reference[:60]}")
    return kind


def plan_payment(session: Session, p: PaymentIn) -> PaymentPlan:
    """Check a payment and work out its allocation without storing anything (the API asks this before it starts
    the process, and for the allocation preview; recording asks it again under the party's lock)."""
    kind = check_payment(session, p)
    if p.allocations is None:
        allocs, left = rules.oldest_first(p.amount, [_open_invoice(r) for r in _oldest_open(
            session, kind, p.party_id, p.currency, p.amount)])
        return PaymentPlan(allocations=allocs, unallocated=left)
    named = {r.id: r for r in session.execute(select(*_OPEN_COLUMNS, Invoice.kind, Invoice.party_id, Invoice.status,
                                                     Invoice.credit_note)
                                              .where(Invoice.id.in_([a.invoice_id for a in p.allocations])))}
    for a in p.allocations:
        row = named.get(a.invoice_id)
        if row is None:
            raise NotFound(f"no invoice {a.invoice_id}")
        if row.kind == kind and row.party_id == p.party_id and row.currency != p.currency:
            raise Invalid(f"invoice {row.number} is in {row.currency}; a payment in {p.currency} cannot be "
                          "allocated to it")
    opens = {r.id: _open_invoice(r) for r in named.values()
             if r.kind == kind and r.party_id == p.party_id and r.status == InvoiceStatus.OPEN and not r.credit_note}
    allocs, left = rules.named(p.amount, p.allocations, opens)
    return PaymentPlan(allocations=allocs, unallocated=left)


def record_payment(session: Session, p: PaymentIn, *, by: str, process_id: str = "") -> PaymentResult:
    """The payment, its allocations and its posting, in this one transaction; the same reference from the same
    party again returns the first payment (`existing`, unless it is this process's own, recorded by an attempt
    before a retry). Bank against the control account at the payment's rate; the difference with what the
    invoices carried, to exchange differences; what is left over, to the party's advances (its unallocated
    credit). Only the invoices the payment reaches are loaded (locked) and changed."""
    first = find_payment(session, p.direction, p.party_id, p.reference)
    if first is not None:
        return result_of(session, first, existing=not process_id or first.process_id != process_id)
    kind = rules.kind_of(p.direction)
    _lock_party(session, kind, p.party_id)
    plan = plan_payment(session, p)
    allocs, left = plan.allocations, plan.unallocated
    invoices = {i.id: i for i in session.execute(
        select(Invoice).where(Invoice.id.in_([a.invoice_id for a in allocs])).options(lazyload(Invoice.lines))
        .with_for_update()).scalars()}
    rate = ledger.rate(session, p.currency, p.paid_on)
    amount_base = accounting.to_base(p.amount, rate)
    who = party(session, kind, p.party_id)
    pay = Payment(number=common.next_number(session, "RCPT" if p.direction == Direction.IN else "PAY"),
                  direction=p.direction, party_id=p.party_id, party_name=who.name, amount=p.amount,
                  currency=p.currency, rate=rate, amount_base=amount_base, paid_on=p.paid_on, reference=p.reference,
                  unallocated=left, process_id=process_id, created_by=by)
    pay.unallocated_base = amount_base - sum((accounting.to_base(a.amount, rate) for a in allocs), ZERO)
    session.add(pay)
    session.flush()
    made = [_settle(session, invoices[a.invoice_id], a.amount, p.paid_on, payment=pay, rate=rate) for a in allocs]
    cleared = sum((m.cleared_base for m in made), ZERO)
    loss = sum((m.exchange_difference for m in made), ZERO)
    advance = pay.unallocated_base
    control = CONTROL[kind]
    bank_side = {accounting.BANK: amount_base}
    other = {control: cleared, ADVANCES[kind]: advance}
    fx_debit = {accounting.EXCHANGE_DIFFERENCES: loss} if loss > 0 else {}
    fx_credit = {accounting.EXCHANGE_DIFFERENCES: -loss} if loss < 0 else {}
    if p.direction == Direction.IN:  # Dr bank (+ loss) / Cr receivable, advances (+ gain)
        debits, credits = {**bank_side, **fx_debit}, {**other, **fx_credit}
    else:  # Dr payable, advances (+ loss) / Cr bank (+ gain)
        debits, credits = {**other, **fx_debit}, {**bank_side, **fx_credit}
    ledger.post(session, accounting.entry(f"{'Receipt' if p.direction == Direction.IN else 'Payment'} {pay.number} "
                                          f"({p.reference}), {who.name}", _merge(debits), _merge(credits)),
                "payment", pay.number, f"payment:{pay.number}", on=p.paid_on)
    session.flush()
    return result_of(session, pay)


def _merge(side: dict[str, Decimal]) -> dict[str, Decimal]:
    return {a: v for a, v in side.items() if v}


def _lock_party(session: Session, kind: InvoiceKind | str, party_id: int) -> None:
    """Allocations for one party are taken one at a time (`FOR UPDATE` on PostgreSQL; SQLite writers are serial)."""
    model = Customer if kind == InvoiceKind.CUSTOMER else Supplier
    session.execute(select(model.id).where(model.id == party_id).with_for_update()).first()


def apply_credit(session: Session, kind: InvoiceKind | str, party_id: int, on: date, key: str,
                 first: str | None = None) -> list[str]:
    """Set the party's unused credit (unallocated payments, then open credit notes; oldest first) against its
    open invoices (oldest first; invoice `first` before them, the one a new credit note is against), in the same
    currency; posts advances against the control account, with any exchange difference. Once per `key`. Returns
    the numbers of the invoices it touched."""
    kind = InvoiceKind(kind)

    def effect() -> list[str]:
        touched: list[str] = []
        invoices = [i for i in open_invoices(session, kind, party_id) if not i.credit_note and i.outstanding > 0]
        invoices.sort(key=lambda i: i.number != first)  # stable: the rest stay oldest first
        if not invoices:
            return touched
        payments = list(session.execute(select(Payment).where(
            Payment.direction == (Direction.IN if kind == InvoiceKind.CUSTOMER else Direction.OUT),
            Payment.party_id == party_id, Payment.unallocated > 0).order_by(Payment.paid_on, Payment.id)).scalars())
        notes = [i for i in open_invoices(session, kind, party_id) if i.credit_note and i.outstanding < 0]
        for inv in invoices:
            sources: list[Payment | Invoice] = [*payments, *notes]
            for source in sources:
                if inv.outstanding <= 0:
                    break
                if source.currency != inv.currency:
                    continue
                if isinstance(source, Payment):
                    take = min(source.unallocated, inv.outstanding)
                    if take <= 0:
                        continue
                    alloc = _settle(session, inv, take, on, payment=source, rate=source.rate)
                    advance = (source.unallocated_base if take == source.unallocated
                               else accounting.to_base(take, source.rate))
                    source.unallocated -= take
                    source.unallocated_base -= advance
                    _post_offset(session, kind, inv, f"advance {source.number}", ADVANCES[kind], advance, alloc,
                                 on, f"{key}:{source.number}:{inv.number}")
                else:
                    take = min(-source.outstanding, inv.outstanding)
                    if take <= 0:
                        continue
                    note_base = rules.cleared_base(-source.outstanding, -source.outstanding_base, take)
                    alloc = _settle(session, inv, take, on, credit_note=source, rate=None)
                    alloc.exchange_difference = (alloc.cleared_base - note_base if kind == InvoiceKind.CUSTOMER
                                                 else note_base - alloc.cleared_base)
                    source.outstanding += take
                    source.outstanding_base += note_base
                    if source.outstanding == 0:
                        source.status, source.closed_on = InvoiceStatus.PAID, on
                    _post_offset(session, kind, inv, f"credit note {source.number}", CONTROL[kind], note_base, alloc,
                                 on, f"{key}:{source.number}:{inv.number}")
                touched.append(inv.number)
        session.flush()
        return sorted(set(touched))

    result: list[str] = common.once(session, key, effect)
    return result


def _post_offset(session: Session, kind: InvoiceKind, inv: Invoice, source: str, source_account: str,
                 source_base: Decimal, alloc: PaymentAllocation, on: date, key: str) -> None:
    """The posting of credit set against an invoice: the source's account against the invoice's control account
    (a credit note's control account nets to itself: only the exchange difference remains)."""
    control = CONTROL[kind]
    loss = alloc.exchange_difference
    if kind == InvoiceKind.CUSTOMER:  # Dr source (+ loss) / Cr receivable (+ gain)
        debits = {source_account: source_base, accounting.EXCHANGE_DIFFERENCES: max(loss, ZERO)}
        credits = {control: alloc.cleared_base, accounting.EXCHANGE_DIFFERENCES: max(-loss, ZERO)}
    else:  # Dr payable (+ loss) / Cr source (+ gain)
        debits = {control: alloc.cleared_base, accounting.EXCHANGE_DIFFERENCES: max(loss, ZERO)}
        credits = {source_account: source_base, accounting.EXCHANGE_DIFFERENCES: max(-loss, ZERO)}
    net_d: dict[str, Decimal] = {}
    for a, v in debits.items():
        net_d[a] = net_d.get(a, ZERO) + v
    for a, v in credits.items():
        net_d[a] = net_d.get(a, ZERO) - v
    d = {a: v for a, v in net_d.items() if v > 0}
    c = {a: -v for a, v in net_d.items() if v < 0}
    if d or c:
        ledger.post(session, accounting.entry(f"{source} set against {inv.number}", d, c), "allocation",
                    inv.number, key, on=on)


def write_off(session: Session, number: str, *, by: str, reason: str, on: date, key: str) -> Invoice:
    """What a customer invoice still owes goes to bad debts (the cfo approved it); once per key."""
    inv = session.execute(select(Invoice).where(Invoice.number == number).with_for_update()).scalar_one()

    def effect() -> str:
        if inv.status != InvoiceStatus.OPEN or inv.outstanding <= 0:
            raise Conflict(f"invoice {number} is {inv.status}; only an open invoice can be written off")
        ledger.post(session, accounting.entry(f"Write-off of {number}, {inv.party_name}: {reason[:200]}",
                                              {accounting.BAD_DEBTS: inv.outstanding_base},
                                              {CONTROL[InvoiceKind(inv.kind)]: inv.outstanding_base}),
                    "write_off", number, f"{key}:post", on=on)
        inv.outstanding = inv.outstanding_base = ZERO
        inv.status, inv.closed_on, inv.reason = InvoiceStatus.WRITTEN_OFF, on, reason[:500]
        session.flush()
        return inv.number

    common.once(session, key, effect)
    return inv


# --- what is open ----------------------------------------------------------------------------------------

def open_receivables(session: Session, customer_id: int) -> Decimal:
    """What a customer owes us in the company currency: open invoices less credit notes and unused payments."""
    owed = session.execute(select(func.coalesce(func.sum(Invoice.outstanding_base), 0)).where(
        Invoice.kind == InvoiceKind.CUSTOMER, Invoice.party_id == customer_id,
        Invoice.status == InvoiceStatus.OPEN)).scalar_one()
    credit = session.execute(select(func.coalesce(func.sum(Payment.unallocated_base), 0)).where(
        Payment.direction == Direction.IN, Payment.party_id == customer_id)).scalar_one()
    return max(ZERO, money(Decimal(owed) - Decimal(credit)))


def oldest_overdue(session: Session, customer_id: int, today: date) -> date | None:
    """The due date of the customer's oldest open invoice past due, if any."""
    due = session.execute(select(func.min(Invoice.due_on)).where(
        Invoice.kind == InvoiceKind.CUSTOMER, Invoice.party_id == customer_id, Invoice.status == InvoiceStatus.OPEN,
        Invoice.credit_note.is_(False), Invoice.outstanding > 0, Invoice.due_on < today)).scalar_one()
    return due if isinstance(due, date) else None


def on_credit_hold(session: Session, customer_id: int, today: date | None = None) -> bool:
    today = today or utcnow().date()
    return rules.on_hold(oldest_overdue(session, customer_id, today), today, policy(session).dunning)


def unallocated_credit(session: Session, direction: Direction | str, party_id: int) -> Decimal:
    credit = session.execute(select(func.coalesce(func.sum(Payment.unallocated), 0)).where(
        Payment.direction == direction, Payment.party_id == party_id)).scalar_one()
    return Decimal(credit)


# --- the sub-ledgers reconcile --------------------------------------------------------------------------

BILLED = (InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.WRITTEN_OFF)  # a bill's statuses once posted


def received_not_billed_by_order(session: Session) -> dict[str, Decimal]:
    """Goods received not invoiced, per purchase order, as it was posted: what its receipts took into stock (their
    stock moves' values, each line to the cent: what each receipt posted) less what its posted bills cleared (each
    bill line's quantity × the order's price to the cent, as the three-way match clears it; a bill awaiting approval
    has cleared nothing yet; a supplier credit note gives back what it credits). Orders with nothing open are left
    out."""
    out: dict[str, Decimal] = {}
    received = session.execute(
        select(PurchaseOrder.number, func.sum(StockLedgerEntry.value_change))
        .join(GoodsReceipt, GoodsReceipt.po_id == PurchaseOrder.id)
        .join(StockLedgerEntry, (StockLedgerEntry.voucher_type == RECEIPT_VOUCHER)
              & (StockLedgerEntry.voucher_no == GoodsReceipt.number))
        .group_by(PurchaseOrder.number)).all()
    for number, value in received:
        out[number] = Decimal(value)
    for number, value in quarantine.open_value_by_order(session, "purchase").items():  # received, not yet inspected
        out[number] = out.get(number, ZERO) + value
    prices = {(number, sku): Decimal(price) for number, sku, price in session.execute(
        select(PurchaseOrder.number, PurchaseOrderLine.sku, PurchaseOrderLine.unit_price)
        .join(PurchaseOrderLine, PurchaseOrderLine.po_id == PurchaseOrder.id)
        .where(PurchaseOrderLine.received_qty > 0)).all()}
    billed = session.execute(select(Invoice.purchase_order_number, Invoice.credit_note, InvoiceLine.sku, InvoiceLine.qty)
                             .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
                             .where(Invoice.kind == InvoiceKind.SUPPLIER, Invoice.purchase_order_number.is_not(None),
                                    Invoice.status.in_(BILLED))).all()
    for po_number, credit_note, sku, qty in billed:
        price = prices.get((str(po_number), sku))
        if price is not None:  # a bill line is for what its order received (the match refuses anything else)
            cleared = (-1 if credit_note else 1) * money(Decimal(qty) * price)
            out[str(po_number)] = out.get(str(po_number), ZERO) - cleared
    return {number: value for number, value in out.items() if value}


class Reconciliation(BaseModel):
    rows: list[dict[str, Any]]  # {name, account, control, subledger, difference}
    balanced: bool


def reconcile(session: Session, as_of: date | None = None) -> Reconciliation:
    """Each control account against its sub-ledger: receivables = open customer invoices, payables = open
    supplier bills, customer and supplier advances = unallocated payments, inventory = stock valuation, goods
    received not invoiced = what purchase orders received and their bills have not yet billed. Read
    as of now (the sub-ledgers keep no history; `as_of` limits the ledger side only, for a close of a period
    with nothing posted after it)."""
    bal = ledger.balances(session, to=as_of)

    def owed(kind: InvoiceKind) -> Decimal:
        return Decimal(session.execute(select(func.coalesce(func.sum(Invoice.outstanding_base), 0)).where(
            Invoice.kind == kind, Invoice.status == InvoiceStatus.OPEN)).scalar_one())

    def advances(direction: Direction) -> Decimal:
        return Decimal(session.execute(select(func.coalesce(func.sum(Payment.unallocated_base), 0)).where(
            Payment.direction == direction)).scalar_one())

    stock_value = Decimal(session.execute(select(func.coalesce(func.sum(StockBalance.stock_value), 0))).scalar_one())
    stock_value += quarantine.total_value(session)  # received goods waiting for inspection are inventory too
    received_not_billed = money(sum((v for v in received_not_billed_by_order(session).values()), ZERO))
    checks = [
        ("Receivables = open customer invoices", accounting.RECEIVABLES, bal.get(accounting.RECEIVABLES, ZERO),
         owed(InvoiceKind.CUSTOMER)),
        ("Payables = open supplier bills", accounting.PAYABLES, -bal.get(accounting.PAYABLES, ZERO),
         owed(InvoiceKind.SUPPLIER)),
        ("Customer advances = unallocated receipts", accounting.CUSTOMER_ADVANCES,
         -bal.get(accounting.CUSTOMER_ADVANCES, ZERO), advances(Direction.IN)),
        ("Supplier advances = unallocated payments", accounting.SUPPLIER_ADVANCES,
         bal.get(accounting.SUPPLIER_ADVANCES, ZERO), advances(Direction.OUT)),
        ("Inventory = stock valuation", accounting.INVENTORY, bal.get(accounting.INVENTORY, ZERO), stock_value),
        ("Goods received not invoiced = received, not billed", accounting.GRNI, -bal.get(accounting.GRNI, ZERO),
         received_not_billed),
    ]
    rows = [{"name": n, "account": a, "control": money(c), "subledger": money(s), "difference": money(c - s)}
            for n, a, c, s in checks]
    return Reconciliation(rows=rows, balanced=all(r["difference"] == 0 for r in rows))
