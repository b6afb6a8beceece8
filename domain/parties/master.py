"""Master data: items, customers, suppliers, stock adjustments."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.audit import services as audit
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.names import checked_key
from domain.inventory import stock, uoms
from domain.inventory.tables import Item, StockBalance, StockLedgerEntry
from domain.manufacturing.tables import BomRow
from domain.parties.tables import Customer, PartySettings, Supplier

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
            "list_price": item.list_price, "item_group": item.item_group, "active": item.active,
            "inspect_incoming": item.inspect_incoming, "inspect_final": item.inspect_final}


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
    row = Customer(name=name, currency="USD", credit_limit=settings(session).default_credit_limit)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = named(session, Customer, key)
        if found is None:
            raise
        return found
    return row


# --- editing customers and suppliers (the pages of issue 18) ------------------------------------------

MAX_CREDIT = Decimal("1e12")
CURRENCY = re.compile(r"^[A-Z]{3}$")


def settings(session: Session) -> PartySettings:
    """The company's settings for customers and suppliers (not stored: the defaults, a credit limit of 0)."""
    row = session.get(PartySettings, 1)
    return row if row is not None else PartySettings(id=1, default_credit_limit=Decimal(0), updated_by="")


def set_default_credit_limit(session: Session, amount: Decimal, actor: str) -> PartySettings:
    """The credit limit a customer created from a lead starts with (0 or more)."""
    check_credit(amount)
    row = session.get(PartySettings, 1)
    before = None if row is None else {"default_credit_limit": row.default_credit_limit}
    if row is None:
        row = PartySettings(id=1, default_credit_limit=amount, updated_by=actor)
        session.add(row)
    row.default_credit_limit, row.updated_by = amount, actor
    session.flush()
    audit.record(session, actor, "party_settings", 1, before, {"default_credit_limit": amount})
    return row


def check_credit(amount: Decimal) -> None:
    """A credit limit the rules take: 0 or more, at most two decimals (422 otherwise)."""
    if not Decimal(0) <= amount < MAX_CREDIT or amount != round(amount, 2):
        raise Invalid("a credit limit is an amount of 0 or more, with at most two decimals")


def check_party_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Currency and payment terms of a customer or supplier as the rules take them (422 with a sentence)."""
    out = dict(data)
    if "currency" in out:
        out["currency"] = str(out["currency"]).strip().upper()
        if not CURRENCY.match(out["currency"]):
            raise Invalid("the currency is a three-letter code such as USD, EUR or CNY")
    if "payment_terms_days" in out:
        days = out["payment_terms_days"]
        if not isinstance(days, int) or not 0 <= days <= 365:
            raise Invalid("the payment terms are a whole number of days from 0 to 365")
    return out


def party_snapshot(row: Customer | Supplier) -> dict[str, Any]:
    out = {"name": row.name, "currency": row.currency, "payment_terms_days": row.payment_terms_days,
           "active": row.active}
    if isinstance(row, Customer):
        out["credit_limit"] = row.credit_limit
    return out


def customer(session: Session, customer_id: int) -> Customer:
    row = session.get(Customer, customer_id)
    if row is None:
        raise NotFound(f"no customer {customer_id}")
    return row


def supplier(session: Session, supplier_id: int) -> Supplier:
    row = session.get(Supplier, supplier_id)
    if row is None:
        raise NotFound(f"no supplier {supplier_id}")
    return row


def update_party(session: Session, row: Party, data: dict[str, Any], actor: str) -> Party:
    """A customer's or supplier's name, currency and payment terms (not the credit limit: set_credit_limit; not
    deactivation: the sales and purchasing rules, which know what is open). A name that looks like another's is
    refused (409)."""
    what = type(row).__name__.lower()
    data = check_party_fields(data)
    before = party_snapshot(row)
    if "name" in data:
        name, key = checked_key(data["name"], f"{what} name")
        same = named(session, type(row), key)
        if same is not None and same.id != row.id:
            raise Conflict(f"{what} {same.name!r} exists already")
        row.name = name
    for field in ("currency", "payment_terms_days"):
        if field in data:
            setattr(row, field, data[field])
    session.flush()
    audit.record(session, actor, what, row.id, before, party_snapshot(row))
    return row


def create_party(session: Session, cls: type[Party], data: dict[str, Any], actor: str) -> Party:
    """A new customer or supplier from a form (create_named's rules), with its audit line."""
    row = create_named(session, cls, check_party_fields(data))
    session.flush()
    audit.record(session, actor, cls.__name__.lower(), row.id, None, party_snapshot(row))
    return row


def set_active(session: Session, row: Party, active: bool, actor: str) -> Party:
    """Deactivate or reactivate (the caller has checked that nothing open stands in the way)."""
    what = type(row).__name__.lower()
    before = party_snapshot(row)
    row.active = active
    session.flush()
    audit.record(session, actor, what, row.id, before, party_snapshot(row),
                 action=None if active else audit.DEACTIVATED)
    return row


def set_credit_limit(session: Session, customer_id: int, amount: Decimal, actor: str) -> Customer:
    """The one way a customer's credit limit changes (0 or more, two decimals at most), with its audit line.
    H1's second approval routes changes above its threshold through here once they are approved."""
    check_credit(amount)
    row = customer(session, customer_id)
    before = row.credit_limit
    row.credit_limit = amount
    session.flush()
    audit.record(session, actor, "credit_limit", row.id, {"credit_limit": before}, {"credit_limit": amount})
    return row


def customer_view(c: Customer) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "credit_limit": c.credit_limit, "currency": c.currency,
            "payment_terms_days": c.payment_terms_days, "active": c.active, "created_at": c.created_at}


def supplier_view(s: Supplier) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "currency": s.currency, "payment_terms_days": s.payment_terms_days,
            "active": s.active, "created_at": s.created_at}


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
