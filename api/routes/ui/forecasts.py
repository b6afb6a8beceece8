"""The sales forecast page (planning): a grid of items × six months, each cell the forecast (a planner types it;
empty removes it) with what actual orders of that month ask for and what is left for MRP; rows to add items; a
link to import a CSV file (the import page) and to download one. Months before this one are shown, not
changed. Whoever reads production sees it (403 page for anyone else); planners change it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

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
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.numbers import read_number
from domain.inventory.tables import Item
from domain.permissions import Action
from domain.planning import forecasts
from domain.planning.forecast_rules import (
    ZERO,
    add_months,
    first_of_month,
    month_label,
    ordered_by_month,
    parse_month,
    remaining,
)

router = page_router()
MONTHS = 6  # columns of the grid
NEW_ROWS = 3  # empty rows to add items
MAX_PICK = 500  # items offered in the SKU list
MAX_CELLS = 2000  # cells one save may carry


def _today() -> date:
    return datetime.now(UTC).date()


def _start(text: str, today: date) -> date:
    """The grid's first month: the one asked for (?from=2027-01), else this month."""
    try:
        return parse_month(text, "the first month") if text else first_of_month(today)
    except Invalid:
        return first_of_month(today)


async def _page(v: Viewer, start: date, *, status: int = 200, typed: dict[str, str] | None = None,
                new_rows: list[dict[str, Any]] | None = None, **ctx: Any) -> Response:
    if not v.user.may(Action.PRODUCTION_READ):
        return await not_possible(v, Forbidden("forecasts are for planners, buyers, the warehouse, finance, the cfo, "
                                               "sales managers and admins"))
    today = _today()
    months = [add_months(start, i) for i in range(MONTHS)]

    def load(s: Session) -> dict[str, Any]:
        rows = forecasts.views(s, today, month_from=months[0], month_to=months[-1], limit=5000)
        names = dict(s.execute(select(Item.sku, Item.name).where(Item.sku.in_({r["sku"] for r in rows}))).all()) \
            if rows else {}
        pick = list(s.execute(select(Item.sku, Item.name).where(Item.active.is_(True), Item.list_price.is_not(None))
                              .order_by(Item.sku).limit(MAX_PICK)).all())
        ordered = ordered_by_month(forecasts.ordered(s, today, sorted(names), since=months[0])) \
            if names else {}
        return {"rows": rows, "names": names, "pick": [{"sku": p.sku, "name": p.name} for p in pick],
                "ordered": ordered}

    data = await v.platform.read(load)
    cells: dict[str, dict[str, Any]] = {}
    for r in data["rows"]:
        cells.setdefault(r["sku"], {})[r["month"]] = r
    grid = []
    for sku in sorted(cells):
        row_cells = []
        for m in months:
            label = month_label(m)
            f = cells[sku].get(label)
            got = data["ordered"].get((sku, m), ZERO)
            row_cells.append({"month": label, "name": f"q:{sku}:{label}", "qty": f["qty"] if f else None,
                              "value": f"{f['qty'].normalize():f}" if f else "",
                              "ordered": got, "remaining": remaining(f["qty"], got) if f else None,
                              "past": m < first_of_month(today)})
        grid.append({"sku": sku, "name": data["names"].get(sku, ""), "cells": row_cells})
    blanks = new_rows or [{"sku": "", "cells": {}} for _i in range(NEW_ROWS)]
    return await render(v, "forecasts.html", status, section="planning", grid=grid, months=[month_label(m) for m in months],
                        past={month_label(m) for m in months if m < first_of_month(today)}, pick=data["pick"],
                        typed=typed or {}, blanks=blanks, start=month_label(start),
                        earlier=month_label(add_months(start, -MONTHS)), later=month_label(add_months(start, MONTHS)),
                        this_month=month_label(first_of_month(today)), may_edit=v.user.may(Action.FORECAST_EDIT),
                        **ctx)


@router.get("/planning/forecasts")
async def forecasts_page(v: ViewerDep, start: Annotated[str, Query(alias="from", max_length=20)] = "") -> Response:
    return await _page(v, _start(start, _today()))


def _new_rows(form: dict[str, str], months: list[str]) -> list[dict[str, Any]]:
    """The added rows as typed (`new_sku_<i>` and `new_<i>:<month>`), to check and to show again after a refusal."""
    rows = []
    i = 0
    while f"new_sku_{i}" in form and i < 50:
        rows.append({"sku": form[f"new_sku_{i}"].strip(),
                     "cells": {m: form.get(f"new_{i}:{m}", "").strip() for m in months}})
        i += 1
    return rows


def _cells(form: dict[str, str], new_rows: list[dict[str, Any]]) -> dict[tuple[str, date], Decimal | None]:
    """The grid's typed cells: `q:<sku>:<month>` of the rows shown, then the added rows (an empty one is skipped; a
    quantity typed with no SKU is refused)."""
    cells: dict[tuple[str, date], Decimal | None] = {}
    for key, text in form.items():
        if key.startswith("q:"):
            _q, sku, label = key.split(":", 2)
            m = parse_month(label)
            cells[(sku, m)] = read_number(text, f"{sku}, {month_label(m)}")
    for n, row in enumerate(new_rows, start=1):
        sku = row["sku"]
        if not sku and any(row["cells"].values()):
            raise Invalid(f"new row {n}: name the item (its SKU) the quantities are for")
        for label, text in row["cells"].items() if sku else ():
            if text:
                m = parse_month(label)
                if cells.get((sku, m)) is not None:
                    raise Invalid(f"{sku} for {label} is in the grid already: change it there")
                cells[(sku, m)] = read_number(text, f"{sku}, {label}")
    if len(cells) > MAX_CELLS:
        raise Invalid(f"over {MAX_CELLS} forecasts at once: import them as a CSV file")
    return cells


@router.post("/planning/forecasts")
async def save_forecasts(v: PosterDep, request: Request) -> Response:
    form = {k: str(val) for k, val in (await request.form()).items()}
    start = _start(form.get("from", ""), _today())
    if not v.user.may(Action.FORECAST_EDIT):
        return await _page(v, start, status=403,
                           error=_("Only a planner or an admin can change forecasts. Nothing was changed."))
    months = [month_label(add_months(start, i)) for i in range(MONTHS)]
    typed = {k: val for k, val in form.items() if k.startswith("q:")}
    new_rows = _new_rows(form, months)
    try:
        cells = _cells(form, new_rows)
        today = _today()
        # cells of past months are shown, not sent: a past month that comes anyway is refused by the service
        counts = await v.platform.write(lambda s: forecasts.save_grid(s, cells, actor=v.user.username, today=today))
    except DomainError as e:
        return await _page(v, start, status=error_status(e), typed=typed, new_rows=new_rows or None,
                           error=_("The forecasts were not saved; nothing was changed. %(reason)s",
                                   reason=e.message[:1].upper() + e.message[1:]))
    if not any(counts.values()):
        msg = _("Nothing to save: the forecasts are as they were.")
    else:
        msg = _("Forecasts saved: %(created)s new, %(updated)s changed, %(deleted)s removed. The next MRP run plans "
                "them.", created=counts["created"], updated=counts["updated"], deleted=counts["deleted"])
    return redirect(f"/planning/forecasts?from={month_label(start)}", msg=msg)
