"""Supplier pages: the list (search, active / inactive, paging, CSV export), a new supplier, and one supplier (terms,
the items they supply at their prices, the items that name them as default supplier, recent purchase orders; edit,
prices, deactivate — refused while purchase orders of theirs wait for goods).

Who may: supplier.read to see, supplier.create to add, supplier.edit to change (domain.parties.master and prices,
domain.purchasing.suppliers, each change with its audit line)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Form, Query
from sqlalchemy import select
from starlette.responses import Response

from api.i18n import _
from api.routes.ui.customers import csv_response, read_party_form
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
from domain import permissions
from domain.core.errors import DomainError, Invalid
from domain.core.numbers import read_number, read_whole
from domain.inventory.tables import Item
from domain.parties import master, prices
from domain.parties.tables import Supplier
from domain.permissions import Action
from domain.purchasing import suppliers

router = page_router()
READERS = "the suppliers are for buyers, the warehouse, planners, finance, the cfo and admin"
EDITORS = "suppliers are changed by a buyer or admin"



async def _list(v: Viewer, q: str = "", status: str = "all", page: int = 1) -> Response:
    permissions.check(v.user.roles, Action.SUPPLIER_READ, READERS)
    if status not in suppliers.FILTERS:
        status = "all"
    data = await v.platform.read(lambda s: suppliers.listing(s, q, status, page))
    return await render(v, "suppliers.html", section="suppliers", q=q, show=status, **data)


@router.get("/suppliers")
async def suppliers_page(v: ViewerDep, q: Annotated[str, Query(max_length=100)] = "",
                         status: Annotated[str, Query(max_length=20)] = "all",
                         page: Annotated[int, Query(ge=1, le=100000)] = 1) -> Response:
    return await _list(v, q.strip(), status, page)


@router.get("/suppliers.csv")
async def suppliers_csv(v: ViewerDep) -> Response:
    permissions.check(v.user.roles, Action.SUPPLIER_READ, READERS)
    rows = await v.platform.read(suppliers.export_rows)
    return csv_response(rows, ["name", "currency", "payment_terms_days", "active"], "suppliers.csv")


async def _new(v: Viewer, *, code: int = 200, form: dict[str, str] | None = None, **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.SUPPLIER_CREATE, "suppliers are added by a buyer or admin")
    return await render(v, "supplier_form.html", code, section="suppliers",
                        form=form or {"currency": "USD", "payment_terms_days": "30"}, **ctx)


@router.get("/suppliers/new")
async def new_supplier(v: ViewerDep) -> Response:
    return await _new(v)


@router.post("/suppliers")
async def create_supplier(v: PosterDep, name: Annotated[str, Form(max_length=200)] = "",
                          currency: Annotated[str, Form(max_length=10)] = "",
                          payment_terms_days: Annotated[str, Form(max_length=20)] = "") -> Response:
    form = {"name": name, "currency": currency, "payment_terms_days": payment_terms_days}
    try:
        permissions.check(v.user.roles, Action.SUPPLIER_CREATE, "suppliers are added by a buyer or admin")
        data = read_party_form(name, currency, payment_terms_days)
        sid = await v.platform.write(lambda s: master.create_party(s, Supplier, data, v.user.username).id)
    except DomainError as e:
        return await _new(v, code=error_status(e), form=form,
                          error=_("The supplier was not saved: %(reason)s", reason=e.message))
    return redirect(f"/suppliers/{sid}", msg=_("Supplier %(name)s is saved.", name=data["name"]))


async def _supplier(v: Viewer, sid: int, *, code: int = 200, form: dict[str, str] | None = None,
                    price_form: dict[str, str] | None = None, **ctx: Any) -> Response:
    try:
        permissions.check(v.user.roles, Action.SUPPLIER_READ, READERS)
        data = await v.platform.read(lambda s: {**suppliers.page(s, sid), "items": [
            {"sku": sku, "name": name} for sku, name in s.execute(select(Item.sku, Item.name).order_by(Item.sku)
                                                                 .limit(500)).all()]})
    except DomainError as e:
        return await not_possible(v, e)
    sup = data["supplier"]
    base = {"name": sup["name"], "currency": sup["currency"], "payment_terms_days": str(sup["payment_terms_days"])}
    return await render(v, "supplier.html", code, section="suppliers", form={**base, **(form or {})},
                        price_form=price_form or {"currency": sup["currency"], "min_qty": "1",
                                                  "lead_time_days": "0"}, **data, **ctx)


@router.get("/suppliers/{sid}")
async def supplier_page(sid: int, v: ViewerDep) -> Response:
    return await _supplier(v, sid)


@router.post("/suppliers/{sid}")
async def edit_supplier(sid: int, v: PosterDep, name: Annotated[str, Form(max_length=200)] = "",
                        currency: Annotated[str, Form(max_length=10)] = "",
                        payment_terms_days: Annotated[str, Form(max_length=20)] = "") -> Response:
    form = {"name": name, "currency": currency, "payment_terms_days": payment_terms_days}
    try:
        permissions.check(v.user.roles, Action.SUPPLIER_EDIT, EDITORS)
        data = read_party_form(name, currency, payment_terms_days)
        await v.platform.write(lambda s: master.update_party(s, master.supplier(s, sid), data, v.user.username))
    except DomainError as e:
        return await _supplier(v, sid, code=error_status(e), form=form,
                               error=_("Nothing was changed: %(reason)s", reason=e.message))
    return redirect(f"/suppliers/{sid}", msg=_("Supplier %(name)s is saved.", name=data["name"]))


@router.post("/suppliers/{sid}/prices")
async def set_price(sid: int, v: PosterDep, sku: Annotated[str, Form(max_length=60)] = "",
                    price: Annotated[str, Form(max_length=40)] = "",
                    currency: Annotated[str, Form(max_length=10)] = "",
                    min_qty: Annotated[str, Form(max_length=40)] = "",
                    lead_time_days: Annotated[str, Form(max_length=10)] = "") -> Response:
    typed = {"sku": sku, "price": price, "currency": currency, "min_qty": min_qty, "lead_time_days": lead_time_days}
    try:
        permissions.check(v.user.roles, Action.SUPPLIER_EDIT, EDITORS)
        if not sku.strip():
            raise Invalid("choose the item")
        amount = read_number(price, "the price")
        if amount is None:
            raise Invalid("the price is required")
        qty = read_number(min_qty, "the minimum quantity")
        days = read_whole(lead_time_days, "the lead time")
        await v.platform.write(lambda s: prices.set_supplier_price(
            s, sid, sku, amount, currency, qty if qty is not None else Decimal(1), days or 0, v.user.username))
    except DomainError as e:
        return await _supplier(v, sid, code=error_status(e), price_form=typed,
                               error=_("The price was not saved: %(reason)s", reason=e.message))
    return redirect(f"/suppliers/{sid}", msg=_("The price of %(sku)s is saved.", sku=sku.strip()))


@router.post("/suppliers/{sid}/prices/{price_id}/delete")
async def delete_price(sid: int, price_id: int, v: PosterDep) -> Response:
    try:
        permissions.check(v.user.roles, Action.SUPPLIER_EDIT, EDITORS)
        await v.platform.write(lambda s: prices.delete_supplier_price(s, sid, price_id, v.user.username))
    except DomainError as e:
        return await _supplier(v, sid, code=error_status(e), error=e.message)
    return redirect(f"/suppliers/{sid}", msg=_("The price is removed."))


@router.post("/suppliers/{sid}/deactivate")
async def deactivate(sid: int, v: PosterDep) -> Response:
    try:
        permissions.check(v.user.roles, Action.SUPPLIER_EDIT, EDITORS)
        await v.platform.write(lambda s: suppliers.deactivate(s, sid, v.user.username))
    except DomainError as e:
        return await _supplier(v, sid, code=error_status(e),
                               error=_("The supplier was not deactivated: %(reason)s", reason=e.message))
    return redirect(f"/suppliers/{sid}", msg=_("The supplier is deactivated."))


@router.post("/suppliers/{sid}/reactivate")
async def reactivate(sid: int, v: PosterDep) -> Response:
    try:
        permissions.check(v.user.roles, Action.SUPPLIER_EDIT, EDITORS)
        await v.platform.write(lambda s: suppliers.reactivate(s, sid, v.user.username))
    except DomainError as e:
        return await _supplier(v, sid, code=error_status(e), error=e.message)
    return redirect(f"/suppliers/{sid}", msg=_("The supplier is active again."))
