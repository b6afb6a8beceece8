"""Quality in SQL: recording an inspection of a quarantine lot in one transaction, once per key (accepted goods into
on hand at the lot's cost; rejected goods back to the supplier with a nonconformance record), and what the pages show
(lots, nonconformances, first-pass yield).

Rejected goods of a purchase go back to the supplier by what the order's bills have covered of them
(rules.split_rejected): not yet billed, the receipt is reduced (the order's received quantity less the rejected, so
the bill matches only what was kept) and their value leaves inventory against goods received not invoiced (Dr GRNI /
Cr inventory); billed already, a debit note against the bill through the purchase-return machinery
(domain.cash.purchase_return_services.record: the goods leave stock, Dr payables / Cr inventory, set against the
supplier's open bills)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.cash import bills
from domain.cash import purchase_return_services as credits
from domain.cash import purchase_returns as credit_rules
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice
from domain.core import records as common
from domain.core.errors import Conflict
from domain.core.money import money, qty_str
from domain.core.types import utcnow
from domain.inventory import quarantine, stock
from domain.inventory.quarantine_tables import QuarantineLot
from domain.inventory.tables import Item
from domain.parties.tables import Supplier
from domain.processes import ids
from domain.production.tables import ProductionOrder
from domain.purchasing.tables import PurchaseOrder
from domain.quality import rules
from domain.quality.rules import ZERO, InspectionCommand, InspectionOutcome, LotRef
from domain.quality.tables import Nonconformance

RETURN_VOUCHER = "quality_return"  # the journal of rejected goods sent back before their bill


def lot_ref(lot: QuarantineLot) -> LotRef:
    return LotRef(number=lot.number, sku=lot.sku, qty=lot.qty, source=lot.source,
                  source_document=lot.source_document, order_number=lot.order_number)


def check(session: Session, number: str, cmd: InspectionCommand) -> LotRef:
    """Everything recording would refuse, without storing anything (the API asks this first): who (403), the lot
    (404), open (409), the quantities adding up to the lot and a reason for a rejection (422)."""
    rules.check_may_inspect(cmd.actor.roles)
    lot = quarantine.lot(session, number)
    rules.check_result(lot.number, lot.sku, lot.qty, lot.status, cmd.result)
    return lot_ref(lot)


def record(session: Session, number: str, cmd: InspectionCommand, process_id: str, today: date
           ) -> InspectionOutcome:
    """The inspection's result, once per process (a retry answers the first result): checked again under the lot's
    lock, the accepted goods into on hand, the rejected back to the supplier with their NCR, the lot inspected."""
    key = f"{process_id}:result"

    def effect() -> dict[str, Any]:
        lot = quarantine.lot(session, number, lock=True)
        rules.check_result(lot.number, lot.sku, lot.qty, lot.status, cmd.result)
        res, by = cmd.result, cmd.actor.username
        outcome = InspectionOutcome(lot=lot.number, accepted_qty=res.accepted_qty, rejected_qty=res.rejected_qty)
        if res.accepted_qty > 0:
            _to_stock(session, lot, res.accepted_qty, by, f"{key}:accept", "accepted at inspection")
            lot.accepted_qty = res.accepted_qty
        if res.rejected_qty > 0:
            outcome = _reject(session, lot, cmd, key, today, outcome)
        lot.status, lot.reason, lot.note = quarantine.INSPECTED, res.reason, res.note.strip()
        lot.inspected_by, lot.inspected_at = by, utcnow()
        session.flush()
        return outcome.model_dump(mode="json")

    return InspectionOutcome.model_validate(common.once(session, key, effect))


def _to_stock(session: Session, lot: QuarantineLot, qty: Decimal, by: str, key: str, why: str) -> Decimal:
    """`qty` of the lot from quarantine into on hand at the lot's cost, under the receipt's own voucher."""
    value = quarantine.take_out(session, lot, qty)
    stock.move(session, lot.sku, qty, unit_cost=None, value=value, voucher_type=lot.voucher_type,
               voucher_no=lot.source_document, key=key, actor=by, reason=f"{lot.number} {why}")
    return value


def _reject(session: Session, lot: QuarantineLot, cmd: InspectionCommand, key: str, today: date,
            outcome: InspectionOutcome) -> InspectionOutcome:
    res, by = cmd.result, cmd.actor.username
    ncr = Nonconformance(number=common.next_number(session, rules.NCR_PREFIX), lot_id=lot.id, item_id=lot.item_id,
                         sku=lot.sku, qty=res.rejected_qty, reason=res.reason, note=res.note.strip(),
                         source_document=lot.source_document, order_number=lot.order_number,
                         disposition=rules.RETURNED if lot.source == "purchase" else rules.SCRAPPED, created_by=by)
    session.add(ncr)
    session.flush()
    why = f"{ncr.number}: {rules.reason_label(res.reason)}"
    if lot.source != "purchase":  # a production lot's rejects are scrapped: their value is written off stock
        value = quarantine.take_out(session, lot, res.rejected_qty)
        ledger.post(session, accounting.entry(f"{why} ({lot.sku} scrapped at final inspection)",
                                              {accounting.STOCK_ADJUSTMENTS: value}, {accounting.INVENTORY: value}),
                    RETURN_VOUCHER, ncr.number, f"{key}:scrap")
        ncr.value = value
        lot.rejected_qty = res.rejected_qty
        return outcome.model_copy(update={"ncr": ncr.number})
    po = bills.find_order(session, lot.order_number, lock=True)
    ncr.supplier_id = po.supplier_id
    line = next(ln for ln in po.lines if ln.sku == lot.sku)
    billed = bills.billed_qty(session, po.number).get(lot.sku, ZERO)
    returned, debited = rules.split_rejected(res.rejected_qty, line.received_qty, billed)
    value = ZERO
    if returned > 0:  # not billed yet: the order received less
        v = quarantine.take_out(session, lot, returned)
        line.received_qty -= returned
        po.status = ("received" if all(ln.received_qty >= ln.qty for ln in po.lines) else
                     "partially_received" if any(ln.received_qty > 0 for ln in po.lines) else "open")
        ledger.post(session, accounting.entry(f"{why}: {qty_str(returned)} {lot.sku} back to the supplier on "
                                              f"{po.number}", {accounting.GRNI: v}, {accounting.INVENTORY: v}),
                    RETURN_VOUCHER, ncr.number, f"{key}:return")
        value += v
        ncr.returned_qty = returned
    lot.rejected_qty = res.rejected_qty
    if debited > 0:  # billed already: a debit note against the bill sends them back
        bill = _bill_to_debit(session, po.number, lot.sku, debited)
        _to_stock(session, lot, debited, by, f"{key}:debit-stock", f"rejected ({ncr.number}), going back")
        price = credits.billed_lines(session, bill)[lot.sku].unit_price
        number = credits.reserve_number(session, bill.party_id, ncr.number)
        draft = credit_rules.CreditDraft(
            number=number, bill=bill.number, supplier_id=bill.party_id, supplier_ref=ncr.number, issued_on=today,
            reason=why, lines=[credit_rules.CreditLineIn(sku=lot.sku, qty=debited, unit_price=price)],
            return_goods=True, by=by)
        result = credits.record(session, draft, ids.supplier_credit_note(number))
        value += result.stock_value
        ncr.debited_qty, ncr.debit_note, ncr.bill = debited, result.invoice_id, bill.number
        outcome = outcome.model_copy(update={"debit_note": result.invoice_id, "invoices": result.invoices})
    ncr.value = money(value)
    session.flush()
    return outcome.model_copy(update={"ncr": ncr.number, "returned_qty": returned, "debited_qty": debited})


def _bill_to_debit(session: Session, po_number: str, sku: str, qty: Decimal) -> Invoice:
    """The order's latest posted bill with `qty` of `sku` left to credit (Conflict when none has: the rejected goods
    were billed across bills; a debit note per bill is entered on the bill's page)."""
    rows = session.execute(select(Invoice).where(
        Invoice.kind == InvoiceKind.SUPPLIER, Invoice.purchase_order_number == po_number,
        Invoice.credit_note.is_(False), Invoice.status.in_((InvoiceStatus.OPEN, InvoiceStatus.PAID)))
        .order_by(Invoice.id.desc())).scalars()
    for bill in rows:
        b = credits.billed_lines(session, bill).get(sku)
        if b is not None and b.qty - b.credited >= qty:
            return bill
    raise Conflict(f"no posted bill of {po_number} has {qty_str(qty)} of {sku} left to credit; enter the debit "
                   "note on the bill's page; nothing was stored")


# --- what the pages show ---------------------------------------------------------------------------------------

def lot_view(session: Session, lot: QuarantineLot) -> dict[str, Any]:
    ncr = session.execute(select(Nonconformance).where(Nonconformance.lot_id == lot.id)).scalar_one_or_none()
    item = session.get(Item, lot.item_id)
    return {"number": lot.number, "lot_id": lot.number, "sku": lot.sku, "name": item.name if item else "",
            "uom": item.uom if item else "", "source": lot.source, "source_document": lot.source_document,
            "order_number": lot.order_number, "qty": lot.qty, "value": lot.value, "status": lot.status,
            "accepted_qty": lot.accepted_qty, "rejected_qty": lot.rejected_qty, "reason": lot.reason,
            "note": lot.note, "inspected_by": lot.inspected_by, "inspected_at": lot.inspected_at,
            "received_by": lot.received_by, "received_at": lot.created_at, "process_id": lot.process_id,
            "ncr": ncr.number if ncr else None}


def lots(session: Session, status: str | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    q = select(QuarantineLot).order_by(QuarantineLot.id.desc()).limit(limit).offset(offset)
    if status:
        q = q.where(QuarantineLot.status == status)
    return [lot_view(session, lot) for lot in session.execute(q).scalars()]


def ncr_view(session: Session, ncr: Nonconformance) -> dict[str, Any]:
    lot = session.get(QuarantineLot, ncr.lot_id)
    sup = session.get(Supplier, ncr.supplier_id) if ncr.supplier_id else None
    return {"number": ncr.number, "ncr_id": ncr.number, "sku": ncr.sku, "qty": ncr.qty, "reason": ncr.reason,
            "reason_label": rules.reason_label(ncr.reason), "note": ncr.note,
            "source_document": ncr.source_document, "order_number": ncr.order_number,
            "lot": lot.number if lot else None, "supplier_id": ncr.supplier_id, "supplier": sup.name if sup else None,
            "disposition": ncr.disposition, "returned_qty": ncr.returned_qty, "debited_qty": ncr.debited_qty,
            "debit_note": ncr.debit_note, "bill": ncr.bill, "value": ncr.value, "created_by": ncr.created_by,
            "created_at": ncr.created_at}


def nonconformances(session: Session, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    q = select(Nonconformance).order_by(Nonconformance.id.desc()).limit(limit).offset(offset)
    return [ncr_view(session, n) for n in session.execute(q).scalars()]


def nonconformance(session: Session, number: str) -> dict[str, Any]:
    ncr = common.one(session, Nonconformance, Nonconformance.number == number, f"no nonconformance record {number}")
    return ncr_view(session, ncr)


def first_pass_yield(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """Per item: accepted at inspection over inspected (lots inspected once each: the first pass), and for what is
    made, good over good + scrap of its production orders; worst first."""
    out: dict[str, dict[str, Any]] = {}
    for sku, accepted, inspected in session.execute(
            select(QuarantineLot.sku, func.sum(QuarantineLot.accepted_qty), func.sum(QuarantineLot.qty))
            .where(QuarantineLot.status == quarantine.INSPECTED).group_by(QuarantineLot.sku)).all():
        out[sku] = {"sku": sku, "inspected": Decimal(inspected), "accepted": Decimal(accepted),
                    "inspection_yield": rules.first_pass_yield(Decimal(accepted), Decimal(inspected)),
                    "good": ZERO, "scrap": ZERO, "production_yield": None}
    for sku, good, scrap in session.execute(
            select(ProductionOrder.sku, func.sum(ProductionOrder.completed_qty), func.sum(ProductionOrder.scrap_qty))
            .group_by(ProductionOrder.sku)).all():
        good, scrap = Decimal(good or 0), Decimal(scrap or 0)
        if good + scrap <= 0:
            continue
        row = out.setdefault(sku, {"sku": sku, "inspected": ZERO, "accepted": ZERO, "inspection_yield": None})
        row.update(good=good, scrap=scrap, production_yield=rules.first_pass_yield(good, good + scrap))

    def worst(r: dict[str, Any]) -> Decimal:
        ys = [y for y in (r["inspection_yield"], r["production_yield"]) if y is not None]
        return min(ys) if ys else Decimal(1)

    return sorted(out.values(), key=lambda r: (worst(r), r["sku"]))[:limit]


def supplier_of_order(session: Session, po_number: str) -> int | None:
    po = session.execute(select(PurchaseOrder).where(PurchaseOrder.number == po_number)).scalar_one_or_none()
    return po.supplier_id if po else None


def set_flags(session: Session, sku: str, *, incoming: bool, final: bool, actor: str) -> dict[str, Any]:
    """Whether the item's receipts (incoming: from suppliers; final: from production) wait for an inspection;
    recorded in the item's audit trail. Lots already in quarantine stay there until inspected."""
    from domain.audit import services as audit

    item = stock.item_by_sku(session, sku)
    before = {"inspect_incoming": item.inspect_incoming, "inspect_final": item.inspect_final}
    item.inspect_incoming, item.inspect_final = incoming, final
    after = {"inspect_incoming": incoming, "inspect_final": final}
    audit.record(session, actor, "item", sku, before, after, action="inspection")
    session.flush()
    return {"sku": sku, **after}


def scrap_by_reason(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """Scrap reported on the shop floor per item and reason, most first ("": no reason given)."""
    from domain.production.scrap_tables import ScrapReport

    rows = session.execute(select(ScrapReport.sku, ScrapReport.reason, func.sum(ScrapReport.qty))
                           .group_by(ScrapReport.sku, ScrapReport.reason)).all()
    out = [{"sku": sku, "reason": reason, "label": rules.reason_label(reason, scrap=True) if reason else "",
            "qty": Decimal(qty)} for sku, reason, qty in rows]
    return sorted(out, key=lambda r: (-Decimal(str(r["qty"])), str(r["sku"]), str(r["reason"])))[:limit]
