"""The warehouse's workspace: purchase orders to receive (a receive form per order, a quantity per line: partial
receipts; the Purchase process's receive Update refuses an over-receipt, as for POST
/api/purchase-orders/{id}/receipts), sales orders ready to deliver (their page's deliver form, the order's process),
the recent delivery notes with their printed copy, a stock adjustment (never below zero: refused) and a stock count
(the difference to what the books say is posted as an adjustment, reason "count")."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api import documents, pdf
from api.deps import as_actor
from api.i18n import _
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    not_possible,
    page_router,
    redirect,
    render,
)
from api.routes.ui.purchasing import order_row, orders_query
from api.starters import order_fulfilment, purchase
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.numbers import read_number
from domain.inventory import stock
from domain.inventory.tables import Item
from domain.parties import master
from domain.parties.tables import Customer
from domain.permissions import Action
from domain.purchasing.rules import OPEN_ORDER_STATUSES, ReceiptLineIn
from domain.sales import access as sales_access
from domain.sales.rules import SalesOrderStatus
from domain.sales.tables import DeliveryNote, SalesOrder

router = page_router()
LIST_SIZE = 50


def _may_work(v: Viewer) -> bool:
    return any(v.user.may(a) for a in (Action.PURCHASE_RECEIVE, Action.SALES_ORDER_DELIVER, Action.STOCK_ADJUST))


async def _workspace(v: Viewer, *, status: int = 200, error: str = "", typed: dict[str, str] | None = None
                     ) -> Response:
    if not _may_work(v):
        return await not_possible(v, Forbidden(_("the warehouse's pages are for the warehouse, buyers and admin")))
    viewer = (v.user.username, v.user.roles)

    def load(s: Session) -> dict[str, Any]:
        orders = select(SalesOrder, Customer.name).join(Customer, Customer.id == SalesOrder.customer_id).where(
            SalesOrder.status == SalesOrderStatus.IN_FULFILMENT)
        if (visible := sales_access.orders_visible_to(*viewer)) is not None:
            orders = orders.where(visible)
        to_deliver = []
        for so, name in s.execute(orders.order_by(SalesOrder.requested_date, SalesOrder.id).limit(LIST_SIZE)):
            left = [(ln.qty - ln.delivered_qty, ln.reserved_qty) for ln in so.lines]
            if any(todo > 0 and reserved > 0 for todo, reserved in left):
                to_deliver.append({"number": so.number, "customer": name, "requested_date": so.requested_date,
                                   "ready": all(reserved >= todo for todo, reserved in left if todo > 0),
                                   "total": so.total, "currency": so.currency})
        notes = select(DeliveryNote).join(SalesOrder, SalesOrder.number == DeliveryNote.sales_order_number)
        if visible is not None:
            notes = notes.where(visible)
        return {
            "to_receive": [order_row(po, name) for po, name in
                           s.execute(orders_query(v, [str(x) for x in OPEN_ORDER_STATUSES]).limit(LIST_SIZE))],
            "to_deliver": to_deliver,
            "notes": [{"number": n.number, "order": n.sales_order_number, "on": n.delivered_on, "by": n.delivered_by,
                       "is_return": n.is_return}
                      for n in s.execute(notes.order_by(DeliveryNote.id.desc()).limit(20)).scalars()],
            "skus": [sku for (sku,) in s.execute(select(Item.sku).where(Item.active.is_(True)).order_by(Item.sku)
                                                 .limit(1000))],
        }

    data = await v.platform.read(load)
    return await render(v, "warehouse.html", status, section="warehouse", error=error, typed=typed or {},
                        may_adjust=v.user.may(Action.STOCK_ADJUST), **data)


@router.get("/warehouse")
async def workspace(v: ViewerDep) -> Response:
    return await _workspace(v)


# --- goods in ------------------------------------------------------------------------------------------

async def _receive_form(v: Viewer, number: str, *, status: int = 200, error: str = "",
                        typed: dict[str, str] | None = None) -> Response:
    if not v.user.may(Action.PURCHASE_RECEIVE):
        return await not_possible(v, Forbidden(_("receiving goods is for the warehouse and buyers")))
    try:
        po = await v.platform.read(lambda s: documents.purchase_order(s, (v.user.username, v.user.roles), number[:30]))
    except DomainError as e:
        return await not_possible(v, e)
    return await render(v, "warehouse_receive.html", status, section="warehouse", po=po, error=error,
                        typed=typed or {}, open=po["status"] in OPEN_ORDER_STATUSES)


@router.get("/warehouse/receive/{number}")
async def receive_form(number: str, v: ViewerDep) -> Response:
    return await _receive_form(v, number)


def read_receipt(typed: dict[str, str]) -> list[ReceiptLineIn]:
    """The quantities typed per line (empty or zero: not received now), or Invalid with a sentence."""
    lines = []
    for i in sorted(int(k[4:]) for k in typed if k.startswith("sku_") and k[4:].isdigit())[:200]:
        sku = typed[f"sku_{i}"]
        qty = read_number(typed.get(f"qty_{i}", ""), _("the quantity of %(sku)s received", sku=sku))
        if qty is None or qty == 0:
            continue
        if qty < 0:
            raise Invalid(_("the quantity of %(sku)s received cannot be below zero", sku=sku))
        try:
            lines.append(ReceiptLineIn(sku=sku, qty=qty))
        except ValidationError as e:
            raise Invalid(_("%(sku)s: %(problem)s", sku=sku, problem=e.errors()[0]["msg"])) from None
    if not lines:
        raise Invalid(_("type the quantity received for at least one line"))
    return lines


@router.post("/warehouse/receive/{number}")
async def receive(number: str, request: Request, v: PosterDep) -> Response:
    """A goods receipt through the Purchase process's receive Update (the API's path): partial or whole."""
    number = number[:30]
    form = await request.form()
    typed = {k: str(form.get(k, ""))[:60] for k in form if k not in ("csrf", "form_token")}
    try:
        if not v.user.may(Action.PURCHASE_RECEIVE):
            raise Forbidden(_("receiving goods is for the warehouse and buyers"))
        lines = read_receipt(typed)
        await v.platform.glance(lambda s: documents.visible_purchase_order(s, (v.user.username, v.user.roles), number))
        state = await purchase.receive(v.platform, as_actor(v.user), number, lines)
    except DomainError as e:
        return await _receive_form(v, number, status=error_status(e), typed=typed,
                                   error=_("Nothing was received: %(reason)s", reason=e.message))
    msg = (_("%(n)s is received in full.", n=number) if state.fully_received
           else _("The goods are received into stock; %(n)s still waits for the rest.", n=number))
    return redirect(f"/purchase-orders/{number}", msg=msg)


# --- stock adjustments and counts ------------------------------------------------------------------------

async def _adjust(v: Viewer, sku: str, qty: Decimal, unit_cost: Decimal | None, reason: str) -> dict[str, Any]:
    key = f"adjust:{uuid.uuid4().hex}"
    done: dict[str, Any] = await v.platform.write(
        lambda s: master.adjust_stock(s, sku, qty, unit_cost, reason, v.user.username, key))
    if qty > 0:  # an order or a kit short of this item may now be complete: tell them now (as the API does)
        await order_fulfilment.supply_arrived(v.platform, sku)
    return done


@router.post("/warehouse/adjust")
async def adjust(request: Request, v: PosterDep) -> Response:
    form = await request.form()
    typed = {f"adj_{k}": str(form.get(k, ""))[:300] for k in ("sku", "qty", "unit_cost", "reason")}
    sku, reason = typed["adj_sku"].strip(), typed["adj_reason"].strip()
    try:
        if not v.user.may(Action.STOCK_ADJUST):
            raise Forbidden(_("stock adjustments are for the warehouse and admin"))
        if not sku:
            raise Invalid(_("give the SKU of the item to adjust"))
        qty = read_number(typed["adj_qty"], _("the quantity"))
        if qty is None or qty == 0:
            raise Invalid(_("give the quantity to add (or, with a minus, to take away), other than zero"))
        cost = read_number(typed["adj_unit_cost"], _("the unit cost"))
        if cost is not None and cost < 0:
            raise Invalid(_("the unit cost cannot be below zero"))
        if not reason:
            raise Invalid(_("give the reason for the adjustment"))
        done = await _adjust(v, sku, qty, cost, reason[:300])
    except DomainError as e:
        return await _workspace(v, status=error_status(e), typed=typed,
                                error=_("The stock was not adjusted: %(reason)s", reason=e.message))
    return redirect("/warehouse", msg=_("%(sku)s adjusted by %(qty)s: %(on_hand)s on hand now.", sku=sku,
                                        qty=f"{qty:+f}", on_hand=f"{done['on_hand']:f}"))


COUNT_LINES = 5  # items counted in one submit


def read_count(typed: dict[str, str]) -> list[tuple[str, Decimal]]:
    """The items and quantities counted (a row left empty is skipped), or Invalid with a sentence."""
    counted: list[tuple[str, Decimal]] = []
    for i in range(COUNT_LINES):
        sku, qty_text = typed.get(f"count_sku_{i}", "").strip(), typed.get(f"count_qty_{i}", "")
        if not sku and not qty_text.strip():
            continue
        if not sku:
            raise Invalid(_("line %(n)s has a counted quantity but no item: give its SKU", n=i + 1))
        qty = read_number(qty_text, _("the counted quantity of %(sku)s", sku=sku))
        if qty is None or qty < 0:
            raise Invalid(_("give the quantity of %(sku)s counted (zero or more)", sku=sku))
        if sku in (k for k, _q in counted):
            raise Invalid(_("%(sku)s is counted twice: one line per item", sku=sku))
        counted.append((sku, qty))
    if not counted:
        raise Invalid(_("give the SKU and the counted quantity of at least one item"))
    return counted


@router.post("/warehouse/count")
async def count(request: Request, v: PosterDep) -> Response:
    """Counted quantities: the difference of each to the books goes in as an adjustment with reason "count", all of
    them in one transaction (a refused line stores none)."""
    form = await request.form()
    typed = {k: str(form.get(k, ""))[:300] for k in form if k.startswith("count_")}
    note = typed.get("count_note", "").strip()
    reason = f"count: {note}"[:300] if note else "count"
    try:
        if not v.user.may(Action.STOCK_ADJUST):
            raise Forbidden(_("stock counts are for the warehouse and admin"))
        counted = read_count(typed)
        key = f"count:{uuid.uuid4().hex}"

        def post(s: Session) -> list[tuple[str, Decimal, Decimal]]:
            out = []
            for i, (sku, qty) in enumerate(counted):
                diff = qty - stock.levels(s, sku)["on_hand"]
                if diff:
                    master.adjust_stock(s, sku, diff, None, reason, v.user.username, f"{key}:{i}")
                out.append((sku, qty, diff))
            return out

        done = await v.platform.write(post)
    except DomainError as e:
        return await _workspace(v, status=error_status(e), typed=typed,
                                error=_("The count was not posted: %(reason)s", reason=e.message))
    for sku, _qty, diff in done:
        if diff > 0:  # an order or a kit short of this item may now be complete
            await order_fulfilment.supply_arrived(v.platform, sku)
    parts = [_("%(sku)s by %(diff)s", sku=sku, diff=f"{diff:+f}") for sku, _qty, diff in done if diff]
    msg = (_("Count posted: %(changes)s.", changes=", ".join(parts)) if parts
           else _("The count matches the books; nothing posted."))
    return redirect("/warehouse", msg=msg)


# --- the printed delivery note ----------------------------------------------------------------------------

@router.get("/delivery-notes/{number}/pdf")
async def delivery_note_pdf(number: str, v: ViewerDep) -> Response:
    try:
        note = await v.platform.read(lambda s: documents.delivery_note(s, (v.user.username, v.user.roles), number[:30]))
    except DomainError as e:
        return await not_possible(v, e)
    return await pdf.response("delivery_note.html", f"{note['number']}.pdf", note=note)
