"""Production orders in SQL: batch creation from an MRP run, release with the kit, progress with material
issue (kitted or backflush), labour and finished-goods receipts at actual cost, change requests, lateness,
and the delivery of a sales order with its revenue, cost and margin. Every effect runs under an idempotency
key in one transaction: a retried activity (a worker killed mid-way) never issues, receives or posts twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.approvals import access
from domain.approvals import services as approvals
from domain.approvals.rules import ChainStep
from domain.cash import services as cash
from domain.cash.rules import InvoiceKind
from domain.cash.tables import Invoice
from domain.core import records as common
from domain.core.errors import Conflict, NotFound
from domain.core.tables import IdempotencyRecord
from domain.core.types import utcnow
from domain.inventory import quarantine, stock
from domain.inventory.tables import Item
from domain.manufacturing.bom import BomLine, need
from domain.processes import ids
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus
from domain.production import rules
from domain.production.scrap_tables import ScrapReport
from domain.production.tables import ProductionMaterial, ProductionOrder
from domain.purchasing import access as purchase_access
from domain.purchasing.tables import PurchaseOrder, PurchaseRequisition
from domain.sales import deliveries, delivery
from domain.sales import services as sales_service
from domain.sales.rules import SalesOrderStatus
from domain.sales.tables import DeliveryNote, DeliveryNoteLine, SalesOrder

ZERO = Decimal(0)


def order(session: Session, number: str, *, lock: bool = False) -> ProductionOrder:
    q = select(ProductionOrder).where(ProductionOrder.number == number)
    if lock:  # progress, release and changes of one order serialize on its row
        q = q.with_for_update().execution_options(populate_existing=True)
    row = session.execute(q).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no production order {number}")
    if lock:
        session.execute(select(ProductionMaterial).where(ProductionMaterial.order_id == row.id)
                        .execution_options(populate_existing=True)).scalars().all()
    return row


def change_steps(session: Session, number: str, requester: str) -> list[ChainStep]:
    """The approval chain of a change to the order asked by `requester`, by the order's value at standard cost;
    Invalid when nobody could approve it (the requester has no manager): the process then refuses the change."""
    row = order(session, number)
    item = session.get(Item, row.item_id)
    value = max(row.qty * (item.standard_cost if item else ZERO), Decimal("0.01"))
    return approvals.chain_for(session, "production_change", value, requester)


def state(row: ProductionOrder) -> rules.ProductionState:
    return rules.ProductionState(number=row.number, sku=row.sku, qty=row.qty, completed_qty=row.completed_qty,
                                 scrap_qty=row.scrap_qty, issue_method=row.issue_method,
                                 status=row.status, due_date=row.due_date, wait_reason=row.wait_reason)


# --- release and material issue -------------------------------------------------------------------------

def _issue(session: Session, row: ProductionOrder, m: ProductionMaterial, qty: Decimal, key: str) -> Decimal:
    """Issue `qty` of a component to the order at its moving average; raises Conflict beyond on hand."""
    entry = stock.move(session, m.sku, -qty, unit_cost=None, voucher_type="production_issue", voucher_no=row.number,
                       key=key, reason=f"{row.issue_method} issue to {row.number}")
    value = -entry.value_change
    m.issued_qty += qty
    m.issued_value += value
    return value


def _post_wip(session: Session, row: ProductionOrder, memo: str, material: Decimal, labour: Decimal,
              overhead: Decimal, key: str) -> None:
    row.material_cost += material
    row.labour_cost += labour
    row.overhead_cost += overhead
    row.wip_value += material + labour + overhead
    if material or labour or overhead:
        ledger.post(session, accounting.entry(memo, {accounting.WIP: material + labour + overhead},
                                              accounting.sum_by([(accounting.INVENTORY, material),
                                                                 (accounting.ACCRUED_WAGES, labour),
                                                                 (accounting.OVERHEAD_ABSORBED, overhead)])),
                    "production_order", row.number, key)


def try_release(session: Session, number: str, key: str) -> rules.ReleaseOutcome:
    """Release the order when its whole kit is free (on hand − reserved); a kitted order gets its kit issued
    now. Otherwise it waits, and says for what."""
    row = order(session, number, lock=True)
    if row.status != rules.ProductionStatus.WAITING_MATERIAL:
        return rules.ReleaseOutcome(status=row.status, wait_reason=row.wait_reason)
    short: dict[str, Decimal] = {}
    for m in sorted(row.materials, key=lambda x: x.sku):  # one lock order for every order
        bal = stock.locked_balance(session, m.item_id)
        missing = (m.required_qty - m.issued_qty) - (bal.on_hand - bal.reserved)
        if missing > 0:
            short[m.sku] = missing
    if short:
        reason = rules.shortage_reason(short)
        if reason != row.wait_reason:
            row.wait_reason = reason
            processes.advance(session, row.process_id, "waiting for material", detail=reason[:300])
        session.flush()
        return rules.ReleaseOutcome(status=row.status, wait_reason=reason)
    if row.issue_method == "kitted":
        material = sum((_issue(session, row, m, m.required_qty - m.issued_qty, f"{key}:{m.sku}")
                        for m in sorted(row.materials, key=lambda x: x.sku) if m.required_qty > m.issued_qty), ZERO)
        _post_wip(session, row, f"Kit issued to {row.number}", material, ZERO, ZERO, f"{key}:wip")
    row.status, row.wait_reason, row.released_at = rules.ProductionStatus.RELEASED, "", utcnow()
    processes.advance(session, row.process_id, "in production",
                      detail="kit issued" if row.issue_method == "kitted" else "kit on hand; backflushed as made")
    session.flush()
    return rules.ReleaseOutcome(status=row.status, wait_reason="")


def report_progress(session: Session, number: str, p: rules.ProgressIn, *, actor: str, key: str
                    ) -> rules.ProductionState:
    """One progress report, once per key: backflush of what was made, labour and overhead into work in
    progress, finished goods into stock at actual cost. Refused whole (Conflict) beyond the order quantity or
    beyond the components on hand."""

    def effect() -> dict[str, Any]:
        row = order(session, number, lock=True)
        # The bounds of a report (check_bounds) were applied where it was taken (the process's validator and
        # handler): a report the process took is not refused here (one taken before the bounds may be retried).
        after = rules.check_progress(state(row), p, bounded=False)
        made_before, made_now = row.completed_qty + row.scrap_qty, p.completed_qty + p.scrap_qty
        material = ZERO
        if row.issue_method == "backflush" and made_now:
            for m in sorted(row.materials, key=lambda x: x.sku):
                q = rules.consumption(BomLine(m.sku, m.per_unit, m.scrap_pct), made_before, made_now)
                if q > 0:
                    material += _issue(session, row, m, q, f"{key}:{m.sku}")
        labour = rules.posted_cost(p.labour_hours, row.labour_rate)
        overhead = rules.posted_cost(p.labour_hours, row.overhead_rate)
        row.labour_hours += p.labour_hours
        _post_wip(session, row, f"Progress on {row.number}", material, labour, overhead, f"{key}:wip")
        quarantined: list[str] = []
        if p.completed_qty:
            share = rules.receipt_value(row.wip_value, p.completed_qty, row.qty - row.completed_qty)
            if stock.item_by_sku(session, row.sku).inspect_final:  # into quarantine until a final inspection
                lot = quarantine.take_in(session, row.sku, p.completed_qty, value=share, source="production",
                                         source_document=row.number, order_number=row.number,
                                         voucher_type="production_receipt", key=f"{key}:fg", actor=actor)
                value, quarantined = lot.value, [lot.number]
            else:
                value = stock.move(session, row.sku, p.completed_qty, unit_cost=None, value=share,
                                   voucher_type="production_receipt", voucher_no=row.number, key=f"{key}:fg",
                                   reason=f"finished goods of {row.number}", actor=actor).value_change
            # what stock took in, posted as it is: inventory = stock valuation
            row.wip_value -= value
            row.received_value += value
            if value:
                ledger.post(session, accounting.entry(f"Finished goods from {row.number}",
                                                      {accounting.INVENTORY: value}, {accounting.WIP: value}),
                            "production_receipt", row.number, f"{key}:receipt")
        if p.scrap_qty:  # by reason (issue 20): what the shop floor scrapped, and why
            session.add(ScrapReport(order_id=row.id, sku=row.sku, qty=p.scrap_qty, reason=p.scrap_reason,
                                    reported_by=actor, idempotency_key=f"{key}:scrap"))
        row.completed_qty, row.scrap_qty, row.status = after.completed_qty, after.scrap_qty, after.status
        done = after.status == rules.ProductionStatus.COMPLETED
        if done:
            row.completed_at = utcnow()
        processes.advance(session, row.process_id, "completed" if done else "in production",
                          detail=f"{after.completed_qty.normalize():f} of {row.qty.normalize():f} made",
                          close=done, status=ProcessStatus.COMPLETED if done else None)
        session.flush()
        return (after.model_copy(update={"quarantined": quarantined}) if quarantined else after).model_dump(mode="json")

    return rules.ProductionState.model_validate(common.once(session, key, effect))  # a retry: the stored dict


def apply_change(session: Session, number: str, change: rules.ChangeIn, key: str) -> rules.ProductionState:
    """An approved change request: the new quantity (materials re-planned) and/or due date, once per key."""

    def effect() -> dict[str, Any]:
        row = order(session, number, lock=True)
        rules.check_change(state(row), change)
        parts = []
        if change.qty is not None and change.qty != row.qty:
            parts.append(f"quantity {row.qty.normalize():f} → {change.qty.normalize():f}")
            row.qty = change.qty
            for m in row.materials:
                m.required_qty = need(change.qty, BomLine(m.sku, m.per_unit, m.scrap_pct))
        if change.due_date is not None and change.due_date != row.due_date:
            parts.append(f"due {row.due_date} → {change.due_date}")
            row.due_date = change.due_date
        processes.note(session, row.process_id, "change applied", "; ".join(parts) + f" ({change.reason})")
        session.flush()
        return state(row).model_dump(mode="json")

    return rules.ProductionState.model_validate(common.once(session, key, effect))  # a retry: the stored dict


def mark_late(session: Session, number: str) -> rules.LateNotice:
    """The order passed its due date unfinished: a notice on it and on its sales order (进度分享)."""
    row = order(session, number)
    text = (f"{row.number} ({row.sku}) is late: due {row.due_date}, {row.completed_qty.normalize():f} of "
            f"{row.qty.normalize():f} made" + (f"; {row.wait_reason}" if row.wait_reason else ""))
    row.notice = text[:500]
    owner = None
    if row.sales_order_number:
        so = sales_service.order(session, row.sales_order_number)
        so.notice = text[:500]
        owner = so.owner
        processes.note(session, so.process_id, "production late", text[:300])
    processes.note(session, row.process_id, "late", text[:300])
    session.flush()
    return rules.LateNotice(notice=text, salesperson=owner)


def clear_late(session: Session, number: str) -> None:
    row = order(session, number)
    row.notice = ""
    if row.sales_order_number:
        so = sales_service.order(session, row.sales_order_number)
        if so.notice.startswith(row.number):
            so.notice = ""
    session.flush()


# --- delivery: revenue, cost and margin -----------------------------------------------------------------

def deliver(session: Session, so_number: str, *, actor: str, key: str,
            lines: list[delivery.DeliveryLineIn] | None = None, on: date | None = None,
            id_prefix: str = "") -> rules.Delivered:
    """One delivery of a sales order, once per key, in one transaction: the lines named (None: everything still to
    deliver) leave stock at moving average (their reservations released), a numbered delivery note records them,
    cost of goods sold is posted, and the customer's invoice for them is issued and posted (receivable against
    revenue and tax: domain.cash.services.issue); the order's revenue, cost and margin grow by the delivery's and
    it completes once every line is delivered. Refused whole (nothing stored) beyond what is left or reserved."""

    def effect() -> dict[str, Any]:
        so = session.execute(select(SalesOrder).where(SalesOrder.number == so_number).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one_or_none()
        if so is None:
            raise NotFound(f"no sales order {so_number}")
        if so.status != SalesOrderStatus.IN_FULFILMENT:
            raise Conflict(f"sales order {so_number} is {so.status}; only an order in fulfilment can be delivered")
        day = on or utcnow().date()
        state = [delivery.LineState(sku=ln.sku, qty=ln.qty, net=ln.net, delivered_qty=ln.delivered_qty,
                                    reserved_qty=ln.reserved_qty) for ln in so.lines]
        takes = delivery.plan_delivery(so_number, state, lines)
        last = delivery.completes(state, takes)
        order_net = sum((ln.net for ln in so.lines), ZERO)
        order_tax = max(so.total - order_net, ZERO)
        taxed_before = _taxed(session, so_number)
        note = DeliveryNote(number=common.next_number(session, "DEL"), sales_order_number=so.number,
                            delivered_by=actor, delivered_on=day, idempotency_key=f"{key}:note")
        by_sku = {ln.sku: ln for ln in so.lines}
        cogs, revenue = ZERO, ZERO
        for t in sorted(takes, key=lambda x: x.sku):  # one lock order for every order
            ln = by_sku[t.sku]
            stock.release(session, ln.sku, min(t.qty, ln.reserved_qty))
            entry = stock.move(session, ln.sku, -t.qty, unit_cost=None, voucher_type="delivery",
                               voucher_no=so.number, key=f"{key}:{ln.sku}",
                               reason=f"delivery {note.number} of {so.number}", actor=actor)
            ln.reserved_qty = max(ln.reserved_qty - t.qty, ZERO)
            ln.delivered_qty += t.qty
            cost = -entry.value_change
            cogs += cost
            revenue += t.net
            note.lines.append(DeliveryNoteLine(sku=t.sku, qty=t.qty, unit_price=t.unit_price, net=t.net, cost=cost))
        tax = delivery.tax_share(order_tax, order_net, revenue, taxed_before, last)
        note.revenue, note.cost = revenue, cogs
        session.add(note)
        session.flush()
        if cogs:
            ledger.post(session, accounting.entry(f"Cost of goods sold, {so.number} ({note.number})",
                                                  {accounting.COGS: cogs}, {accounting.INVENTORY: cogs}),
                        "delivery", so.number, f"{key}:cogs", on=day)
        inv, touched = None, []
        if revenue + tax > 0:  # goods given away free have nothing to invoice
            inv = cash.issue(session, kind=InvoiceKind.CUSTOMER, party_id=so.customer_id,
                             lines=[cash.LineIn(sku=t.sku, qty=t.qty, unit_price=t.unit_price, net=t.net)
                                    for t in takes],
                             tax=tax, issued_on=day, currency=so.currency, key=f"{key}:invoice", process_id="",
                             owner=so.owner, created_by=actor, sales_order_number=so.number,
                             delivery_note_number=note.number)
            inv.process_id = ids.invoice(inv.number, id_prefix)
            note.invoice_number = inv.number
            processes.start(session, inv.process_id, "customer_invoice", inv.number,
                            title=f"Invoice {inv.number} of {so.number}", owner=so.owner, amount=inv.total,
                            first_step="collecting", customer=inv.party_name, parent_id=so.process_id)
            credited = session.get(IdempotencyRecord, f"credit:{inv.number}")  # post_invoice's apply_credit
            touched = [n for n in (credited.result if credited is not None else []) if n != inv.number]
            if touched:
                touched = list(session.execute(select(Invoice.process_id).where(Invoice.number.in_(touched)))
                               .scalars())
        _order_costs(session, so, revenue, cogs)
        if last:
            so.status, so.delivered_at, so.notice = SalesOrderStatus.COMPLETED, utcnow(), ""
        session.flush()
        return rules.Delivered(revenue=revenue, cost=cogs, margin=revenue - cogs, note=note.number,
                               invoice=inv.number if inv else None, invoice_process_id=inv.process_id if inv else None,
                               tax=tax, total=inv.total if inv else ZERO, currency=so.currency,
                               due_on=inv.due_on if inv else None, customer=inv.party_name if inv else "",
                               owner=so.owner, completed=last, touched=touched).model_dump(mode="json")

    return rules.Delivered.model_validate(common.once(session, key, effect))  # a retry: the stored dict


def _taxed(session: Session, so_number: str) -> Decimal:
    """The tax invoiced so far on the order's deliveries."""
    return Decimal(session.execute(select(func.coalesce(func.sum(Invoice.tax), 0)).where(
        Invoice.sales_order_number == so_number, Invoice.kind == InvoiceKind.CUSTOMER,
        Invoice.credit_note.is_(False), Invoice.delivery_note_number.is_not(None))).scalar_one())


def _order_costs(session: Session, so: SalesOrder, revenue: Decimal, cogs: Decimal) -> None:
    """The order's revenue and cost grow by a delivery's; labour and overhead are what its completed production
    orders spent, never more than the goods cost (goods partly from older stock)."""
    so.revenue = (so.revenue or ZERO) + revenue
    so.cost_total = (so.cost_total or ZERO) + cogs
    labour, overhead = session.execute(
        select(func.coalesce(func.sum(ProductionOrder.labour_cost), 0),
               func.coalesce(func.sum(ProductionOrder.overhead_cost), 0))
        .where(ProductionOrder.sales_order_number == so.number,
               ProductionOrder.status == rules.ProductionStatus.COMPLETED)).one()
    labour, overhead = Decimal(labour), Decimal(overhead)
    if labour + overhead > so.cost_total:
        labour = overhead = ZERO
    so.cost_labour, so.cost_overhead, so.cost_material = labour, overhead, so.cost_total - labour - overhead
    so.margin = so.revenue - so.cost_total


# --- views ------------------------------------------------------------------------------------------------

def _materials(row: ProductionOrder) -> list[rules.MaterialUse]:
    return [rules.MaterialUse(sku=m.sku, per_unit=m.per_unit, scrap_pct=m.scrap_pct, issued_qty=m.issued_qty,
                              issued_value=m.issued_value, standard_cost=m.standard_cost) for m in row.materials]


def view(session: Session, row: ProductionOrder) -> dict[str, Any]:
    std_material = sum((need(row.qty, BomLine(m.sku, m.per_unit, m.scrap_pct)) * m.standard_cost
                        for m in row.materials), ZERO)
    std_labour = rules.round_cost(row.std_labour_hours * row.qty * row.labour_rate)
    std_overhead = rules.round_cost(row.std_labour_hours * row.qty * row.overhead_rate)
    return {
        "id": row.number, "production_order_id": row.number, "sku": row.sku, "qty": row.qty,
        "completed_qty": row.completed_qty, "scrap_qty": row.scrap_qty, "issue_method": row.issue_method,
        "status": row.status, "wait_reason": row.wait_reason, "sales_order_id": row.sales_order_number,
        "pegged_to": [x for x in row.pegged_to.split(", ") if x], "release_date": row.release_date,
        "due_date": row.due_date, "planner": row.planner, "process_id": row.process_id, "notice": row.notice,
        "labour_hours": row.labour_hours, "std_labour_hours_per_unit": row.std_labour_hours,
        "labour_rate": row.labour_rate, "overhead_rate": row.overhead_rate,
        "created_at": row.created_at, "released_at": row.released_at, "completed_at": row.completed_at,
        "materials": [{"sku": m.sku, "per_unit": m.per_unit, "scrap_pct": m.scrap_pct, "required": m.required_qty,
                       "issued": m.issued_qty, "issued_value": m.issued_value,
                       "standard_cost": m.standard_cost} for m in row.materials],
        "cost": {"material": row.material_cost, "labour": row.labour_cost, "overhead": row.overhead_cost,
                 "total": row.material_cost + row.labour_cost + row.overhead_cost, "in_wip": row.wip_value,
                 "received": row.received_value,
                 "unit": (row.received_value / row.completed_qty).quantize(rules.CENT4) if row.completed_qty else None},
        "standard_cost": {"material": rules.round_cost(std_material), "labour": std_labour, "overhead": std_overhead,
                          "total": rules.round_cost(std_material) + std_labour + std_overhead},
        "variances": rules.variances(_materials(row), row.completed_qty, row.labour_hours, row.std_labour_hours,
                                     row.labour_rate, row.overhead_rate),
    }


def views(session: Session, *, limit: int = 50, offset: int = 0, status: str | None = None,
          sales_order: str | None = None) -> list[dict[str, Any]]:
    q = select(ProductionOrder).order_by(ProductionOrder.id.desc()).limit(limit).offset(offset)
    if status:
        q = q.where(ProductionOrder.status == status)
    if sales_order:
        q = q.where(ProductionOrder.sales_order_number == sales_order)
    return [summary(r) for r in session.execute(q).scalars()]


def summary(row: ProductionOrder) -> dict[str, Any]:
    return {"id": row.number, "production_order_id": row.number, "sku": row.sku, "qty": row.qty,
            "completed_qty": row.completed_qty, "scrap_qty": row.scrap_qty, "issue_method": row.issue_method,
            "status": row.status, "wait_reason": row.wait_reason, "sales_order_id": row.sales_order_number,
            "due_date": row.due_date, "notice": row.notice, "process_id": row.process_id}


def supply_ordered(session: Session, so_number: str) -> bool:
    """Has supply been ordered for the sales order (production orders or purchase requisitions made for it)? Its
    process no longer takes a cancel from then on."""
    made = select(ProductionOrder.id).where(ProductionOrder.sales_order_number == so_number).limit(1)
    bought = select(PurchaseRequisition.id).where(PurchaseRequisition.sales_order_number == so_number).limit(1)
    return session.execute(made).first() is not None or session.execute(bought).first() is not None


def for_sales_order(session: Session, so_number: str, viewer: access.Viewer | None = None) -> dict[str, Any]:
    """What the sales order's page shows of its supply: to whoever may see the order, how its supply stands.
    A requisition's money (its total) only to those who may open it (purchase_access.purchases_visible_to, the rule
    of GET /api/purchase-requisitions/{id}); `viewer` None: all of it."""
    mos = session.execute(select(ProductionOrder).where(ProductionOrder.sales_order_number == so_number)
                          .order_by(ProductionOrder.id)).scalars().all()
    reqs = session.execute(select(PurchaseRequisition).where(PurchaseRequisition.sales_order_number == so_number)
                           .order_by(PurchaseRequisition.id)).scalars().all()
    priced = {r.id for r in reqs}
    if viewer is not None and (visible := purchase_access.purchases_visible_to(*viewer)) is not None and reqs:
        priced = set(session.execute(select(PurchaseRequisition.id).where(
            PurchaseRequisition.id.in_([r.id for r in reqs]), visible)).scalars())
    po_ids = [r.purchase_order_id for r in reqs if r.purchase_order_id]
    pos = {p.id: p for p in session.execute(select(PurchaseOrder).where(PurchaseOrder.id.in_(po_ids))).scalars()}
    return {
        "production_orders": [summary(r) for r in mos],
        "purchase_orders": [{"requisition_id": r.number, "status": r.status,
                             "total": r.total if r.id in priced else None,
                             "purchase_order_id": pos[r.purchase_order_id].number if r.purchase_order_id else None,
                             "purchase_order_status": pos[r.purchase_order_id].status if r.purchase_order_id else None,
                             "process_id": r.process_id} for r in reqs],
    }


def sales_order_view(session: Session, row: SalesOrder, viewer: access.Viewer | None = None) -> dict[str, Any]:
    """The sales order as its page shows it, with how its supply stands (for_sales_order): composed here,
    above both, so the sales service need not know production (`viewer` as for_sales_order)."""
    return {**sales_service.order_view(session, row, supply=for_sales_order(session, row.number, viewer)),
            **deliveries.of_order(session, row.number)}
