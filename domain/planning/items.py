"""An item in use: the open orders and BOMs that name it, as the reasons it cannot be deactivated and its BOM
cannot be changed under a production order in progress. Lives above sales, purchasing and production, which
it reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from domain.core.errors import Conflict
from domain.inventory import stock
from domain.inventory.tables import Item
from domain.manufacturing.tables import BomLineRow, BomRow
from domain.production.rules import OPEN_STATUSES
from domain.production.tables import ProductionMaterial, ProductionOrder
from domain.purchasing.rules import OPEN_ORDER_STATUSES
from domain.purchasing.tables import PurchaseOrder, PurchaseOrderLine
from domain.sales.rules import SalesOrderStatus
from domain.sales.tables import SalesOrder, SalesOrderLine

OPEN_SALES = (SalesOrderStatus.PENDING_CREDIT, SalesOrderStatus.OPEN, SalesOrderStatus.IN_FULFILMENT)
SHOWN = 5  # orders named in a refusal


def _names(numbers: list[str]) -> str:
    more = len(numbers) - SHOWN
    return ", ".join(numbers[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def blockers(session: Session, item_id: int) -> list[str]:
    """Why the item cannot be deactivated now: each a sentence; none when it can."""
    out = []
    so = list(dict.fromkeys(session.execute(
        select(SalesOrder.number).join(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
        .where(SalesOrderLine.item_id == item_id, SalesOrder.status.in_(OPEN_SALES))
        .order_by(SalesOrder.number)).scalars()))
    if so:
        out.append(f"it is on the open sales order{'s' if len(so) > 1 else ''} {_names(so)}")
    po = list(dict.fromkeys(session.execute(
        select(PurchaseOrder.number).join(PurchaseOrderLine, PurchaseOrderLine.po_id == PurchaseOrder.id)
        .where(PurchaseOrderLine.item_id == item_id, PurchaseOrder.status.in_(OPEN_ORDER_STATUSES))
        .order_by(PurchaseOrder.number)).scalars()))
    if po:
        out.append(f"it is on the open purchase order{'s' if len(po) > 1 else ''} {_names(po)}")
    made = select(ProductionOrder.number).where(ProductionOrder.item_id == item_id,
                                                ProductionOrder.status.in_(OPEN_STATUSES))
    used = (select(ProductionOrder.number).join(ProductionMaterial, ProductionMaterial.order_id == ProductionOrder.id)
            .where(ProductionMaterial.item_id == item_id, ProductionOrder.status.in_(OPEN_STATUSES)))
    prod = sorted(set(session.execute(made).scalars()) | set(session.execute(used).scalars()))
    if prod:
        out.append(f"it is on the open production order{'s' if len(prod) > 1 else ''} {_names(prod)}")
    parent = aliased(Item)
    boms = list(session.execute(
        select(parent.sku).select_from(BomLineRow).join(BomRow, BomRow.id == BomLineRow.bom_id)
        .join(parent, parent.id == BomRow.item_id)
        .where(BomLineRow.component_item_id == item_id, parent.active.is_(True)).order_by(parent.sku)).scalars())
    if boms:
        out.append(f"it is in the BOM of the active item{'s' if len(boms) > 1 else ''} {_names(boms)}")
    return out


def set_active(session: Session, sku: str, active: bool) -> Item:
    """Deactivate (refused with every reason while it is in use) or activate an item again."""
    item = stock.item_by_sku(session, sku)
    if not active and item.active:
        reasons = blockers(session, item.id)
        if reasons:
            raise Conflict(f"{sku} cannot be deactivated: {'; '.join(reasons)}")
    item.active = active
    session.flush()
    return item


def production_in_progress(session: Session, sku: str) -> list[str]:
    """The open production orders of the item (their BOM was copied when they were made)."""
    return list(session.execute(select(ProductionOrder.number).join(Item, Item.id == ProductionOrder.item_id)
                                .where(Item.sku == sku, ProductionOrder.status.in_(OPEN_STATUSES))
                                .order_by(ProductionOrder.number)).scalars())


def where_used(session: Session, sku: str) -> list[dict[str, Any]]:
    """The BOMs that use the item: their item, its name, the quantity per unit and the scrap."""
    parent, component = aliased(Item), aliased(Item)
    rows = session.execute(
        select(parent.sku, parent.name, parent.active, BomLineRow.qty, BomLineRow.scrap_pct)
        .select_from(BomLineRow).join(BomRow, BomRow.id == BomLineRow.bom_id)
        .join(parent, parent.id == BomRow.item_id).join(component, component.id == BomLineRow.component_item_id)
        .where(component.sku == sku).order_by(parent.sku))
    return [{"sku": r[0], "name": r[1], "active": r[2], "qty": r[3], "scrap_pct": r[4]} for r in rows]
