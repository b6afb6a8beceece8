"""Stock moves through the append-only ledger, serialized per item."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.core.errors import Conflict, NotFound
from domain.inventory import rules as inventory
from domain.inventory.tables import Item, StockBalance, StockLedgerEntry


def item_by_sku(session: Session, sku: str) -> Item:
    item = session.execute(select(Item).where(Item.sku == sku)).unique().scalar_one_or_none()
    if item is None:
        raise NotFound(f"unknown SKU {sku!r}")
    return item


def items_by_sku(session: Session, skus: list[str]) -> dict[str, Item]:
    found = {i.sku: i for i in session.execute(select(Item).where(Item.sku.in_(skus))).unique().scalars()}
    missing = [s for s in skus if s not in found]
    if missing:
        raise NotFound(f"unknown SKU{'s' if len(missing) > 1 else ''} {', '.join(repr(s) for s in missing)}")
    return found


def active_items(session: Session, skus: list[str]) -> dict[str, Item]:
    """The items of a new quotation, order or requisition: known (NotFound) and active (Conflict: a deactivated
    item stays on the documents that name it, and is on no new one)."""
    found = items_by_sku(session, skus)
    inactive = sorted(sku for sku, item in found.items() if not item.active)
    if inactive:
        raise Conflict(f"{', '.join(inactive)} {'is' if len(inactive) == 1 else 'are'} deactivated; activate "
                       f"{'it' if len(inactive) == 1 else 'them'} again on the item's page first")
    return found


def locked_balance(session: Session, item_id: int) -> StockBalance:
    """The item's balance row, locked for this transaction (FOR UPDATE on PostgreSQL; on SQLite the
    transaction already holds the write lock from BEGIN IMMEDIATE)."""
    # populate_existing: the row may already sit in the session (Item.balance is eager-loaded); without
    # it the locked SELECT would hand back those stale values and two issues would both succeed.
    bal = session.execute(
        select(StockBalance).where(StockBalance.item_id == item_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if bal is None:
        bal = StockBalance(item_id=item_id, on_hand=Decimal(0), reserved=Decimal(0), on_order=Decimal(0),
                           stock_value=Decimal(0))
        session.add(bal)
        session.flush()
    return bal


def move(session: Session, sku: str, qty: Decimal, *, unit_cost: Decimal | None, voucher_type: str,
         voucher_no: str, key: str, reason: str = "", actor: str = "system",
         value: Decimal | None = None) -> StockLedgerEntry:
    """One stock ledger entry; on-hand never goes negative (Conflict); retried keys return the first entry. Its
    `value_change` is whole cents (rules.after_move rounds each move once): the caller posts exactly that to the
    inventory account, never a value of its own, so inventory always equals the stock valuation."""
    item = item_by_sku(session, sku)
    bal = locked_balance(session, item.id)
    # Checked under the item's lock, so a racing retry with the same key finds the first entry.
    existing = session.execute(
        select(StockLedgerEntry).where(StockLedgerEntry.idempotency_key == key)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    new_on_hand, new_value, cost = inventory.after_move(sku, bal.on_hand, bal.stock_value, qty, unit_cost, value)
    entry = StockLedgerEntry(item_id=item.id, qty=qty, unit_cost=cost, value_change=new_value - bal.stock_value,
                             on_hand_after=new_on_hand, voucher_type=voucher_type, voucher_no=voucher_no,
                             reason=reason, created_by=actor, idempotency_key=key)
    bal.on_hand, bal.stock_value = new_on_hand, new_value
    session.add(entry)
    session.flush()
    return entry


def change_on_order(session: Session, sku: str, delta: Decimal) -> None:
    item = item_by_sku(session, sku)
    bal = locked_balance(session, item.id)
    bal.on_order = max(Decimal(0), bal.on_order + delta)
    session.flush()


def levels(session: Session, sku: str) -> dict[str, Any]:
    item = item_by_sku(session, sku)
    bal = session.get(StockBalance, item.id)
    on_hand = bal.on_hand if bal else Decimal(0)
    reserved = bal.reserved if bal else Decimal(0)
    return {
        "sku": item.sku,
        "on_hand": on_hand,
        "reserved": reserved,
        "available": on_hand - reserved,
        "on_order": bal.on_order if bal else Decimal(0),
        "stock_value": bal.stock_value if bal else Decimal(0),
        "quarantine": bal.quarantine if bal else Decimal(0),  # received, waiting for inspection: not available
    }


def reserve(session: Session, sku: str, qty: Decimal) -> Decimal:
    """Reserve up to `qty` of what is available (on hand - reserved); returns what was reserved.
    The caller makes it idempotent (it runs under a key in domain.core.records.once)."""
    item = item_by_sku(session, sku)
    bal = locked_balance(session, item.id)
    take = max(Decimal(0), min(qty, bal.on_hand - bal.reserved))
    bal.reserved += take
    session.flush()
    return take


def release(session: Session, sku: str, qty: Decimal) -> None:
    item = item_by_sku(session, sku)
    bal = locked_balance(session, item.id)
    bal.reserved = max(Decimal(0), bal.reserved - qty)
    session.flush()
