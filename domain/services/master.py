"""Master data: items, customers, suppliers, stock adjustments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import accounting
from domain.errors import Conflict, Invalid, NotFound
from domain.schema import Customer, Item, StockBalance, Supplier
from domain.services import ledger, stock


def create_item(session: Session, data: dict[str, Any]) -> Item:
    if session.execute(select(Item.id).where(Item.sku == data["sku"])).first():
        raise Conflict(f"SKU {data['sku']!r} exists already")
    if data.get("default_supplier_id") and session.get(Supplier, data["default_supplier_id"]) is None:
        raise NotFound(f"no supplier {data['default_supplier_id']}")
    item = Item(**data)
    session.add(item)
    session.flush()
    session.add(StockBalance(item_id=item.id, on_hand=Decimal(0), reserved=Decimal(0), on_order=Decimal(0),
                             stock_value=Decimal(0)))
    session.flush()
    return item


def item_view(item: Item) -> dict[str, Any]:
    return {"id": item.id, "sku": item.sku, "name": item.name, "kind": item.kind, "uom": item.uom,
            "standard_cost": item.standard_cost, "lead_time_days": item.lead_time_days,
            "safety_stock": item.safety_stock, "min_order_qty": item.min_order_qty,
            "order_multiple": item.order_multiple, "default_supplier_id": item.default_supplier_id}


def create_named(session: Session, cls: type[Customer] | type[Supplier], data: dict[str, Any]) -> Any:
    # Names are told apart regardless of case: leads find their customer by name that way.
    # SQLite's lower() folds ASCII only: the same name ('Ä') also counts, and so does the unique index's answer.
    name = data["name"].strip()
    same = session.execute(select(cls.name).where(or_(func.lower(cls.name) == name.lower(), cls.name == name))).first()
    if same:
        raise Conflict(f"{cls.__name__.lower()} {same[0]!r} exists already")
    row = cls(**{**data, "name": name})
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{cls.__name__.lower()} {name!r} exists already") from None
    return row


def customer_view(c: Customer) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "credit_limit": c.credit_limit, "currency": c.currency,
            "created_at": c.created_at}


def supplier_view(s: Supplier) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "currency": s.currency, "created_at": s.created_at}


def adjust_stock(session: Session, sku: str, qty: Decimal, unit_cost: Decimal | None, reason: str, actor: str,
                 key: str) -> dict[str, Any]:
    """A counted correction: the stock move and its journal (inventory vs stock adjustments)."""
    if qty == 0:
        raise Invalid("an adjustment needs a quantity other than zero")
    item = stock.item_by_sku(session, sku)
    cost = unit_cost if unit_cost is not None else (item.standard_cost if qty > 0 else None)
    entry = stock.move(session, sku, qty, unit_cost=cost, voucher_type="stock_adjustment", voucher_no=key[:60],
                       key=key, reason=reason, actor=actor)
    value = abs(entry.value_change)
    if value:
        inv, adj = {accounting.INVENTORY: value}, {accounting.STOCK_ADJUSTMENTS: value}
        draft = accounting.entry(f"Stock adjustment {sku}: {reason}", *((inv, adj) if qty > 0 else (adj, inv)))
        ledger.post(session, draft, "stock_adjustment", key[:60], key)
    return {"sku": sku, "qty": qty, "unit_cost": entry.unit_cost, "on_hand": entry.on_hand_after,
            "ledger_entry_id": entry.id}
