"""Capable-to-promise over the database: load what the lines reach (their items, the BOMs below them level by
level, the stock, open supply and open demand of those items only: a promise on a 10,000-item company reads a
few hundred), then domain/planning/promise.py answers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import Session

from domain.core import collector
from domain.core.errors import Invalid
from domain.core.types import Amount
from domain.inventory.tables import Item, StockBalance
from domain.manufacturing import boms as bom_service
from domain.manufacturing.tables import BomLineRow, BomRow
from domain.planning.mrp import Demand, ScheduledReceipt
from domain.planning.promise import CapacityLike, LinePromise, PromiseItem, Promiser, Structure
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


# Items and BOMs change seldom and a promise walks thousands of them: the structure is kept per process while the
# master data's fingerprint (items: count, kinds, lead times, each weighted by the item's id; BOMs: count,
# revisions, newest line) stays the same.
_kept: tuple[tuple[Any, ...], Structure, dict[str, int]] | None = None
_keeping = threading.Lock()


def _fingerprint(session: Session) -> tuple[Any, ...]:
    """What changes when an item is added or its kind or lead time changes, or a BOM is added or replaced (its
    revision counts up; its new lines have new ids): one statement."""
    made = func.sum(case((Item.kind == "manufactured", Item.id), else_=0))
    one = session.execute(select(
        select(func.count(Item.id)).scalar_subquery(), select(func.max(Item.id)).scalar_subquery(),
        select(func.sum(Item.lead_time_days * Item.id)).scalar_subquery(), select(made).scalar_subquery(),
        select(func.count(BomRow.id)).scalar_subquery(), select(func.sum(BomRow.revision)).scalar_subquery(),
        select(func.max(BomLineRow.id)).scalar_subquery())).one()
    return tuple(one)


def structure(session: Session) -> tuple[Structure, dict[str, int]]:
    """Every item and BOM as promise walks them, and each item's id: loaded again only when the fingerprint moved."""
    global _kept
    key = _fingerprint(session)
    kept = _kept
    if kept is not None and kept[0] == key:
        return kept[1], kept[2]
    with _keeping:
        rows = session.execute(select(Item.id, Item.sku, Item.kind, Item.lead_time_days)).all()
        items = {r.sku: PromiseItem(r.sku, "manufactured" if r.kind == "manufactured" else "purchased",
                                    r.lead_time_days) for r in rows}
        ids = {r.sku: r.id for r in rows}
        built = Structure(items, bom_service.load_all(session))
        _kept = (key, built, ids)
    return built, ids


def _stock(session: Session, ids: dict[str, int], skus: list[str]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    sku_of = {ids[s]: s for s in skus if s in ids}
    rows = session.execute(select(StockBalance.item_id, StockBalance.on_hand, StockBalance.reserved)
                           .where(StockBalance.item_id.in_(sku_of), StockBalance.on_hand != 0)).all()
    return {sku_of[r.item_id]: r.on_hand for r in rows}, {sku_of[r.item_id]: r.reserved for r in rows if r.reserved}


def _receipts(session: Session, skus: set[str], today: date) -> list[ScheduledReceipt]:
    """Open supply of the items: purchase order lines not yet received, production orders not yet finished. (All
    the open ones are read, what is left to come computed in SQL, and those of other items dropped.)"""
    po_left = type_coerce(PurchaseOrderLine.qty - PurchaseOrderLine.received_qty, Amount).label("left")
    out = [ScheduledReceipt(r.sku, r.left, r.expected_date or today, r.number)
           for r in session.execute(
               select(PurchaseOrderLine.sku, po_left, PurchaseOrder.expected_date, PurchaseOrder.number)
               .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.po_id)
               .where(PurchaseOrder.status.in_(purchasing_rules.OPEN_ORDER_STATUSES),
                      PurchaseOrderLine.qty > PurchaseOrderLine.received_qty))
           if r.sku in skus]
    mo_left = type_coerce(ProductionOrder.qty - ProductionOrder.completed_qty, Amount).label("left")
    out += [ScheduledReceipt(r.sku, r.left, r.due_date, r.number)
            for r in session.execute(
                select(ProductionOrder.sku, mo_left, ProductionOrder.due_date, ProductionOrder.number)
                .where(ProductionOrder.status.in_(production_rules.OPEN_STATUSES),
                       ProductionOrder.qty > ProductionOrder.completed_qty))
            if r.sku in skus]
    return out


def _demand(session: Session, skus: set[str], today: date) -> list[Demand]:
    """Open demand on the items: what open sales orders still need beyond their reservations (due on their
    requested date; none: today), and what open production orders still need of their materials (due at release)."""
    so_left = SalesOrderLine.qty - SalesOrderLine.delivered_qty - SalesOrderLine.reserved_qty
    out = [Demand(r.sku, r.left, r.requested_date or today, r.number)
           for r in session.execute(
               select(SalesOrder.number, SalesOrder.requested_date, SalesOrderLine.sku,
                      type_coerce(so_left, Amount).label("left"))
               .join(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
               .where(SalesOrder.status.in_(OPEN_SALES), so_left > 0))
           if r.sku in skus]
    mat_left = ProductionMaterial.required_qty - ProductionMaterial.issued_qty
    out += [Demand(r.sku, r.left, r.release_date, r.number)
            for r in session.execute(
                select(ProductionOrder.number, ProductionOrder.release_date, ProductionMaterial.sku,
                       type_coerce(mat_left, Amount).label("left"))
                .join(ProductionMaterial, ProductionMaterial.order_id == ProductionOrder.id)
                .where(ProductionOrder.status.in_(production_rules.OPEN_STATUSES), mat_left > 0))
            if r.sku in skus]
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
    # A request makes tens of thousands of small objects that all live until it answers: the cyclic collector
    # would walk them (and the kept structure) again and again and free none, as in MRP. It runs again after.
    with collector.paused():
        shape, ids = structure(session)
        reached = sorted({s for sku, _ in lines for s in shape.reachable(sku)})
        on_hand, reserved = _stock(session, ids, reached)
        wanted = set(reached)
        capacity = capacity_source(session, as_of) if capacity_source is not None else None
        return Promiser(items=shape.items, boms={}, on_hand=on_hand, reserved=reserved,
                        receipts=_receipts(session, wanted, as_of), demand=_demand(session, wanted, as_of),
                        as_of=as_of, capacity=capacity, structure=shape).promise(lines, requested)


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
