"""Prices as data: the price list (what we sell an item for, to everyone or to one customer, in a currency) and
what suppliers ask for the items they supply. A quotation or order line typed without a unit price takes the
price list's (`list_price`): the customer's own price in their currency, else everyone's in that currency, else
the item's list price when the customer buys in the company's currency."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.audit import services as audit
from domain.core.errors import Conflict, Invalid, NotFound
from domain.inventory.tables import Item
from domain.org.tables import Company
from domain.parties.master import CURRENCY, customer, supplier
from domain.parties.tables import Customer, PriceListPrice, Supplier, SupplierPrice

MAX_PRICE = Decimal("1e12")
LIST_SIZE = 500


def _item(session: Session, sku: str) -> Item:
    row = session.execute(select(Item).where(Item.sku == sku.strip())).unique().scalar_one_or_none()
    if row is None:
        raise NotFound(f"no item {sku.strip()!r}")
    return row


def _price(value: Decimal, what: str = "the price") -> Decimal:
    if not Decimal(0) <= value < MAX_PRICE or value != round(value, 4):
        raise Invalid(f"{what} is an amount of 0 or more, with at most four decimals")
    return value


def _currency(code: str) -> str:
    code = (code or "").strip().upper()
    if not CURRENCY.match(code):
        raise Invalid("the currency is a three-letter code such as USD, EUR or CNY")
    return code


def base_currency(session: Session) -> str:
    company = session.get(Company, 1)
    return company.base_currency if company is not None else "USD"


# --- the price list ----------------------------------------------------------------------------------

def list_prices(session: Session, skus: Iterable[str], customer_id: int | None) -> dict[str, Decimal]:
    """The price list's unit price of each SKU that has one, for the customer (None: everyone, in the company's
    currency)."""
    wanted = sorted({s.strip() for s in skus if s and s.strip()})
    if not wanted:
        return {}
    buyer = session.get(Customer, customer_id) if customer_id is not None else None
    currency = buyer.currency if buyer is not None else base_currency(session)
    items = {i.id: i for i in session.execute(select(Item).where(Item.sku.in_(wanted))).unique().scalars()}
    rows = session.execute(select(PriceListPrice).where(PriceListPrice.item_id.in_(list(items)),
                                                        PriceListPrice.currency == currency)).scalars().all()
    out: dict[str, Decimal] = {}
    if currency == base_currency(session):
        out = {i.sku: i.list_price for i in items.values() if i.list_price is not None}
    for row in sorted(rows, key=lambda r: r.customer_id is not None):  # everyone's first, the customer's over it
        if row.customer_id is None or (buyer is not None and row.customer_id == buyer.id):
            out[items[row.item_id].sku] = row.unit_price
    return out


def list_price(session: Session, sku: str, customer_id: int | None) -> Decimal | None:
    return list_prices(session, [sku], customer_id).get(sku.strip())


def price_list(session: Session, search: str = "", customer_id: int | None = None,
               limit: int = LIST_SIZE, offset: int = 0) -> list[dict[str, Any]]:
    q = (select(PriceListPrice, Item.sku, Item.name, Customer.name)
         .join(Item, Item.id == PriceListPrice.item_id)
         .outerjoin(Customer, Customer.id == PriceListPrice.customer_id))
    if search.strip():
        like = f"%{search.strip()}%"
        q = q.where(Item.sku.ilike(like) | Item.name.ilike(like))
    if customer_id is not None:
        q = q.where(PriceListPrice.customer_id == customer_id)
    q = q.order_by(Item.sku, PriceListPrice.customer_id.is_not(None), Customer.name, PriceListPrice.currency)
    return [{"id": p.id, "sku": sku, "item": name, "customer_id": p.customer_id, "customer": cname,
             "currency": p.currency, "unit_price": p.unit_price, "updated_by": p.updated_by,
             "updated_at": p.updated_at}
            for p, sku, name, cname in session.execute(q.limit(limit).offset(offset)).all()]


def set_list_price(session: Session, sku: str, unit_price: Decimal, currency: str, customer_id: int | None,
                   actor: str) -> PriceListPrice:
    """The price list's price of an item in a currency, for everyone or one customer: created, or changed."""
    item = _item(session, sku)
    unit_price, currency = _price(unit_price, "the unit price"), _currency(currency)
    if customer_id is not None:
        customer(session, customer_id)
    row = session.execute(select(PriceListPrice).where(
        PriceListPrice.item_id == item.id, PriceListPrice.currency == currency,
        PriceListPrice.customer_id.is_(None) if customer_id is None else PriceListPrice.customer_id == customer_id)
    ).scalars().first()
    before = None if row is None else {"unit_price": row.unit_price}
    if row is None:
        row = PriceListPrice(item_id=item.id, customer_id=customer_id, currency=currency, unit_price=unit_price,
                             updated_by=actor)
        session.add(row)
    row.unit_price, row.updated_by = unit_price, actor
    session.flush()
    audit.record(session, actor, "price_list", f"{item.sku}/{customer_id or '*'}/{currency}", before,
                 {"unit_price": unit_price})
    return row


def delete_list_price(session: Session, price_id: int, actor: str) -> None:
    row = session.get(PriceListPrice, price_id)
    if row is None:
        raise NotFound(f"no price {price_id} on the price list")
    item = session.get(Item, row.item_id)
    audit.record(session, actor, "price_list", f"{item.sku if item else row.item_id}/{row.customer_id or '*'}/"
                 f"{row.currency}", {"unit_price": row.unit_price}, None)
    session.delete(row)
    session.flush()


# --- what suppliers ask ------------------------------------------------------------------------------

def supplier_prices(session: Session, supplier_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(SupplierPrice, Item.sku, Item.name).join(Item, Item.id == SupplierPrice.item_id)
                           .where(SupplierPrice.supplier_id == supplier_id).order_by(Item.sku).limit(LIST_SIZE))
    return [{"id": p.id, "sku": sku, "item": name, "price": p.price, "currency": p.currency, "min_qty": p.min_qty,
             "lead_time_days": p.lead_time_days, "updated_at": p.updated_at} for p, sku, name in rows.all()]


def set_supplier_price(session: Session, supplier_id: int, sku: str, price: Decimal, currency: str,
                       min_qty: Decimal, lead_time_days: int, actor: str) -> SupplierPrice:
    """What the supplier asks for the item (one price per supplier and item): created, or changed."""
    sup: Supplier = supplier(session, supplier_id)
    if not sup.active:
        raise Conflict(f"supplier {sup.name} is inactive; reactivate it before giving it prices")
    item = _item(session, sku)
    price, currency = _price(price), _currency(currency)
    if not Decimal(0) < min_qty < MAX_PRICE or min_qty != round(min_qty, 4):
        raise Invalid("the minimum quantity is more than 0, with at most four decimals")
    if not 0 <= lead_time_days <= 730:
        raise Invalid("the lead time is a whole number of days from 0 to 730")
    row = session.execute(select(SupplierPrice).where(SupplierPrice.supplier_id == sup.id,
                                                      SupplierPrice.item_id == item.id)).scalar_one_or_none()
    fields = {"price": price, "currency": currency, "min_qty": min_qty, "lead_time_days": lead_time_days}
    before = None if row is None else {"price": row.price, "currency": row.currency, "min_qty": row.min_qty,
                                       "lead_time_days": row.lead_time_days}
    if row is None:
        row = SupplierPrice(supplier_id=sup.id, item_id=item.id, updated_by=actor, **fields)
        session.add(row)
    for k, v in fields.items():
        setattr(row, k, v)
    row.updated_by = actor
    session.flush()
    audit.record(session, actor, "supplier_price", f"{sup.id}/{item.sku}", before, fields)
    return row


def delete_supplier_price(session: Session, supplier_id: int, price_id: int, actor: str) -> None:
    row = session.get(SupplierPrice, price_id)
    if row is None or row.supplier_id != supplier_id:
        raise NotFound(f"no price {price_id} of supplier {supplier_id}")
    item = session.get(Item, row.item_id)
    audit.record(session, actor, "supplier_price", f"{supplier_id}/{item.sku if item else row.item_id}",
                 {"price": row.price, "currency": row.currency}, None)
    session.delete(row)
    session.flush()
