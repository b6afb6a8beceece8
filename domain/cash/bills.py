"""Supplier bills in SQL: the three-way match of a bill against its purchase order (ordered price × received
quantity, less what earlier bills took), recording it under the order's lock, posting it (goods received not
invoiced and any price variance against payables), who approves a mismatch, and what a bill's page, its
approval task and its purchase order show.

The match itself is pure (domain.cash.rules.three_way_match); this module reads what it needs and records what
it decided. A bill is refused whole (nothing stored) when it bills more than was received."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import permissions
from domain.accounting import rules as accounting
from domain.approvals import access
from domain.approvals.rules import ChainStep, escalation_target, staffable
from domain.approvals.tables import Task
from domain.cash import rules
from domain.cash import services as cash
from domain.cash.rules import ZERO, BillLineIn, InvoiceKind, InvoiceStatus, Match
from domain.cash.tables import Invoice, InvoiceLine
from domain.core import records as common
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.tables import IdempotencyRecord
from domain.org import services as org
from domain.org.people import Person
from domain.parties.tables import Supplier
from domain.permissions import Action, Duty
from domain.purchasing.tables import PurchaseOrder, PurchaseOrderLine

PROCESS_TYPE = "supplier_invoice"
NOT_BILLED = (InvoiceStatus.REJECTED,)  # a rejected bill took nothing of its order


class BillIn(BaseModel):
    """A supplier's bill as it is entered: against one purchase order (its number, or its id)."""

    supplier_id: int = Field(ge=1, le=2**31 - 1)
    purchase_order_id: str = Field(min_length=1, max_length=30)
    supplier_ref: str = Field(min_length=1, max_length=60)
    issued_on: date
    lines: list[BillLineIn] = Field(min_length=1, max_length=200)
    currency: str | None = Field(default=None, min_length=3, max_length=3)


class BillDraft(BaseModel):
    """What the SupplierInvoice process records: the bill checked and numbered, its match, and (a mismatch) the
    approval chain resolved when it was entered."""

    number: str
    supplier_id: int
    supplier: str
    purchase_order_number: str
    supplier_ref: str
    issued_on: date
    currency: str
    lines: list[BillLineIn]
    entered_by: str
    owner: str  # the order's buyer
    match: Match
    steps: list[ChainStep] = []


class BillState(BaseModel):
    """A bill as its process sees it (the answer of its activities)."""

    number: str
    status: str
    total: Decimal
    outstanding: Decimal
    due_on: date
    touched: list[str] = []  # process ids of other invoices a posting settled (told by the process)


# --- reading the order --------------------------------------------------------------------------------------

def find_order(session: Session, ref: str | int, *, lock: bool = False) -> PurchaseOrder:
    """A purchase order by its number (PO-00001) or its id (12)."""
    text = str(ref).strip()
    where = (PurchaseOrder.id == int(text)) if text.isascii() and text.isdigit() and len(text) < 10 else (PurchaseOrder.number == text)
    q = select(PurchaseOrder).where(where)
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    po = session.execute(q).scalar_one_or_none()
    if po is None:
        raise NotFound(f"no purchase order {text}")
    if lock:  # fresh received quantities: a receipt may have committed since the order was last read
        session.execute(select(PurchaseOrderLine).where(PurchaseOrderLine.po_id == po.id)
                        .execution_options(populate_existing=True)).scalars().all()
    return po


def billed_qty(session: Session, po_number: str, *, excluding: str | None = None) -> dict[str, Decimal]:
    """What the order's bills (not rejected, not credit notes) took of each SKU."""
    q = (select(InvoiceLine.sku, func.coalesce(func.sum(InvoiceLine.qty), 0))
         .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
         .where(Invoice.kind == InvoiceKind.SUPPLIER, Invoice.purchase_order_number == po_number,
                Invoice.credit_note.is_(False), Invoice.status.not_in(NOT_BILLED))
         .group_by(InvoiceLine.sku))
    if excluding is not None:
        q = q.where(Invoice.number != excluding)
    return {sku: Decimal(q_) for sku, q_ in session.execute(q).all()}


def ordered_lines(session: Session, po: PurchaseOrder, *, excluding: str | None = None) -> list[rules.OrderedLine]:
    billed = billed_qty(session, po.number, excluding=excluding)
    return [rules.OrderedLine(sku=ln.sku, unit_price=ln.unit_price, received_qty=ln.received_qty,
                              billed_qty=billed.get(ln.sku, ZERO)) for ln in po.lines]


def existing(session: Session, supplier_id: int, supplier_ref: str) -> Invoice | None:
    """The bill this supplier already sent under this reference, if any (entering it again finds it)."""
    return session.execute(select(Invoice).where(
        Invoice.kind == InvoiceKind.SUPPLIER, Invoice.party_id == supplier_id, Invoice.credit_note.is_(False),
        Invoice.supplier_ref == supplier_ref).order_by(Invoice.id).limit(1)).scalar_one_or_none()


class Checked(BaseModel):
    """A bill checked against its order: its match (or the bill already entered under its reference)."""

    supplier_id: int
    supplier: str
    currency: str
    purchase_order_number: str
    owner: str
    match: Match | None = None
    existing: str | None = None  # the number of the bill already entered under this reference


def check(session: Session, bill: BillIn, *, lock: bool = False, excluding: str | None = None) -> Checked:
    """The supplier (404), its order (404; another supplier's → 409), a reference already billed (the first bill),
    then the three-way match (billing above what was received and not yet billed → 409). Stores nothing."""
    sup = session.get(Supplier, bill.supplier_id)
    if sup is None:
        raise NotFound(f"no supplier {bill.supplier_id}")
    po = find_order(session, bill.purchase_order_id, lock=lock)
    if po.supplier_id != sup.id:
        raise Conflict(f"purchase order {po.number} is not from {sup.name}; a bill is entered against its "
                       "supplier's order")
    base = Checked(supplier_id=sup.id, supplier=sup.name, currency=bill.currency or sup.currency,
                   purchase_order_number=po.number, owner=po.buyer)
    first = existing(session, sup.id, bill.supplier_ref)
    if first is not None and first.number != excluding:
        return base.model_copy(update={"existing": first.number})
    match = rules.three_way_match(bill.lines, ordered_lines(session, po, excluding=excluding),
                                  cash.policy(session).match)
    if match.billed <= 0:
        raise Invalid("a bill's total must be above zero")
    return base.model_copy(update={"match": match})


# --- who approves a mismatch ------------------------------------------------------------------------------

def chain(session: Session, requester: str) -> list[ChainStep]:
    """The buyer, then finance (Duty.BILL_MISMATCH_FIRST, _SECOND), never the one who entered the bill. A step
    whose role nobody but the requester holds goes where that role's tasks escalate (as the approval engine
    escalates an overdue one: buyer → manager), so a company with one buyer can still have its bills checked by
    someone else. Invalid when no one could."""
    people = org.people(session)
    return mismatch_chain(requester, people, org.role_escalation(session))


def mismatch_chain(requester: str, people: Mapping[str, Person],
                   role_escalation: Mapping[str, str | None]) -> list[ChainStep]:
    """Pure part of `chain`."""
    roles = [permissions.duty_role(Duty.BILL_MISMATCH_FIRST), permissions.duty_role(Duty.BILL_MISMATCH_SECOND)]
    raw = [ChainStep(index=i + 1, label=r, candidate_role=r,
                     eligible=sorted(p.username for p in people.values()
                                     if p.active and r in p.roles and p.username != requester))
           for i, r in enumerate(roles)]
    steps: list[ChainStep] = []
    for step in raw:
        if not step.eligible:
            up = escalation_target(step, people, role_escalation, {requester})
            if up is None:
                raise Invalid(f"nobody but {requester} can approve step {step.index} ({step.label}) of this bill")
            step = up
        steps.append(step)
    if not staffable(steps, {requester}):
        raise Invalid("approving this bill needs more distinct approvers than the organisation has")
    return steps


# --- recording and posting --------------------------------------------------------------------------------

def posting(match: Match) -> dict[str, Decimal]:
    """A bill's other side: goods received not invoiced at the order's price, the difference to purchase price
    variance (below zero when billed under the order's price: posted as a credit)."""
    return {accounting.GRNI: match.expected, accounting.PRICE_VARIANCE: match.variance}


def reserve_number(session: Session, supplier_id: int, supplier_ref: str) -> str:
    """The bill's number, once per supplier and reference: the same bill entered twice at once gets one number,
    so one process (its id is formed from the number)."""
    number: str = common.once(session, f"bill-number:{supplier_id}:{supplier_ref}",
                              lambda: common.next_number(session, cash.PREFIX[(InvoiceKind.SUPPLIER, False)]))
    return number


def by_number_or_none(session: Session, number: str) -> Invoice | None:
    return session.execute(select(Invoice).where(Invoice.number == number)).scalar_one_or_none()


def record(session: Session, draft: BillDraft, process_id: str) -> Invoice:
    """The bill, once (its key is its process): checked again under its order's lock (another bill may have
    taken the same goods since it was entered: Conflict, nothing stored); matched → posted and open at once,
    else pending approval, unposted."""
    key = f"{process_id}:bill"
    done = session.execute(select(Invoice).where(Invoice.idempotency_key == key)).scalar_one_or_none()
    if done is not None:
        return done
    bill = BillIn(supplier_id=draft.supplier_id, purchase_order_id=draft.purchase_order_number,
                  supplier_ref=draft.supplier_ref, issued_on=draft.issued_on, lines=draft.lines,
                  currency=draft.currency)
    checked = check(session, bill, lock=True, excluding=draft.number)
    if checked.existing is not None:
        raise Conflict(f"{checked.supplier}'s bill {draft.supplier_ref} is entered already, as {checked.existing}")
    assert checked.match is not None
    match = checked.match
    matched = match.matched
    lines = [cash.LineIn(sku=m.sku, qty=m.qty, unit_price=m.unit_price, net=m.billed) for m in match.lines]
    return cash.issue(session, kind=InvoiceKind.SUPPLIER, party_id=draft.supplier_id, lines=lines, tax=ZERO,
                      issued_on=draft.issued_on, currency=draft.currency, key=key, process_id=process_id,
                      owner=draft.owner, created_by=draft.entered_by,
                      status=InvoiceStatus.OPEN if matched else InvoiceStatus.PENDING_APPROVAL,
                      other_side=posting(match), number=draft.number,
                      purchase_order_number=draft.purchase_order_number, supplier_ref=draft.supplier_ref,
                      match=match.model_dump(mode="json"))


def approve(session: Session, number: str) -> Invoice:
    """A mismatched bill approved (the buyer, then finance): posted with its match's split, open for payment."""
    inv = session.execute(select(Invoice).where(Invoice.number == number).with_for_update()).scalar_one()
    if inv.status == InvoiceStatus.PENDING_APPROVAL:
        cash.post_invoice(session, inv, posting(Match.model_validate(inv.match)))
    return inv


def reject(session: Session, number: str, reason: str) -> Invoice:
    """A mismatched bill refused: nothing posted, nothing owed; its goods may be billed again."""
    inv = session.execute(select(Invoice).where(Invoice.number == number).with_for_update()).scalar_one()
    if inv.status == InvoiceStatus.PENDING_APPROVAL:
        inv.status, inv.reason = InvoiceStatus.REJECTED, reason[:500]
        inv.outstanding = inv.outstanding_base = ZERO
        session.flush()
    return inv


def touched_by_posting(session: Session, inv: Invoice) -> list[str]:
    """The processes of the other invoices the bill's posting settled with the supplier's unused credit."""
    done = session.get(IdempotencyRecord, f"credit:{inv.number}")  # stored by post_invoice's apply_credit
    others = [n for n in (done.result if done is not None else []) or [] if n != inv.number]
    if not others:
        return []
    return sorted(set(session.execute(select(Invoice.process_id).where(Invoice.number.in_(others))).scalars()))


def state(inv: Invoice, touched: list[str] | None = None) -> BillState:
    return BillState(number=inv.number, status=inv.status, total=inv.total, outstanding=inv.outstanding,
                     due_on=inv.due_on, touched=touched or [])


# --- who sees a bill, and what its pages show ---------------------------------------------------------------

def may_see(session: Session, username: str, roles: set[str], inv: Invoice) -> bool:
    if inv.kind != InvoiceKind.SUPPLIER:
        return False
    if (permissions.may(roles, Action.INVOICE_SEE_ALL) or permissions.may(roles, Action.SUPPLIER_INVOICE_ENTER)
            or inv.created_by == username):
        return True
    return access.may_see(session, username, roles, "purchase", inv.owner, inv.process_id)


def visible(session: Session, username: str, roles: set[str], ref: str) -> Invoice:
    """A supplier bill by its number or id, for someone who may see it (else 404: ids reveal nothing)."""
    q = select(Invoice).where(Invoice.id == int(ref)) if ref.isascii() and ref.isdigit() and len(ref) < 10 else select(Invoice).where(
        Invoice.number == ref)
    inv = session.execute(q).scalar_one_or_none()
    if inv is None or not may_see(session, username, roles, inv):
        raise NotFound(f"no supplier bill {ref}")
    return inv


def view(session: Session, inv: Invoice) -> dict[str, Any]:
    return {
        "invoice_id": inv.number, "id": inv.id, "number": inv.number, "kind": inv.kind, "status": inv.status,
        "supplier_id": inv.party_id, "supplier": inv.party_name, "supplier_ref": inv.supplier_ref,
        "purchase_order_id": inv.purchase_order_number, "issued_on": inv.issued_on, "due_on": inv.due_on,
        "currency": inv.currency, "rate": inv.rate, "total": inv.total, "total_base": inv.total_base,
        "outstanding": inv.outstanding, "owner": inv.owner, "entered_by": inv.created_by,
        "process_id": inv.process_id, "reason": inv.reason, "closed_on": inv.closed_on,
        "match": None if inv.credit_note else ("matched" if inv.match and inv.match.get("matched") else "mismatch"),
        "match_detail": inv.match, "credit_note": inv.credit_note, "against": inv.against_number,
        "lines": [{"sku": ln.sku, "qty": ln.qty, "unit_price": ln.unit_price, "net": ln.net} for ln in inv.lines],
    }


def entered(inv: Invoice, *, existing: bool = False) -> dict[str, Any]:
    """The answer to entering a bill."""
    matched = bool(inv.match and inv.match.get("matched"))
    return {"invoice_id": inv.number, "id": inv.id, "number": inv.number, "process_id": inv.process_id,
            "match": "matched" if matched else "mismatch", "status": inv.status,
            "reasons": (inv.match or {}).get("reasons", []), "total": inv.total, "existing": existing}


def order_bills(session: Session, po_number: str) -> dict[str, Any]:
    """What a purchase order's page adds: its bills and what each line has been billed."""
    bills = session.execute(select(Invoice).where(
        Invoice.kind == InvoiceKind.SUPPLIER, Invoice.purchase_order_number == po_number,
        Invoice.credit_note.is_(False)).order_by(Invoice.id)).scalars().all()
    return {"bills": [{"invoice_id": b.number, "number": b.number, "status": b.status, "total": b.total,
                       "outstanding": b.outstanding, "supplier_ref": b.supplier_ref, "due_on": b.due_on}
                      for b in bills],
            "billed_qty": billed_qty(session, po_number)}


def with_bills(session: Session, order_view: dict[str, Any]) -> dict[str, Any]:
    """A purchase order's view (domain.purchasing.services.order_view) with its bills, and `billed_qty` on each
    line."""
    extra = order_bills(session, order_view["number"])
    billed = extra["billed_qty"]
    lines = [{**ln, "billed_qty": billed.get(ln["sku"], ZERO)} for ln in order_view["lines"]]
    return {**order_view, "lines": lines, "bills": extra["bills"]}


def to_bill(session: Session, po: PurchaseOrder) -> list[dict[str, Any]]:
    """Each line of the order with what was received and not yet billed (what a new bill's form starts from)."""
    billed = billed_qty(session, po.number)
    return [{"sku": ln.sku, "ordered_qty": ln.qty, "received_qty": ln.received_qty,
             "billed_qty": billed.get(ln.sku, ZERO), "unbilled_qty": ln.received_qty - billed.get(ln.sku, ZERO),
             "unit_price": ln.unit_price} for ln in po.lines]


def bill_context(session: Session, task: Task) -> dict[str, Any] | None:
    """What the approver of a mismatched bill reads: the bill, its order, why it does not match, line by line."""
    inv = session.execute(select(Invoice).where(Invoice.number == task.business_key)).scalar_one_or_none()
    if inv is None or inv.match is None:
        return None
    match = Match.model_validate(inv.match)
    return {"kind": "supplier_bill", "number": inv.number, "status": inv.status, "supplier": inv.party_name,
            "supplier_ref": inv.supplier_ref, "purchase_order_id": inv.purchase_order_number,
            "issued_on": inv.issued_on, "due_on": inv.due_on, "currency": inv.currency,
            "entered_by": inv.created_by, "owner": inv.owner, "matched": match.matched, "reasons": match.reasons,
            "lines": [m.model_dump() for m in match.lines], "billed": match.billed, "expected": match.expected,
            "variance": match.variance}
