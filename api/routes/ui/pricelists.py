"""The price list page: an item's unit price in a currency, for every customer or for one; set, changed and removed
by whoever may edit prices (price_list.edit). A quotation or order line typed without a unit price takes the price
list's (domain.parties.prices.list_prices)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.i18n import _
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    page_router,
    redirect,
    render,
)
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.numbers import read_number, read_whole
from domain.inventory.tables import Item
from domain.parties import prices
from domain.parties.tables import Customer
from domain.permissions import Action

router = page_router()


def _need(v: Viewer, action: Action) -> None:
    if not v.user.may(action):
        raise Forbidden("the price list is for sales, finance, the cfo and admin; a sales manager or admin "
                        "changes it")


async def _page(v: Viewer, q: str = "", customer: str = "", *, code: int = 200,
                form: dict[str, str] | None = None, **ctx: Any) -> Response:
    _need(v, Action.PRICE_LIST_READ)
    try:
        cid = read_whole(customer, "the customer")
    except Invalid:
        cid = None

    def load(s: Session) -> dict[str, Any]:
        return {"rows": prices.price_list(s, q, cid),
                "customers": [{"id": i, "name": n} for i, n in s.execute(
                    select(Customer.id, Customer.name).order_by(Customer.name).limit(500)).all()],
                "items": [{"sku": sku, "name": n} for sku, n in s.execute(
                    select(Item.sku, Item.name).order_by(Item.sku).limit(500)).all()],
                "base_currency": prices.base_currency(s)}

    data = await v.platform.read(load)
    return await render(v, "price_lists.html", code, section="price-lists", q=q, customer=cid,
                        form=form or {"currency": data["base_currency"]}, **data, **ctx)


@router.get("/price-lists")
async def price_lists(v: ViewerDep, q: Annotated[str, Query(max_length=100)] = "",
                      customer: Annotated[str, Query(max_length=12)] = "") -> Response:
    return await _page(v, q.strip(), customer)


@router.post("/price-lists")
async def set_price(v: PosterDep, sku: Annotated[str, Form(max_length=60)] = "",
                    customer_id: Annotated[str, Form(max_length=12)] = "",
                    currency: Annotated[str, Form(max_length=10)] = "",
                    unit_price: Annotated[str, Form(max_length=40)] = "") -> Response:
    form = {"sku": sku, "customer_id": customer_id, "currency": currency, "unit_price": unit_price}
    try:
        _need(v, Action.PRICE_LIST_EDIT)
        if not sku.strip():
            raise Invalid("choose the item")
        price = read_number(unit_price, "the unit price")
        if price is None:
            raise Invalid("the unit price is required")
        cid = read_whole(customer_id, "the customer")
        await v.platform.write(lambda s: prices.set_list_price(s, sku, price, currency, cid, v.user.username))
    except DomainError as e:
        return await _page(v, code=error_status(e), form=form,
                           error=_("The price was not saved: %(reason)s", reason=e.message))
    return redirect("/price-lists", msg=_("The price of %(sku)s is saved.", sku=sku.strip()))


@router.post("/price-lists/{price_id}/delete")
async def delete_price(price_id: int, v: PosterDep) -> Response:
    try:
        _need(v, Action.PRICE_LIST_EDIT)
        await v.platform.write(lambda s: prices.delete_list_price(s, price_id, v.user.username))
    except DomainError as e:
        return await _page(v, code=error_status(e), error=e.message)
    return redirect("/price-lists", msg=_("The price is removed."))
