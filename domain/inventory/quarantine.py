"""Quarantine: received goods of an item flagged for inspection wait outside on hand (StockBalance.quarantine) until
an inspection accepts them. Their value is inventory from the moment they are received (the receipt posts it as
always); it moves to on hand with the accepted goods, at the lot's own cost, under the voucher the receipt would
have used, so what a purchase order received (goods received not invoiced) reads the same either way."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.core import records as common
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.money import money, qty_str
from domain.inventory import stock
from domain.inventory.quarantine_tables import QuarantineLot
from domain.inventory.tables import StockBalance

LOT_PREFIX = "IL"
OPEN, INSPECTED = "open", "inspected"


def take_in(session: Session, sku: str, qty: Decimal, *, unit_cost: Decimal | None = None,
            value: Decimal | None = None, source: str, source_document: str, order_number: str, voucher_type: str,
            key: str, actor: str = "system") -> QuarantineLot:
    """Goods into quarantine as one inspection lot (once per `key`): quarantine and its value up under the item's
    lock; on hand untouched."""
    existing = session.execute(select(QuarantineLot).where(QuarantineLot.idempotency_key == key)).scalar_one_or_none()
    if existing is not None:
        return existing
    if qty <= 0:
        raise Invalid(f"a quarantine lot of {sku} needs a quantity above zero")
    item = stock.item_by_sku(session, sku)
    bal = stock.locked_balance(session, item.id)
    lot_value = money(value if value is not None else qty * (unit_cost or Decimal(0)))
    bal.quarantine += qty
    bal.quarantine_value += lot_value
    lot = QuarantineLot(number=common.next_number(session, LOT_PREFIX), item_id=item.id, sku=sku, source=source,
                        source_document=source_document, order_number=order_number, voucher_type=voucher_type,
                        qty=qty, value=lot_value, status=OPEN, received_by=actor, idempotency_key=key)
    session.add(lot)
    session.flush()
    return lot


def take_out(session: Session, lot: QuarantineLot, qty: Decimal) -> Decimal:
    """`qty` of the lot leaves quarantine; answers its value (the lot's value shared by quantity, the last part
    taking what is left, so the lot's value leaves whole). The caller moves it on (into on hand, or back); the
    caller holds the lot's lock."""
    item = stock.item_by_sku(session, lot.sku)
    bal = stock.locked_balance(session, item.id)
    if qty > bal.quarantine:
        raise Conflict(f"only {qty_str(bal.quarantine)} of {lot.sku} is in quarantine, {qty_str(qty)} asked")
    if lot.out_qty + qty > lot.qty:
        raise Conflict(f"only {qty_str(lot.qty - lot.out_qty)} of lot {lot.number} is left in quarantine, "
                       f"{qty_str(qty)} asked")
    last = lot.out_qty + qty == lot.qty
    value = lot.value - lot.out_value if last else money(lot.value * qty / lot.qty)
    value = min(value, bal.quarantine_value)
    lot.out_qty += qty
    lot.out_value += value
    bal.quarantine -= qty
    bal.quarantine_value -= value
    session.flush()
    return value


def lot(session: Session, number: str, *, lock: bool = False) -> QuarantineLot:
    """An inspection lot by its number (NotFound), locked for this transaction when `lock`."""
    q = select(QuarantineLot).where(QuarantineLot.number == number)
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    row = session.execute(q).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no inspection lot {number}")
    return row


def lots_of(session: Session, source_document: str) -> list[QuarantineLot]:
    return list(session.execute(select(QuarantineLot).where(QuarantineLot.source_document == source_document)
                                .order_by(QuarantineLot.id)).scalars())


def open_value_by_order(session: Session, source: str) -> dict[str, Decimal]:
    """What is still in quarantine of each order's receipts (its value), for the sub-ledger of goods received not
    invoiced: received goods are received, inspected or not."""
    rows = session.execute(select(QuarantineLot).where(QuarantineLot.source == source,
                                                       QuarantineLot.status == OPEN)).scalars()
    out: dict[str, Decimal] = {}
    for r in rows:
        out[r.order_number] = out.get(r.order_number, Decimal(0)) + r.value - r.out_value
    return out


def total_value(session: Session) -> Decimal:
    """The value of everything in quarantine (inventory, beside the stock valuation of what is on hand)."""
    return Decimal(session.execute(select(func.coalesce(func.sum(StockBalance.quarantine_value), 0))).scalar_one())
