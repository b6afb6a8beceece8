"""Item pages: the list (search by SKU or name, filter by kind and active, paging, the CSV export), the form that
creates or edits one, its page (stock levels, the stock movements, the BOMs that use it) and deactivating it,
refused with every reason while an open order or an active item's BOM names it (domain.planning.items)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy import func, or_, select
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
    sentence,
)
from domain import permissions
from domain.core.errors import DomainError, Invalid
from domain.core.numbers import read_number, read_whole
from domain.inventory import stock, uoms
from domain.inventory.tables import Item, StockBalance, StockLedgerEntry
from domain.manufacturing.rules import ItemFields
from domain.manufacturing.tables import BomRow
from domain.parties import master
from domain.parties.tables import Supplier
from domain.permissions import Action
from domain.planning import items as in_use

router = page_router()
PAGE = 50
MOVES = 25
NUMBERS = ("standard_cost", "safety_stock", "min_order_qty", "order_multiple")
FIELDS = ("sku", "name", "kind", "uom", *NUMBERS, "lead_time_days", "default_supplier_id")


def check_read(v: Viewer) -> None:
    permissions.check(v.user.roles, Action.ITEM_READ, "the item pages are for buyers, planners, the warehouse, "
                                                      "finance and admin")


def _offset(text: str) -> int:
    try:
        n = read_whole(text, "the page")
    except Invalid:
        return 0
    return max(0, min(n or 0, 10**9))


@router.get("/items")
async def items_page(v: ViewerDep, q: str = "", kind: str = "", active: str = "yes", offset: str = "") -> Response:
    check_read(v)
    q, start = q.strip()[:60], _offset(offset)
    kind = kind if kind in ("purchased", "manufactured") else ""
    active = active if active in ("yes", "no", "all") else "yes"

    def load(s: Session) -> dict[str, Any]:
        where = []
        if q:
            like = f"%{q.lower()}%"
            where.append(or_(func.lower(Item.sku).like(like), func.lower(Item.name).like(like)))
        if kind:
            where.append(Item.kind == kind)
        if active != "all":
            where.append(Item.active.is_(active == "yes"))
        total = s.execute(select(func.count(Item.id)).where(*where)).scalar_one()
        rows = s.execute(select(Item.sku, Item.name, Item.kind, Item.uom, Item.standard_cost, Item.active,
                                StockBalance.on_hand, StockBalance.reserved, StockBalance.on_order,
                                BomRow.id.label("bom"))
                         .outerjoin(StockBalance, StockBalance.item_id == Item.id)
                         .outerjoin(BomRow, BomRow.item_id == Item.id)
                         .where(*where).order_by(Item.sku).limit(PAGE).offset(start)).all()
        return {"rows": rows, "total": total}

    data = await v.platform.read(load)
    return await render(v, "items.html", section="items", q=q, kind=kind, active=active, offset=start,
                        page=PAGE, **data)


# -- the form --------------------------------------------------------------------------------------

def read_item_form(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The item typed in the form (numbers as people type them), or Invalid with a sentence."""
    typed = {k: str(form.get(k, "")).strip()[:200] for k in FIELDS}
    data: dict[str, Any] = {k: typed[k] for k in ("sku", "name", "kind", "uom") if typed[k]}
    labels = {"standard_cost": "the standard cost", "safety_stock": "the safety stock",
              "min_order_qty": "the minimum order quantity", "order_multiple": "the order multiple"}
    for k in NUMBERS:
        n = read_number(typed[k], labels[k])
        if n is not None:
            data[k] = n
    days = read_whole(typed["lead_time_days"], "the lead time")
    if days is not None:
        data["lead_time_days"] = days
    try:
        fields = ItemFields(**data).model_dump()
    except ValidationError as e:
        raise Invalid(sentence(e.errors())) from None
    supplier = read_whole(typed["default_supplier_id"], "the default supplier")
    fields["default_supplier_id"] = supplier or None
    return fields, typed


async def _form(v: Viewer, item: dict[str, Any] | None, typed: dict[str, str], status: int = 200,
                error: str = "") -> Response:
    def suppliers(s: Session) -> list[Any]:
        # Active suppliers, and the item's own even when it is no longer active (the form keeps it).
        typed_id = typed.get("default_supplier_id", "")
        current = int(typed_id) if typed_id.isascii() and typed_id.isdigit() and len(typed_id) < 12 else 0
        return list(s.execute(select(Supplier.id, Supplier.name)
                              .where(or_(Supplier.active.is_(True), Supplier.id == current))
                              .order_by(Supplier.name).limit(500)))

    return await render(v, "item_form.html", status, section="items", item=item, typed=typed, error=error,
                        suppliers=await v.platform.read(suppliers), units=await v.platform.read(_units))


def _units(s: Session) -> list[str]:
    return sorted(uoms.known(s))


def _typed(item: Item) -> dict[str, str]:
    def plain(d: Decimal) -> str:
        return f"{d.normalize():f}"
    return {"sku": item.sku, "name": item.name, "kind": item.kind, "uom": item.uom,
            **{k: plain(getattr(item, k)) for k in NUMBERS}, "lead_time_days": str(item.lead_time_days),
            "default_supplier_id": str(item.default_supplier_id or "")}


@router.get("/items/new")
async def new_item(v: ViewerDep) -> Response:
    permissions.check(v.user.roles, Action.ITEM_EDIT, "items are created by buyers, planners and admin")
    return await _form(v, None, {"kind": "purchased", "uom": "ea"})


@router.post("/items/new")
async def create_item(request: Request, v: PosterDep) -> Response:
    permissions.check(v.user.roles, Action.ITEM_EDIT, "items are created by buyers, planners and admin")
    form = await request.form()
    typed = {k: str(form.get(k, "")).strip()[:200] for k in FIELDS}
    try:
        data, typed = read_item_form(form)
        item = await v.platform.write(lambda s: master.item_view(master.create_item(s, data)))
    except DomainError as e:
        return await _form(v, None, typed, error_status(e), e.message)
    return redirect(f"/items/{item['sku']}", msg=_("Item %(sku)s is created", sku=item["sku"]))


@router.get("/items/{sku:path}/edit")
async def edit_item(sku: str, v: ViewerDep) -> Response:
    permissions.check(v.user.roles, Action.ITEM_EDIT, "items are changed by buyers, planners and admin")
    item = await v.platform.read(lambda s: stock.item_by_sku(s, sku))
    return await _form(v, master.item_view(item), _typed(item))


@router.post("/items/{sku:path}/edit")
async def save_item(sku: str, request: Request, v: PosterDep) -> Response:
    permissions.check(v.user.roles, Action.ITEM_EDIT, "items are changed by buyers, planners and admin")
    item = await v.platform.read(lambda s: master.item_view(stock.item_by_sku(s, sku)))
    form = await request.form()
    typed = {k: str(form.get(k, "")).strip()[:200] for k in FIELDS}
    typed["sku"] = sku
    try:
        data, typed = read_item_form({**{k: form.get(k, "") for k in FIELDS}, "sku": sku})
        await v.platform.write(lambda s: master.update_item(s, sku, data))
    except DomainError as e:
        return await _form(v, item, typed, error_status(e), e.message)
    return redirect(f"/items/{sku}", msg=_("Item %(sku)s is saved", sku=sku))


@router.post("/items/{sku:path}/deactivate")
async def deactivate(sku: str, v: PosterDep) -> Response:
    permissions.check(v.user.roles, Action.ITEM_EDIT, "items are deactivated by buyers, planners and admin")
    try:
        await v.platform.write(lambda s: in_use.set_active(s, sku, False))
    except DomainError as e:
        return await _item(v, sku, status=error_status(e), error=e.message)
    return redirect(f"/items/{sku}", msg=_("Item %(sku)s is deactivated", sku=sku))


@router.post("/items/{sku:path}/activate")
async def activate(sku: str, v: PosterDep) -> Response:
    permissions.check(v.user.roles, Action.ITEM_EDIT, "items are activated by buyers, planners and admin")
    await v.platform.write(lambda s: in_use.set_active(s, sku, True))
    return redirect(f"/items/{sku}", msg=_("Item %(sku)s is active again", sku=sku))


# -- the item's page -------------------------------------------------------------------------------

async def _item(v: Viewer, sku: str, moves_offset: int = 0, status: int = 200, error: str = "") -> Response:
    check_read(v)

    def load(s: Session) -> dict[str, Any]:
        item = stock.item_by_sku(s, sku)
        supplier = s.get(Supplier, item.default_supplier_id) if item.default_supplier_id else None
        moves = s.execute(select(StockLedgerEntry).where(StockLedgerEntry.item_id == item.id)
                          .order_by(StockLedgerEntry.id.desc()).limit(MOVES).offset(moves_offset)).scalars().all()
        count = s.execute(select(func.count(StockLedgerEntry.id))
                          .where(StockLedgerEntry.item_id == item.id)).scalar_one()
        has_bom = s.execute(select(BomRow.id).where(BomRow.item_id == item.id)).first() is not None
        return {"item": master.item_view(item), "supplier": supplier.name if supplier else "",
                "levels": stock.levels(s, sku), "moves": moves, "moves_total": count,
                "used_in": in_use.where_used(s, sku), "has_bom": has_bom,
                "blockers": in_use.blockers(s, item.id) if item.active else []}

    data = await v.platform.read(load)
    return await render(v, "item.html", status, section="items", moves_offset=moves_offset, moves_page=MOVES,
                        error=error, **data)


@router.get("/items/{sku:path}")  # last: a SKU may hold a "/"
async def item_page(sku: str, v: ViewerDep, moves: str = "") -> Response:
    return await _item(v, sku, _offset(moves))
