"""Suppliers as the buyers keep them: the list (search, active / inactive), one supplier's page (terms, the items
they supply at their prices, their items' default supplier, their recent purchase orders) and deactivation,
refused while purchase orders of theirs still wait for goods."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from domain.audit import services as audit
from domain.core.errors import Conflict, Invalid
from domain.core.names import name_key
from domain.inventory.tables import Item
from domain.parties import master, prices
from domain.parties.tables import Supplier
from domain.purchasing.rules import OPEN_ORDER_STATUSES
from domain.purchasing.tables import PurchaseOrder

PAGE_SIZE = 50
FILTERS = ("all", "active", "inactive")


def listing(session: Session, search: str = "", status: str = "all", page: int = 1,
            size: int = PAGE_SIZE) -> dict[str, Any]:
    if status not in FILTERS:
        raise Invalid(f"the filter is one of {', '.join(FILTERS)}")
    conds: list[ColumnElement[bool]] = []
    if search.strip():
        conds.append(or_(Supplier.name.ilike(f"%{search.strip()}%"),
                         Supplier.name_key.like(f"%{name_key(search)}%")))
    if status != "all":
        conds.append(Supplier.active.is_(status == "active"))
    total = int(session.execute(select(func.count(Supplier.id)).where(*conds)).scalar_one())
    page = max(1, page)
    rows = session.execute(select(Supplier).where(*conds).order_by(Supplier.name).limit(size)
                           .offset((page - 1) * size)).scalars()
    return {"rows": [row_view(s) for s in rows], "total": total, "page": page, "pages": max(1, -(-total // size))}


def row_view(s: Supplier) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "currency": s.currency, "payment_terms_days": s.payment_terms_days,
            "active": s.active, "created_at": s.created_at}


def export_rows(session: Session) -> list[dict[str, Any]]:
    return [{"name": s.name, "currency": s.currency, "payment_terms_days": s.payment_terms_days,
             "active": "yes" if s.active else "no"}
            for s in session.execute(select(Supplier).order_by(Supplier.name)).scalars()]


def open_orders(session: Session, supplier_id: int, limit: int = 5) -> list[str]:
    return list(session.execute(select(PurchaseOrder.number).where(
        PurchaseOrder.supplier_id == supplier_id, PurchaseOrder.status.in_(OPEN_ORDER_STATUSES))
        .order_by(PurchaseOrder.id).limit(limit)).scalars())


def page(session: Session, supplier_id: int) -> dict[str, Any]:
    s = master.supplier(session, supplier_id)
    orders = session.execute(select(PurchaseOrder).where(PurchaseOrder.supplier_id == s.id)
                             .order_by(PurchaseOrder.id.desc()).limit(20)).scalars()
    defaults = session.execute(select(Item.sku, Item.name).where(Item.default_supplier_id == s.id)
                               .order_by(Item.sku).limit(200)).all()
    return {"supplier": row_view(s), "prices": prices.supplier_prices(session, s.id),
            "default_items": [{"sku": sku, "name": name} for sku, name in defaults],
            "orders": [{"number": o.number, "status": o.status, "total": o.total, "expected_date": o.expected_date,
                        "created_at": o.created_at} for o in orders],
            "blockers": open_orders(session, s.id), "trail": audit.trail(session, "supplier", s.id, limit=20)}


def deactivate(session: Session, supplier_id: int, actor: str) -> Supplier:
    """Inactive: refused (409, naming them) while purchase orders of theirs still wait for goods."""
    s = master.supplier(session, supplier_id)
    if not s.active:
        return s
    waiting = open_orders(session, s.id)
    if waiting:
        raise Conflict(f"{s.name} cannot be deactivated while purchase orders {', '.join(waiting)} wait for its "
                       "goods: receive or close them first")
    return master.set_active(session, s, False, actor)


def reactivate(session: Session, supplier_id: int, actor: str) -> Supplier:
    return master.set_active(session, master.supplier(session, supplier_id), True, actor)
