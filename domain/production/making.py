"""Making a production order's row: the item, its BOM as it is now (method, labour, overhead, the materials its
quantity needs, scrap included) and its process's monitor entry. One function, whoever makes the order: a sales
order's MRP batch, a batch release of a stored run, a planner making to stock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from domain.core import records as common
from domain.core.errors import Invalid
from domain.core.money import qty_str
from domain.inventory import stock, uoms
from domain.manufacturing import boms as bom_service
from domain.manufacturing.bom import Bom, need
from domain.processes import ids
from domain.processes import services as processes
from domain.production.rules import ProductionRef
from domain.production.tables import ProductionMaterial, ProductionOrder


def bom_of(session: Session, sku: str, boms: Mapping[str, Bom] | None = None) -> Bom:
    """The BOM a production order of `sku` is made by; refused by name when there is none."""
    bom = (boms if boms is not None else bom_service.load_all(session)).get(sku)
    if bom is None:
        raise Invalid(f"{sku} is manufactured but has no BOM")
    return bom


def new_order(session: Session, *, sku: str, qty: Decimal, release_date: date, due_date: date, planner: str,
              id_prefix: str, key: str, sales_order: str | None, pegged_to: list[str], purpose: str,
              boms: Mapping[str, Bom] | None = None, number: str | None = None,
              parent_id: str | None = None) -> ProductionOrder:
    """A production order of `qty` `sku` (numbered now unless `number` was allocated before), its materials and
    its process row (the caller starts the process). `purpose` ends its title: "for SO-00003", "for stock"."""
    bom = bom_of(session, sku, boms)
    number = number or common.next_number(session, "MO")
    item = stock.items_by_sku(session, [sku])[sku]
    comp = stock.items_by_sku(session, [ln.component for ln in bom.lines])
    row = ProductionOrder(
        number=number, item_id=item.id, sku=sku, qty=qty, issue_method=bom.issue_method,
        sales_order_number=sales_order, pegged_to=", ".join(pegged_to)[:500],
        release_date=release_date, due_date=due_date,
        std_labour_hours=bom.labour_hours, labour_rate=bom.labour_rate, overhead_rate=bom.overhead_rate,
        planner=planner, process_id=ids.production_order(number, id_prefix), idempotency_key=f"{key}:{number}",
        wait_reason="waiting for release")
    row.materials = [ProductionMaterial(position=i + 1, item_id=comp[ln.component].id, sku=ln.component,
                                        per_unit=ln.qty, scrap_pct=ln.scrap_pct, required_qty=need(qty, ln),
                                        standard_cost=comp[ln.component].standard_cost)
                     for i, ln in enumerate(bom.lines)]
    session.add(row)
    session.flush()
    processes.start(session, row.process_id, "production_order", number,
                    title=f"Production order {number}: {qty_str(qty)} {sku} {purpose}", owner=planner, amount=None,
                    first_step="waiting for material", parent_id=parent_id)
    return row


def record_for_stock(session: Session, ref: ProductionRef, process_id: str) -> None:
    """A production order made to stock (no sales order), as its own process records it; once per process."""
    def effect() -> None:
        new_order(session, sku=ref.sku, qty=ref.qty, release_date=ref.release_date or ref.due_date,
                  due_date=ref.due_date, planner=ref.planner, id_prefix=process_id[:process_id.index(
                      "production-order-")], key=process_id, sales_order=None, pegged_to=["stock"],
                  purpose="for stock", number=ref.number)
    common.once(session, f"{process_id}:record", effect)


def plan_for_stock(session: Session, *, sku: str, qty: Decimal, due_date: date, today: date, planner: str
                   ) -> ProductionRef:
    """What a production order for stock would be, or why it cannot (nothing stored but its number): an active
    manufactured item with a BOM, a whole quantity when counted whole; released its lead time before the due
    date (today at the earliest)."""
    item = stock.active_items(session, [sku])[sku]
    if item.kind != "manufactured":
        raise Invalid(f"{sku} is bought, not made: raise a purchase requisition for it instead")
    bom = bom_of(session, sku)
    uoms.check_lines(session, [(sku, qty)], "the quantity")
    if due_date < today:
        raise Invalid(f"the due date {due_date.isoformat()} is in the past")
    release = max(today, due_date - timedelta(days=item.lead_time_days))
    return ProductionRef(number=common.next_number(session, "MO"), sku=sku, qty=qty, issue_method=bom.issue_method,
                         due_date=due_date, planner=planner, to_stock=True, release_date=release)
