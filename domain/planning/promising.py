"""Capable-to-promise over the database: load what the lines reach (their items, the BOMs below them level by
level, the stock, open supply and open demand of those items only: a promise on a 10,000-item company reads a
few hundred), then domain/planning/promise.py answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from domain.core.errors import Invalid
from domain.inventory.tables import Item, StockBalance
from domain.manufacturing.bom import Bom, BomLine
from domain.manufacturing.tables import BomLineRow, BomRow
from domain.planning.mrp import Demand, ScheduledReceipt
from domain.planning.promise import CapacityLike, LinePromise, PromiseItem, Promiser
from domain.production import rules as production_rules
from domain.production.tables import ProductionMaterial, ProductionOrder
from domain.purchasing import rules as purchasing_rules
from domain.purchasing.tables import PurchaseOrder, PurchaseOrderLine
from domain.sales.rules import SalesOrderStatus
from domain.sales.tables import SalesOrder, SalesOrderLine

MAX_LINES = 200
OPEN_SALES = (SalesOrderStatus.OPEN, SalesOrderStatus.IN_FULFILMENT, SalesOrderStatus.PENDING_CREDIT)
# Where the work centres' load comes from, for items with a routing (the capacity part sets it; None: lead times).
CapacitySource = Callable[[Session, date], CapacityLike | None]
capacity_source: CapacitySource | None = None


def _reached(session: Session, skus: Sequence[str]) -> tuple[dict[str, PromiseItem], dict[str, Bom]]:
    """The items of `skus` and every item their BOMs reach, with those BOMs: one query per BOM level."""
    items: dict[str, PromiseItem] = {}
    boms: dict[str, Bom] = {}
    frontier = list(dict.fromkeys(skus))
    component = aliased(Item)
    while frontier:
        rows = session.execute(select(Item.id, Item.sku, Item.kind, Item.lead_time_days)
                               .where(Item.sku.in_(frontier))).all()
        ids = {}
        for r in rows:
            items[r.sku] = PromiseItem(r.sku, "manufactured" if r.kind == "manufactured" else "purchased",
                                       r.lead_time_days)
            if r.kind == "manufactured":
                ids[r.id] = r.sku
        lines: dict[str, list[BomLine]] = {}
        if ids:
            for ln in session.execute(
                    select(BomRow.item_id, component.sku, BomLineRow.qty, BomLineRow.scrap_pct)
                    .join(BomLineRow, BomLineRow.bom_id == BomRow.id)
                    .join(component, component.id == BomLineRow.component_item_id)
                    .where(BomRow.item_id.in_(ids)).order_by(BomRow.item_id, BomLineRow.position)):
                lines.setdefault(ids[ln.item_id], []).append(BomLine(ln.sku, ln.qty, ln.scrap_pct))
        for sku, ls in lines.items():
            boms[sku] = Bom(item=sku, lines=tuple(ls))
        frontier = sorted({bl.component for ls in lines.values() for bl in ls} - items.keys())
    return items, boms


def _stock(session: Session, skus: list[str]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    rows = session.execute(select(Item.sku, StockBalance.on_hand, StockBalance.reserved)
                           .join(StockBalance, StockBalance.item_id == Item.id).where(Item.sku.in_(skus))).all()
    return {r.sku: r.on_hand for r in rows}, {r.sku: r.reserved for r in rows}


def _receipts(session: Session, skus: list[str], today: date) -> list[ScheduledReceipt]:
    """Open supply of the items: purchase order lines not yet received, production orders not yet finished."""
    out = [ScheduledReceipt(r.sku, r.qty - r.received_qty, r.expected_date or today, r.number)
           for r in session.execute(
               select(PurchaseOrderLine.sku, PurchaseOrderLine.qty, PurchaseOrderLine.received_qty,
                      PurchaseOrder.expected_date, PurchaseOrder.number)
               .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.po_id)
               .where(PurchaseOrder.status.in_(purchasing_rules.OPEN_ORDER_STATUSES),
                      PurchaseOrderLine.sku.in_(skus)))
           if r.qty > r.received_qty]
    out += [ScheduledReceipt(r.sku, r.qty - r.completed_qty, r.due_date, r.number)
            for r in session.execute(
                select(ProductionOrder.sku, ProductionOrder.qty, ProductionOrder.completed_qty,
                       ProductionOrder.due_date, ProductionOrder.number)
                .where(ProductionOrder.status.in_(production_rules.OPEN_STATUSES), ProductionOrder.sku.in_(skus)))
            if r.qty > r.completed_qty]
    return out


def _demand(session: Session, skus: list[str], today: date) -> list[Demand]:
    """Open demand on the items: what open sales orders still need beyond their reservations (due on their
    requested date; none: today), and what open production orders still need of their materials (due at release)."""
    out = [Demand(r.sku, r.qty - r.delivered_qty - r.reserved_qty, r.requested_date or today, r.number)
           for r in session.execute(
               select(SalesOrder.number, SalesOrder.requested_date, SalesOrderLine.sku, SalesOrderLine.qty,
                      SalesOrderLine.delivered_qty, SalesOrderLine.reserved_qty)
               .join(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
               .where(SalesOrder.status.in_(OPEN_SALES), SalesOrderLine.sku.in_(skus)))
           if r.qty - r.delivered_qty > r.reserved_qty]
    out += [Demand(r.sku, r.required_qty - r.issued_qty, r.release_date, r.number)
            for r in session.execute(
                select(ProductionOrder.number, ProductionOrder.release_date, ProductionMaterial.sku,
                       ProductionMaterial.required_qty, ProductionMaterial.issued_qty)
                .join(ProductionMaterial, ProductionMaterial.order_id == ProductionOrder.id)
                .where(ProductionOrder.status.in_(production_rules.OPEN_STATUSES), ProductionMaterial.sku.in_(skus)))
            if r.required_qty > r.issued_qty]
    return out


def check_lines(lines: Sequence[tuple[str, Decimal]]) -> None:
    if not lines:
        raise Invalid("a promise needs at least one line")
    if len(lines) > MAX_LINES:
        raise Invalid(f"a promise takes at most {MAX_LINES} lines")
    for i, (sku, qty) in enumerate(lines, 1):
        if not qty > 0:
            raise Invalid(f"line {i}: the quantity of {sku} must be above zero")


def promise(session: Session, lines: Sequence[tuple[str, Decimal]], *, as_of: date, requested: date | None = None
            ) -> list[LinePromise]:
    """The earliest day each line can ship, each taking its share before the next (domain/planning/promise.py).
    Refused (Invalid, naming the line): an unknown or deactivated SKU, a quantity that is not above zero."""
    check_lines(lines)
    known = {r.sku: r.active for r in session.execute(select(Item.sku, Item.active).where(
        Item.sku.in_({sku for sku, _ in lines})))}
    for i, (sku, _) in enumerate(lines, 1):
        if sku not in known:
            raise Invalid(f"line {i}: there is no item {sku}")
        if not known[sku]:
            raise Invalid(f"line {i}: {sku} is deactivated; nothing new is promised of it")
    items, boms = _reached(session, [sku for sku, _ in lines])
    skus = sorted(items)
    on_hand, reserved = _stock(session, skus)
    capacity = capacity_source(session, as_of) if capacity_source is not None else None
    return Promiser(items=items, boms=boms, on_hand=on_hand, reserved=reserved,
                    receipts=_receipts(session, skus, as_of), demand=_demand(session, skus, as_of), as_of=as_of,
                    capacity=capacity).promise(lines, requested)


def line_view(p: LinePromise) -> dict[str, Any]:
    out: dict[str, Any] = {"sku": p.sku, "qty": p.qty, "promise_date": p.promise_date, "basis": p.basis,
                           "constrained_by": p.constrained_by, "constraint": p.constraint.as_dict()}
    if p.late is not None:
        out["late"] = p.late
    return out


def view(promises: Sequence[LinePromise], requested: date | None) -> dict[str, Any]:
    out: dict[str, Any] = {"lines": [line_view(p) for p in promises]}
    if requested is not None:
        out["requested_date"] = requested
        out["late"] = any(p.late for p in promises)
    out["promise_date"] = max(p.promise_date for p in promises) if promises else None
    return out
