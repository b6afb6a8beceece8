"""BOM and work centre pages: the list of BOMs, one BOM as a tree (components with BOMs of their own expanded,
levels indented), the editor (one form row per line and empty rows to add: component, quantity, scrap %; the
issue method, labour hours and rate, overhead, work centre) and the work centres with their hourly cost. A
save is checked whole with every stored BOM (domain.manufacturing.boms.save_bom): a cycle or an unknown SKU is
refused with a sentence and nothing stored. A production order copies its BOM when it is made, so a change
applies to new orders only, and the message says which orders in progress keep the old one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy import func, select
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
from domain.core.errors import DomainError, Invalid, NotFound
from domain.core.numbers import read_number, read_whole
from domain.inventory import stock
from domain.inventory.tables import Item
from domain.manufacturing import boms
from domain.manufacturing.rules import MAX_BOM_LINES, BomIn, BomLineIn, WorkCentreIn
from domain.manufacturing.tables import BomRow, WorkCentre
from domain.permissions import Action
from domain.planning import items as in_use

router = page_router()
PAGE = 50
EMPTY_ROWS = 3


def _read(v: Viewer) -> None:
    permissions.check(v.user.roles, Action.BOM_READ, "BOMs and work centres are for planners, buyers, the "
                                                     "warehouse, the cfo and admin")


def _edit(v: Viewer) -> None:
    permissions.check(v.user.roles, Action.BOM_EDIT, "BOMs and work centres are changed by planners and admin")


def _offset(text: str) -> int:
    try:
        return max(0, min(read_whole(text, "the page") or 0, 10**9))
    except Invalid:
        return 0


@router.get("/boms")
async def boms_page(v: ViewerDep, offset: str = "") -> Response:
    _read(v)
    start = _offset(offset)

    def load(s: Session) -> dict[str, Any]:
        without = list(s.execute(select(Item.sku, Item.name).outerjoin(BomRow, BomRow.item_id == Item.id)
                                 .where(Item.kind == "manufactured", BomRow.id.is_(None), Item.active.is_(True))
                                 .order_by(Item.sku).limit(500)))
        return {"rows": boms.views(s, PAGE, start), "total": s.execute(select(func.count(BomRow.id))).scalar_one(),
                "without": without}

    return await render(v, "boms.html", section="items", offset=start, page=PAGE, **await v.platform.read(load))


@router.get("/boms/new")
async def new_bom(v: ViewerDep, sku: str = "") -> Response:
    _edit(v)
    return redirect(f"/boms/{sku.strip()[:60]}/edit") if sku.strip() else redirect("/boms")


# -- the editor ------------------------------------------------------------------------------------

HEAD_FIELDS = ("issue_method", "labour_hours", "labour_rate", "overhead_rate", "work_centre")


def read_bom_form(sku: str, form: Any) -> tuple[BomIn, dict[str, Any]]:
    """The BOM typed in the editor, or Invalid with a sentence. A row with no component is left out, and so is
    a row marked to be removed."""
    typed: dict[str, Any] = {k: str(form.get(k, "")).strip()[:60] for k in HEAD_FIELDS}
    rows = []
    indexes = sorted({int(k.split("_", 1)[1]) for k in form if k.startswith("component_") and k[10:].isdigit()})
    if len(indexes) > MAX_BOM_LINES + EMPTY_ROWS:
        raise Invalid(f"a BOM has at most {MAX_BOM_LINES} lines")
    lines = []
    for i in indexes:
        row: dict[str, Any] = {f: str(form.get(f"{f}_{i}", "")).strip()[:60] for f in ("component", "qty", "scrap")}
        row["remove"] = bool(form.get(f"remove_{i}"))
        rows.append(row)
        if not row["component"] or row["remove"]:
            continue
        qty = read_number(row["qty"], f"the quantity of {row['component']}")
        if qty is None:
            raise Invalid(f"give the quantity of {row['component']}")
        scrap = read_number(row["scrap"], f"the scrap % of {row['component']}") or Decimal(0)
        lines.append({"component_sku": row["component"], "qty": qty, "scrap_pct": scrap})
    typed["rows"] = rows
    if not lines:
        raise Invalid(f"the BOM of {sku} needs at least one line: give a component and its quantity")
    data: dict[str, Any] = {"item_sku": sku, "issue_method": typed["issue_method"] or "kitted"}
    labels = {"labour_hours": "the labour hours", "labour_rate": "the labour rate",
              "overhead_rate": "the overhead rate"}
    for f, what in labels.items():
        n = read_number(typed[f], what)
        if n is not None:
            data[f] = n
    if typed["work_centre"]:
        data["work_centre"] = typed["work_centre"]
    try:
        return BomIn(**data, lines=[BomLineIn(**ln) for ln in lines]), typed
    except ValidationError as e:
        raise Invalid(sentence(e.errors())) from None


def _typed_from(bom: dict[str, Any]) -> dict[str, Any]:
    def plain(d: Decimal | None) -> str:
        return "" if d is None else f"{d.normalize():f}"
    return {"issue_method": bom["issue_method"], "labour_hours": plain(bom["labour_hours"]),
            "labour_rate": plain(bom["labour_rate"]) if bom["labour_rate_from"] == "bom" else "",
            "overhead_rate": plain(bom["overhead_rate"]), "work_centre": bom["work_centre"] or "",
            "rows": [{"component": ln["component_sku"], "qty": plain(ln["qty"]), "scrap": plain(ln["scrap_pct"]),
                      "remove": False} for ln in bom["lines"]]}


async def _editor(v: Viewer, sku: str, typed: dict[str, Any] | None = None, status: int = 200,
                  error: str = "") -> Response:
    def load(s: Session) -> dict[str, Any]:
        item = stock.item_by_sku(s, sku)
        try:
            bom: dict[str, Any] | None = boms.view(s, sku)
        except NotFound:
            bom = None
        return {"item": {"sku": item.sku, "name": item.name, "kind": item.kind}, "bom": bom,
                "skus": list(s.execute(select(Item.sku, Item.name).where(Item.active.is_(True), Item.sku != sku)
                                       .order_by(Item.sku).limit(5000))),
                "centres": list(s.execute(select(WorkCentre.code, WorkCentre.name, WorkCentre.hourly_cost)
                                          .order_by(WorkCentre.code))),
                "in_progress": in_use.production_in_progress(s, sku)}

    ctx = await v.platform.read(load)
    if typed is None:
        typed = _typed_from(ctx["bom"]) if ctx["bom"] else {"issue_method": "kitted", "rows": []}
    rows = list(typed.get("rows", []))
    rows += [{"component": "", "qty": "", "scrap": "", "remove": False}] * EMPTY_ROWS
    return await render(v, "bom_form.html", status, section="items", typed=typed, rows=rows, error=error, **ctx)


@router.get("/boms/{sku:path}/edit")
async def edit_bom(sku: str, v: ViewerDep) -> Response:
    _edit(v)
    return await _editor(v, sku)


@router.post("/boms/{sku:path}/edit")
async def save_bom(sku: str, request: Request, v: PosterDep) -> Response:
    _edit(v)
    form = await request.form()
    typed: dict[str, Any] | None = None
    try:
        bom, typed = read_bom_form(sku, form)

        def save(s: Session) -> tuple[int, list[str]]:
            boms.save_bom(s, bom)
            return boms.view(s, sku)["revision"], in_use.production_in_progress(s, sku)

        revision, running = await v.platform.write(save)
    except DomainError as e:
        if typed is None:
            typed = {k: str(form.get(k, "")).strip()[:60] for k in HEAD_FIELDS}
            typed["rows"] = [{f: str(form.get(f"{f}_{i}", "")).strip()[:60] for f in ("component", "qty", "scrap")}
                             | {"remove": bool(form.get(f"remove_{i}"))}
                             for i in sorted({int(k[10:]) for k in form if k.startswith("component_")
                                              and k[10:].isdigit()})[:MAX_BOM_LINES]]
        return await _editor(v, sku, typed, error_status(e), e.message)
    msg = _("The BOM of %(sku)s is saved (revision %(revision)s).", sku=sku, revision=revision)
    if running:
        msg += " " + _("It applies to new production orders; %(orders)s in progress keep the BOM they were made "
                       "with.", orders=", ".join(running[:5]))
    return redirect(f"/boms/{sku}", msg=msg)


@router.get("/boms/{sku:path}")  # after /edit: a SKU may hold a "/"
async def bom_page(sku: str, v: ViewerDep) -> Response:
    _read(v)

    def load(s: Session) -> dict[str, Any]:
        return {"bom": boms.view(s, sku), "tree": boms.tree(s, sku),
                "in_progress": in_use.production_in_progress(s, sku)}

    return await render(v, "bom.html", section="items", **await v.platform.read(load))


# -- work centres ----------------------------------------------------------------------------------

async def _centres(v: Viewer, typed: dict[str, str] | None = None, status: int = 200, error: str = "",
                   editing: str = "") -> Response:
    _read(v)
    rows = await v.platform.read(lambda s: boms.work_centres(s))
    return await render(v, "work_centres.html", status, section="items", rows=rows, typed=typed or {},
                        error=error, editing=editing)


def _read_centre(form: Any, code: str | None = None) -> tuple[WorkCentreIn, dict[str, str]]:
    typed = {k: str(form.get(k, "")).strip()[:200] for k in ("code", "name", "hourly_cost")}
    if code is not None:
        typed["code"] = code
    cost = read_number(typed["hourly_cost"], "the hourly cost")
    try:
        return WorkCentreIn(code=typed["code"], name=typed["name"],
                            hourly_cost=cost if cost is not None else Decimal(0)), typed
    except ValidationError as e:
        raise Invalid(sentence(e.errors())) from None


@router.get("/work-centres")
async def centres_page(v: ViewerDep, edit: str = "") -> Response:
    return await _centres(v, editing=edit[:40])


@router.post("/work-centres")
async def create_centre(request: Request, v: PosterDep) -> Response:
    _edit(v)
    form = await request.form()
    typed = {k: str(form.get(k, "")).strip()[:200] for k in ("code", "name", "hourly_cost")}
    try:
        data, typed = _read_centre(form)
        await v.platform.write(lambda s: boms.create_work_centre(s, data))
    except DomainError as e:
        return await _centres(v, typed, error_status(e), e.message)
    return redirect("/work-centres", msg=_("Work centre %(code)s is created", code=data.code))


@router.post("/work-centres/{code}")
async def save_centre(code: str, request: Request, v: PosterDep) -> Response:
    _edit(v)
    form = await request.form()
    typed = {k: str(form.get(k, "")).strip()[:200] for k in ("name", "hourly_cost")} | {"code": code}
    try:
        data, typed = _read_centre(form, code)
        await v.platform.write(lambda s: boms.update_work_centre(s, code, data.name, data.hourly_cost))
    except DomainError as e:
        return await _centres(v, {f"edit_{k}": val for k, val in typed.items()}, error_status(e), e.message,
                              editing=code)
    return redirect("/work-centres", msg=_("Work centre %(code)s is saved", code=code))
