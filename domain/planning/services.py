"""Kitting and MRP over the database: load the company into planning's pure types, run, store the run; turn a
run's planned orders into production orders and purchase requisitions; name who waits for supply."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.approvals import services as approvals
from domain.core import records as common
from domain.core.errors import Conflict, Invalid
from domain.inventory import stock, uoms
from domain.inventory.tables import Item, StockBalance
from domain.inventory.units import whole_lots
from domain.manufacturing import boms as bom_service
from domain.planning import capacity_data, forecasts
from domain.planning.kitting import KitOrder, OrderLine, StockLevel, kitting
from domain.planning.mrp import Demand, ItemPlan, MrpResult, ScheduledReceipt, run_mrp
from domain.planning.tables import MrpRun
from domain.production import rules as production_rules
from domain.production.making import new_order
from domain.production.rules import ProductionStatus
from domain.production.tables import ProductionMaterial, ProductionOrder
from domain.purchasing import rules as purchasing_rules
from domain.purchasing.tables import PurchaseOrder, PurchaseOrderLine
from domain.sales import services as sales_service
from domain.sales.rules import SalesOrderStatus
from domain.sales.tables import SalesOrder, SalesOrderLine

OPEN_ORDER_STATUSES = (SalesOrderStatus.OPEN, SalesOrderStatus.IN_FULFILMENT)
ZERO = Decimal(0)


# What an open order line still needs: its quantity less what partial deliveries took (labelled qty for the rows).
LEFT_TO_DELIVER = (SalesOrderLine.qty - SalesOrderLine.delivered_qty).label("qty")

def _items(session: Session) -> dict[str, ItemPlan]:
    """Every item as MRP sizes its lots. An item counted in whole units (ea, box) is planned in whole units: its
    minimum and multiple are raised to whole numbers (a multiple of at least 1), so no planned purchase or
    production order asks for 40.8 bolts that no receipt or progress report could ever complete."""
    whole = uoms.known(session)
    rows = session.execute(select(Item.sku, Item.kind, Item.lead_time_days, Item.safety_stock, Item.min_order_qty,
                                  Item.order_multiple, Item.uom)).all()
    return {r.sku: ItemPlan(r.sku, r.kind, r.lead_time_days, r.safety_stock,
                            *(whole_lots(r.min_order_qty, r.order_multiple) if whole.get(r.uom, False)
                              else (r.min_order_qty, r.order_multiple)))
            for r in rows}


def _stock(session: Session) -> dict[str, tuple[Decimal, Decimal]]:
    rows = session.execute(select(Item.sku, StockBalance.on_hand, StockBalance.reserved)
                           .join(StockBalance, StockBalance.item_id == Item.id)).all()
    return {r.sku: (r.on_hand, r.reserved) for r in rows}


def open_receipts(session: Session, today: date) -> list[ScheduledReceipt]:
    """Supply on its way: purchase order lines not yet received, production orders not yet finished."""
    out = [ScheduledReceipt(r.sku, r.qty - r.received_qty, r.expected_date or today, r.number)
           for r in session.execute(
               select(PurchaseOrderLine.sku, PurchaseOrderLine.qty, PurchaseOrderLine.received_qty,
                      PurchaseOrder.expected_date, PurchaseOrder.number)
               .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.po_id)
               .where(PurchaseOrder.status.in_(purchasing_rules.OPEN_ORDER_STATUSES)))
           if r.qty > r.received_qty]
    out += [ScheduledReceipt(r.sku, r.qty - r.completed_qty, r.due_date, r.number)
            for r in session.execute(
                select(ProductionOrder.sku, ProductionOrder.qty, ProductionOrder.completed_qty,
                       ProductionOrder.due_date, ProductionOrder.number)
                .where(ProductionOrder.status.in_(production_rules.OPEN_STATUSES)))
            if r.qty > r.completed_qty]
    return out


def production_demand(session: Session, today: date) -> list[Demand]:
    """What open production orders still need of their components (required − issued), due when they
    are released: demand MRP must net like any other, or two orders would count on the same stock."""
    rows = session.execute(
        select(ProductionOrder.number, ProductionOrder.release_date, ProductionMaterial.sku,
               ProductionMaterial.required_qty, ProductionMaterial.issued_qty)
        .join(ProductionMaterial, ProductionMaterial.order_id == ProductionOrder.id)
        .where(ProductionOrder.status.in_(production_rules.OPEN_STATUSES))).all()
    return [Demand(r.sku, r.required_qty - r.issued_qty, max(r.release_date, today), r.number)
            for r in rows if r.required_qty > r.issued_qty]


def cumulative_lead_times(session: Session) -> dict[str, int]:
    """The longest chain of lead times under each item (its own + its slowest component's, all the way
    down): how soon it can be ready when nothing is in stock."""
    items = {r.sku: r.lead_time_days for r in session.execute(select(Item.sku, Item.lead_time_days))}
    boms = bom_service.load_all(session)
    memo: dict[str, int] = {}

    def lead(sku: str) -> int:
        if sku not in memo:
            bom = boms.get(sku)
            memo[sku] = items.get(sku, 0) + (max((lead(ln.component) for ln in bom.lines), default=0) if bom else 0)
        return memo[sku]
    return {sku: lead(sku) for sku in items}


def open_demand(session: Session, today: date, only: str | None = None) -> list[Demand]:
    """What open sales orders still need (ordered − reserved for them), due on their requested date (none:
    as soon as it can be ready, today + the item's cumulative lead time)."""
    q = (select(SalesOrder.number, SalesOrder.requested_date, SalesOrderLine.sku, LEFT_TO_DELIVER,
                SalesOrderLine.reserved_qty)
         .join(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
         .where(SalesOrder.status.in_(OPEN_ORDER_STATUSES)))
    if only is not None:
        q = q.where(SalesOrder.number == only)
    rows = [r for r in session.execute(q) if r.qty > r.reserved_qty]
    leads = cumulative_lead_times(session) if any(r.requested_date is None for r in rows) else {}
    return [Demand(r.sku, r.qty - r.reserved_qty,
                   max(r.requested_date or today + timedelta(days=leads.get(r.sku, 0)), today), r.number)
            for r in rows]


def _planned_view(p: Any) -> dict[str, Any]:
    return {"sku": p.sku, "kind": p.kind, "qty": p.qty, "release_date": p.release_date, "due_date": p.due_date,
            "pegged_to": list(p.pegged_to)}


def _exception_view(e: Any) -> dict[str, Any]:
    return {"kind": e.kind, "sku": e.sku, "date": e.date, "qty": e.qty, "due_date": e.due_date, "days": e.days,
            "pegged_to": list(e.pegged_to), "reference": e.reference, "message": e.message}


def _jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return f"{v.normalize():f}" if v == v.to_integral() else f"{v:f}"
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def mrp(session: Session, *, as_of: date, demand: list[Demand] | None = None,
        receipts: list[ScheduledReceipt] | None = None) -> MrpResult:
    """One MRP run over the company as it stands (see mrp_inputs)."""
    return run_mrp(**mrp_inputs(session, as_of=as_of, demand=demand, receipts=receipts))


def mrp_inputs(session: Session, *, as_of: date, demand: list[Demand] | None = None,
               receipts: list[ScheduledReceipt] | None = None) -> dict[str, Any]:
    """run_mrp's keyword arguments for the company as it stands (demand: all open sales orders, open production orders' needs
    and what forecasts of this month on have left over orders (domain.planning.forecasts), unless given;
    receipts: open purchase and production orders unless given)."""
    boms = bom_service.load_all(session)
    receipts = open_receipts(session, as_of) if receipts is None else receipts
    if demand is None:
        demand = open_demand(session, as_of) + production_demand(session, as_of) + forecasts.forecast_demand(
            session, as_of)
    # A manufactured item nobody asks for and no BOM uses may lack a BOM (it is being set up): left out,
    # so it does not stop everyone's planning. Asked for, it is refused by name.
    used = set(boms) | {ln.component for b in boms.values() for ln in b.lines} | {d.sku for d in demand} | {
        r.sku for r in receipts}
    items = {k: v for k, v in _items(session).items() if v.kind == "purchased" or k in used}
    stock = {k: v for k, v in _stock(session).items() if k in items}
    return {"items": items, "boms": boms, "on_hand": {k: v[0] for k, v in stock.items()},
            "reserved": {k: v[1] for k, v in stock.items()}, "receipts": receipts, "demand": demand, "as_of": as_of}


def store_run(session: Session, result: MrpResult, *, as_of: date, scope: str, what_if: bool,
              actor: str) -> MrpRun:
    number = common.next_number(session, "MRP")
    # Each planned order's id is "<run>-<n>" (n: its 1-based position), stable as long as the run is stored.
    run = MrpRun(number=number, as_of=as_of, scope=scope, what_if=what_if,
                 created_by=actor, planned_count=len(result.planned_orders),
                 exception_count=len(result.exceptions),
                 result=_jsonable({"planned_orders": [{"id": planned_order_id(number, n), **_planned_view(p)}
                                                      for n, p in enumerate(result.planned_orders, 1)],
                                   "exceptions": [_exception_view(e) for e in result.exceptions]}))
    capacity_data.add_overloads(session, run)  # work centres loaded past their calendar's hours
    session.add(run)
    session.flush()
    return run


FULL_SCOPE = "all open orders and forecasts"  # a run over all demand: open sales and production orders, forecasts


def run_open_orders(session: Session, *, as_of: date, actor: str) -> MrpRun:
    """MRP over every open sales order against the company's stock and open supply, stored; nothing else
    changes (its planned orders are suggestions). The JSON route and the planning page both run this."""
    result = mrp(session, as_of=as_of)
    return store_run(session, result, as_of=as_of, scope=FULL_SCOPE, what_if=False, actor=actor)


def run_what_if(session: Session, *, as_of: date, demand: list[dict[str, Any]],
                receipts: list[dict[str, Any]] | None, actor: str) -> MrpRun:
    """A what-if run over explicit demand (and receipts, else the open supply), stored as such."""
    demand_, receipts_ = check_what_if(demand, receipts, as_of)
    result = mrp(session, as_of=as_of, demand=demand_, receipts=receipts_)
    return store_run(session, result, as_of=as_of, scope="what-if", what_if=True, actor=actor)


def planned_order_id(run_number: str, n: int) -> str:
    """A stored run's planned order's id: `MRP-00003-7` is the 7th planned order of run MRP-00003."""
    return f"{run_number}-{n}"


def run_view(run: MrpRun, released: dict[int, str | None] | None = None) -> dict[str, Any]:
    """The run as stored, each planned order with its id (runs stored before ids had none: formed from the
    position) and, when `released` (n → the production order or requisition it became, None while being made)
    is given, its `released_as`."""
    planned = [{**p, "id": planned_order_id(run.number, n)} for n, p in enumerate(run.result["planned_orders"], 1)]
    if released is not None:
        planned = [{**p, "released_as": released.get(n)} for n, p in enumerate(planned, 1)]
    return {"run_id": run.number, "as_of": run.as_of, "scope": run.scope, "what_if": run.what_if,
            "created_by": run.created_by, "created_at": run.created_at, "planned_count": run.planned_count,
            "exception_count": run.exception_count, **run.result, "planned_orders": planned}


def get_run(session: Session, number: str) -> MrpRun:
    return common.one(session, MrpRun, MrpRun.number == number, f"no MRP run {number}")


def runs(session: Session, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    rows = session.execute(select(MrpRun.number, MrpRun.as_of, MrpRun.scope, MrpRun.what_if, MrpRun.created_by,
                                  MrpRun.created_at, MrpRun.planned_count, MrpRun.exception_count)
                           .order_by(MrpRun.id.desc()).limit(limit).offset(offset)).all()
    return [{"run_id": r.number, "as_of": r.as_of, "scope": r.scope, "what_if": r.what_if,
             "created_by": r.created_by, "created_at": r.created_at, "planned_count": r.planned_count,
             "exception_count": r.exception_count} for r in rows]


def plan_for_order(session: Session, number: str, *, as_of: date, actor: str) -> MrpRun:
    """MRP for what one sales order still lacks: a regenerative run over all open demand (the other open
    orders and the open production orders' needs come first where they are due first, so this order does
    not count on supply that is theirs); create_supply takes only the planned orders pegged to it."""
    if not open_demand(session, as_of, only=number):
        raise Conflict(f"sales order {number} lacks nothing: there is nothing to plan")
    result = mrp(session, as_of=as_of)
    return store_run(session, result, as_of=as_of, scope=number, what_if=False, actor=actor)


# --- kitting ---------------------------------------------------------------------------------------------

def _kit_orders(session: Session, also: str | None = None) -> dict[str, KitOrder]:
    """Open sales orders (and `also`, whatever its status) as kitting's orders for what each still lacks
    (ordered − reserved), keyed by priority (requested date, then creation). Fully reserved orders are left out."""
    q = (select(SalesOrder.number, SalesOrder.requested_date, SalesOrder.created_at, SalesOrderLine.sku,
                LEFT_TO_DELIVER, SalesOrderLine.reserved_qty)
         .join(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id))
    open_ = SalesOrder.status.in_(OPEN_ORDER_STATUSES)
    rows = session.execute(q.where(open_ | (SalesOrder.number == also) if also else open_)).all()
    lines: dict[str, list[OrderLine]] = {}
    keys: dict[str, tuple[Any, ...]] = {}
    for r in rows:
        keys[r.number] = (r.requested_date or date.max, r.created_at)
        if r.qty > r.reserved_qty:
            lines.setdefault(r.number, []).append(OrderLine(r.sku, r.qty - r.reserved_qty))
    return {n: KitOrder(n, tuple(ls), keys[n]) for n, ls in lines.items()}


def _kit(session: Session, orders: dict[str, KitOrder], only: str | None = None) -> tuple[list[Any], dict[str, str]]:
    """Kitting of `orders` against the free stock, and every item's kind."""
    items: dict[str, str] = {r.sku: r.kind for r in session.execute(select(Item.sku, Item.kind))}
    stock = {sku: StockLevel(oh, rs) for sku, (oh, rs) in _stock(session).items()}
    return kitting(orders.values(), items, bom_service.load_all(session), stock, only=only), items


def order_kitting(session: Session, number: str) -> dict[str, Any]:
    """Kitting of one open sales order for what it still lacks (ordered − reserved), after the open orders
    ahead of it in priority (requested date, then creation) took the free stock they lack."""
    order = sales_service.order(session, number)
    reserved = {ln.sku: ln.reserved_qty for ln in order.lines}
    if order.status == SalesOrderStatus.CANCELLED:
        raise Conflict(f"sales order {number} is cancelled: there is nothing to kit")
    still_open = order.status in OPEN_ORDER_STATUSES or order.status == SalesOrderStatus.PENDING_CREDIT
    orders = _kit_orders(session, also=number) if still_open else {}
    if number not in orders:  # delivered, or everything it orders is reserved for it: nothing left to kit
        return {"sales_order_id": number, "status": order.status, "complete": True,
                "max_buildable": order.lines[0].qty if len(order.lines) == 1 else None, "products": [],
                "lines": [{"sku": ln.sku, "kind": "ordered", "ordered": True, "required": ZERO,
                           "reserved": ln.reserved_qty if still_open else ZERO, "available": ZERO,
                           "allocated": ZERO, "shortage": ZERO, "to_build": ZERO} for ln in order.lines]}
    kits, items = _kit(session, orders, only=number)
    kit = kits[0]
    products = [{"sku": p.sku, "qty": p.qty, "reserved": reserved.get(p.sku, ZERO),
                 "max_buildable": p.max_buildable + reserved.get(p.sku, ZERO)} for p in kit.products]
    max_buildable = products[0]["max_buildable"] if len(order.lines) == 1 and products else None
    # Every item the order reaches (kitting lists them all): the ordered items first, then the sub-assemblies
    # (taken from stock or to build), then what is bought, each group by SKU.
    ordered = {ol.sku for ol in orders[number].lines}
    lines = sorted(kit.lines, key=lambda ln: (ln.sku not in ordered, items.get(ln.sku) != "manufactured", ln.sku))
    return {"sales_order_id": number, "status": order.status, "complete": kit.complete,
            "max_buildable": max_buildable, "products": products,
            "lines": [{"sku": ln.sku, "kind": items.get(ln.sku), "ordered": ln.sku in ordered,
                       "required": ln.required, "reserved": reserved.get(ln.sku, ZERO), "available": ln.available,
                       "allocated": ln.allocated, "shortage": ln.shortage, "to_build": ln.to_build}
                      for ln in lines]}


def all_kitting(session: Session) -> list[dict[str, Any]]:
    """Kitting of every open sales order for what it still lacks, in priority order (requested date, then
    creation): each takes the free stock before the next one."""
    orders = _kit_orders(session)
    if not orders:
        return []
    kits, _ = _kit(session, orders)
    return [{"sales_order_id": k.order_id, "complete": k.complete, "max_buildable": k.max_buildable,
             "shortages": [{"sku": ln.sku, "shortage": ln.shortage} for ln in k.lines if ln.shortage],
             "to_build": [{"sku": ln.sku, "to_build": ln.to_build} for ln in k.lines if ln.to_build]}
            for k in kits]


def check_what_if(demand: list[dict[str, Any]], receipts: list[dict[str, Any]] | None, as_of: date
                  ) -> tuple[list[Demand], list[ScheduledReceipt] | None]:
    """Explicit demand and receipts of a what-if run as planning's types (the API validated their fields)."""
    if not demand:
        raise Invalid("a what-if run needs at least one demand line")
    d = [Demand(x["sku"], x["qty"], x["due_date"], x.get("reference") or f"what-if {i + 1}")
         for i, x in enumerate(demand)]
    r = None if receipts is None else [
        ScheduledReceipt(x["sku"], x["qty"], x["due_date"], x.get("reference") or f"receipt {i + 1}")
        for i, x in enumerate(receipts)]
    return d, r


# --- batch creation (生产任务单批量新增) -------------------------------------------------------------------

def requisition_drafts(session: Session, planned: list[dict[str, Any]], items: dict[str, Item], *, planner: str,
                       justification: str, sales_order: str | None, notify: list[str]
                       ) -> list[purchasing_rules.RequisitionDraft]:
    """Planned purchases (a stored run's dicts) as requisitions, one per default supplier, numbered now, each with
    the approval chain its total needs; refused by name when an item has no default supplier."""
    by_supplier: dict[int, list[dict[str, Any]]] = {}
    for p in planned:
        item = items[p["sku"]]
        if item.default_supplier_id is None:
            raise Invalid(f"MRP plans to buy {p['sku']}, which has no default supplier: set one and plan again")
        by_supplier.setdefault(item.default_supplier_id, []).append(p)
    out = []
    for supplier_id, ps in sorted(by_supplier.items()):
        qty_by_sku: dict[str, Decimal] = {}
        for p in ps:
            qty_by_sku[p["sku"]] = qty_by_sku.get(p["sku"], ZERO) + Decimal(p["qty"])
        lines = [purchasing_rules.RequisitionLineIn(sku=sku, qty=q, est_unit_price=items[sku].standard_cost)
                 for sku, q in sorted(qty_by_sku.items())]
        total = purchasing_rules.requisition_total(lines)
        out.append(purchasing_rules.RequisitionDraft(
            number=common.next_number(session, "PR"), requester=planner, supplier_id=supplier_id,
            justification=justification, total=total, lines=lines,
            lead_time_days=max(items[ln.sku].lead_time_days for ln in lines),
            # its approval chain, resolved as it is made, like a requisition submitted through the API
            steps=approvals.chain_for(session, "purchase_requisition", total, planner),
            sales_order=sales_order, notify=notify))
    return out


def create_supply(session: Session, so_number: str, run_number: str, *, planner: str, id_prefix: str,
                  notify_order: str, key: str) -> production_rules.SupplyBatch:
    """Turn an MRP run's planned orders into production orders (recorded here, their processes started by
    the caller) and purchase requisitions (one per supplier, recorded by their Purchase processes), in one
    transaction, once per key."""

    def effect() -> dict[str, Any]:
        run = get_run(session, run_number)
        # A run for one order also nets the open production orders' needs: only its own planned orders count.
        planned = [p for p in run.result["planned_orders"] if so_number in p["pegged_to"]]
        skus = sorted({p["sku"] for p in planned})
        items = stock.items_by_sku(session, skus) if skus else {}
        boms = bom_service.load_all(session)
        made: list[tuple[ProductionOrder, dict[str, Any]]] = []
        for p in planned:
            if p["kind"] != "production":
                continue
            row = new_order(session, sku=p["sku"], qty=Decimal(p["qty"]), release_date=date.fromisoformat(
                p["release_date"]), due_date=date.fromisoformat(p["due_date"]), planner=planner, id_prefix=id_prefix,
                key=key, sales_order=so_number, pegged_to=p["pegged_to"], purpose=f"for {so_number}", boms=boms,
                parent_id=notify_order)
            made.append((row, p))
        mo_ids = [row.process_id for row, _ in made]
        production = [production_rules.ProductionRef(
            number=row.number, sku=row.sku, qty=row.qty, issue_method=row.issue_method,
            due_date=row.due_date, planner=planner, sales_order=so_number,
            notify=[notify_order] + [m for m in mo_ids if m != row.process_id]).model_dump(mode="json")
            for row, _ in made]
        purchases = [d.model_dump(mode="json") for d in requisition_drafts(
            session, [p for p in planned if p["kind"] == "purchase"], items, planner=planner,
            justification=f"MRP run {run_number} for sales order {so_number}", sales_order=so_number,
            notify=[notify_order, *mo_ids])]
        return {"production": production, "purchases": purchases}

    return production_rules.SupplyBatch.model_validate(common.once(session, key, effect))  # a retry: the stored dict


def waiting_for(session: Session, sku: str) -> list[str]:
    """The processes waiting for stock of `sku`: production orders waiting for their kit that still need it, and
    open sales orders with a line of it not yet reserved. Whatever adds stock (a receipt, an adjustment) tells
    them at once, so they need not wait for their next periodic look."""
    production = select(ProductionOrder.process_id).join(
        ProductionMaterial, ProductionMaterial.order_id == ProductionOrder.id).where(
        ProductionOrder.status == ProductionStatus.WAITING_MATERIAL, ProductionMaterial.sku == sku,
        ProductionMaterial.issued_qty < ProductionMaterial.required_qty)
    sales = select(SalesOrder.process_id).join(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id).where(
        SalesOrder.status.in_(OPEN_ORDER_STATUSES), SalesOrderLine.sku == sku,
        SalesOrderLine.reserved_qty < LEFT_TO_DELIVER)
    found = [*session.execute(production).scalars(), *session.execute(sales).scalars()]
    return sorted(set(found))
