"""Master data: items, customers, suppliers, stock adjustments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.names import checked_key
from domain.inventory import stock, uoms
from domain.inventory.tables import Item, StockBalance, StockLedgerEntry
from domain.manufacturing.tables import BomRow
from domain.parties.tables import Customer, Supplier

Party = TypeVar("Party", Customer, Supplier)


def create_item(session: Session, data: dict[str, Any]) -> Item:
    if session.execute(select(Item.id).where(Item.sku == data["sku"])).first():
        raise Conflict(f"SKU {data['sku']!r} exists already")
    uoms.check_uom(session, data.get("uom", "ea"))
    if data.get("default_supplier_id") and session.get(Supplier, data["default_supplier_id"]) is None:
        raise NotFound(f"no supplier {data['default_supplier_id']}")
    item = Item(**data)
    session.add(item)
    session.flush()
    session.add(StockBalance(item_id=item.id, on_hand=Decimal(0), reserved=Decimal(0), on_order=Decimal(0),
                             stock_value=Decimal(0)))
    session.flush()
    return item


ITEM_EDITABLE = ("name", "kind", "uom", "standard_cost", "lead_time_days", "safety_stock", "min_order_qty",
                 "order_multiple", "default_supplier_id")


def update_item(session: Session, sku: str, data: dict[str, Any]) -> Item:
    """An item's fields changed (its SKU stays: documents name it). Refused: a manufactured item with a BOM made
    purchased, and another unit of measure once stock has moved in the old one."""
    item = stock.item_by_sku(session, sku)
    if data.get("kind", item.kind) != item.kind and data["kind"] == "purchased" and session.execute(
            select(BomRow.id).where(BomRow.item_id == item.id)).first():
        raise Conflict(f"{sku} has a BOM, so it cannot become a purchased item")
    if data.get("uom", item.uom) != item.uom:
        uoms.check_uom(session, data["uom"])
        if session.execute(select(StockLedgerEntry.id).where(StockLedgerEntry.item_id == item.id).limit(1)).first():
            raise Conflict(f"{sku} has stock movements in {item.uom}; its unit of measure cannot change")
    if data.get("default_supplier_id") and session.get(Supplier, data["default_supplier_id"]) is None:
        raise NotFound(f"no supplier {data['default_supplier_id']}")
    for k in ITEM_EDITABLE:
        if k in data:
            setattr(item, k, data[k])
    session.flush()
    return item


def item_view(item: Item) -> dict[str, Any]:
    return {"id": item.id, "sku": item.sku, "name": item.name, "kind": item.kind, "uom": item.uom,
            "standard_cost": item.standard_cost, "lead_time_days": item.lead_time_days,
            "safety_stock": item.safety_stock, "min_order_qty": item.min_order_qty,
            "order_multiple": item.order_multiple, "default_supplier_id": item.default_supplier_id,
            "list_price": item.list_price, "item_group": item.item_group, "active": item.active}


def create_named(session: Session, cls: type[Party], data: dict[str, Any]) -> Party:
    """A customer or supplier, refused (409, naming it) when one exists whose name looks the same: compared by
    domain.names.name_key (case, width, invisible characters, spacing, look-alike letters); a name with a
    bidirectional control or a control character is refused (422). The unique index on name_key decides
    between two creates at once."""
    what = cls.__name__.lower()
    name, key = checked_key(data["name"], f"{what} name")
    same = named(session, cls, key)
    if same is not None:
        raise Conflict(f"{what} {same.name!r} exists already")
    row = cls(**{**data, "name": name})
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(f"{what} {name!r} exists already") from None
    return row


def named(session: Session, cls: type[Party], key: str) -> Party | None:
    """The customer or supplier whose name has that name_key, or None."""
    return session.execute(select(cls).where(cls.name_key == key)).scalar_one_or_none()


def customer_named(session: Session, name: str) -> Customer:
    """The customer whose name looks like `name`, created (with the defaults) if there is none. Two callers
    at once: the unique index lets one insert; the other finds its row (or, when its snapshot cannot see it
    yet, fails with a retryable database error, and the retry finds it)."""
    name, key = checked_key(name, "company name")
    found: Customer | None = named(session, Customer, key)
    if found is not None:
        return found
    row = Customer(name=name, currency="USD")
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = named(session, Customer, key)
        if found is None:
            raise
        return found
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
    uoms.check_lines(session, [(sku, qty)], "the adjustment")
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
