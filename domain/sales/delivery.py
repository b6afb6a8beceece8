"""Partial deliveries of a sales order as pure rules: which lines and quantities a delivery takes (everything still
to deliver when none are named), its share of the order's net and tax (the last delivery takes the remainder to
the cent), and who may deliver. No I/O: workflows import this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain import permissions
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.core.limits import MAX_QTY
from domain.core.money import money, qty_str
from domain.core.numbers import PlainDecimal
from domain.org.people import Actor
from domain.sales.rules import FulfilmentStatus

ZERO = Decimal(0)


class DeliveryLineIn(BaseModel):
    """One line of a partial delivery: `qty` of `sku` (a line of the order)."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)


class DeliverCommand(BaseModel):
    """The `deliver` Update's command naming lines (one without lines is the bare Actor, as before partial
    deliveries: recorded histories hold that)."""

    actor: Actor
    lines: list[DeliveryLineIn] | None = None


def command_parts(command: Actor | DeliverCommand) -> tuple[Actor, list[DeliveryLineIn] | None]:
    if isinstance(command, DeliverCommand):
        return command.actor, command.lines
    return command, None


class DeliveryRequest(BaseModel):
    """A delivery asked for (the `deliver` Update) and waiting its turn in the run."""

    id: int
    actor: str
    lines: list[DeliveryLineIn] | None = None


class LineState(BaseModel):
    """An order line as a delivery sees it."""

    sku: str
    qty: Decimal
    net: Decimal
    delivered_qty: Decimal = ZERO
    reserved_qty: Decimal = ZERO

    @property
    def left(self) -> Decimal:
        return self.qty - self.delivered_qty


class Take(BaseModel):
    """What one delivery takes of one line: the quantity, its share of the line's net."""

    sku: str
    qty: Decimal
    unit_price: Decimal  # the line's net price per unit
    net: Decimal


def line_net(line: LineState, qty: Decimal) -> Decimal:
    """The share of a line's net for `qty` more delivered: by cumulative rounding, so the deliveries of a line add
    up to its net exactly."""
    before = money(line.net * line.delivered_qty / line.qty) if line.qty else ZERO
    after = money(line.net * (line.delivered_qty + qty) / line.qty) if line.qty else ZERO
    return after - before


def plan_delivery(number: str, lines: Sequence[LineState], wanted: Sequence[DeliveryLineIn] | None) -> list[Take]:
    """The lines and quantities a delivery of order `number` takes. None or empty `wanted`: everything still to
    deliver (every such line must be reserved in full). Each named line: on the order, once, above zero, not more
    than is left of it, and not more than is reserved for it (a line partly in stock ships its reserved part)."""
    by_sku = {ln.sku: ln for ln in lines}
    takes: list[Take] = []
    if not wanted:
        open_lines = [ln for ln in lines if ln.left > 0]
        if not open_lines:
            raise Conflict(f"sales order {number} is delivered in full; nothing more to deliver")
        short = [f"{ln.sku} ({qty_str(ln.reserved_qty)} of {qty_str(ln.left)} in stock)" for ln in open_lines
                 if ln.reserved_qty < ln.left]
        if short:
            raise Conflict(f"sales order {number} cannot be delivered in full yet: {', '.join(short)}; deliver what "
                           "is in stock by naming the lines and quantities")
        return [Take(sku=ln.sku, qty=ln.left, unit_price=_unit(ln), net=line_net(ln, ln.left)) for ln in open_lines]
    seen: set[str] = set()
    for w in wanted:
        ln = by_sku.get(w.sku)
        if ln is None:
            raise Invalid(f"{w.sku} is not on sales order {number}; a delivery can only take the order's lines")
        if w.sku in seen:
            raise Invalid(f"{w.sku} is named twice in the delivery; name each line once")
        seen.add(w.sku)
        if w.qty <= 0:
            raise Invalid(f"the quantity of {w.sku} to deliver must be above zero")
        if w.qty > ln.left:
            raise Conflict(f"{qty_str(w.qty)} of {w.sku} is more than is left to deliver on sales order {number} "
                           f"({qty_str(ln.left)} of {qty_str(ln.qty)}); nothing was delivered")
        if w.qty > ln.reserved_qty:
            raise Conflict(f"only {qty_str(ln.reserved_qty)} of {w.sku} is reserved in stock for sales order {number}; "
                           f"{qty_str(w.qty)} cannot be delivered yet, nothing was delivered")
        takes.append(Take(sku=ln.sku, qty=w.qty, unit_price=_unit(ln), net=line_net(ln, w.qty)))
    return takes


def _unit(ln: LineState) -> Decimal:
    return (ln.net / ln.qty).quantize(Decimal("0.0001")) if ln.qty else ZERO


def completes(lines: Sequence[LineState], takes: Sequence[Take]) -> bool:
    """Does the delivery leave nothing more to deliver on the order?"""
    taken = {t.sku: t.qty for t in takes}
    return all(ln.left - taken.get(ln.sku, ZERO) <= 0 for ln in lines)


def tax_share(order_tax: Decimal, order_net: Decimal, delivery_net: Decimal, taxed_so_far: Decimal,
              last: bool) -> Decimal:
    """The tax of a delivery: the order's tax in proportion to the delivery's net; the last delivery takes what
    is left of it, so the deliveries' tax adds up to the order's to the cent."""
    if last:
        return order_tax - taxed_so_far
    if order_net <= 0 or order_tax <= 0:
        return ZERO
    return min(money(order_tax * delivery_net / order_net), order_tax - taxed_so_far)


def check_may_deliver(actor: Actor, number: str, owner: str) -> None:
    """Its salesperson, or whoever may deliver any order (the warehouse, an admin)."""
    if actor.username != owner and not permissions.may(actor.roles, permissions.Action.SALES_ORDER_DELIVER):
        raise Forbidden(f"only the warehouse, {owner} (the salesperson) or an admin can deliver sales order {number}")


def check_lines_shape(lines: Sequence[DeliveryLineIn] | None) -> None:
    """What a process checks of a delivery's lines before it takes it (the order's own lines are checked where
    they are: in the delivery's transaction)."""
    seen: set[str] = set()
    for w in lines or []:
        if w.sku in seen:
            raise Invalid(f"{w.sku} is named twice in the delivery; name each line once")
        seen.add(w.sku)
        if w.qty <= 0:
            raise Invalid(f"the quantity of {w.sku} to deliver must be above zero")


def check_may_deliver_part(actor: Actor, number: str, owner: str, status: str, *, cancel_by: str | None,
                           lines: Sequence[DeliveryLineIn] | None, short: Mapping[str, object],
                           done: bool) -> None:
    """May `actor` deliver (part of) sales order `number`, its process in `status`? Its salesperson or whoever may
    deliver any order, unless it is being cancelled or delivered in full; when it is ready to deliver (or partly
    delivered), anything reserved; while it waits for supply, the lines named (what is in stock of them)."""
    check_may_deliver(actor, number, owner)
    check_lines_shape(lines)
    if done or status == FulfilmentStatus.COMPLETED:
        raise Conflict(f"sales order {number} is delivered in full; nothing more to deliver")
    if cancel_by is not None:
        raise Conflict(f"sales order {number} is being cancelled (by {cancel_by}); it can no longer be delivered")
    if status == FulfilmentStatus.WAITING_FOR_SUPPLY and not lines:
        detail = ", ".join(f"{sku} short {q}" for sku, q in short.items())
        raise Conflict(f"sales order {number} is waiting for supply" + (f" ({detail})" if detail else "")
                       + ": only an order ready to deliver can be delivered whole; name the lines and quantities "
                       "in stock to deliver part of it")
    if status not in DELIVERABLE:
        raise Conflict(f"sales order {number} is {status}: only an order ready to deliver (or waiting for supply, "
                       "for what is in stock) can be delivered")


DELIVERABLE = (FulfilmentStatus.READY_TO_DELIVER, FulfilmentStatus.PARTIALLY_DELIVERED,
               FulfilmentStatus.WAITING_FOR_SUPPLY, FulfilmentStatus.DELIVERING)
