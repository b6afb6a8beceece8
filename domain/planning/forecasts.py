"""Sales forecasts over the database: entered one by one (API), a month grid at a time (the forecast page) or as
a CSV file (sku, month, qty; all rows or none), each shown with what actual orders of its month have used up;
and the forecasts' rest as MRP demand (domain.planning.forecast_rules has the rule).

Orders that use a forecast up: open, in fulfilment and delivered (completed) sales orders; an order waiting for
credit approval, rejected or cancelled does not (it is no demand MRP plans either). Each line counts its ordered
quantity in the month of the order's requested date; an order with none counts in the month it is due by: open,
today + the item's cumulative lead time (as MRP dates it); delivered, the day it was delivered."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.core import csvfile
from domain.core.errors import Conflict, DomainError, Invalid, NotFound
from domain.core.limits import MAX_QTY
from domain.core.numbers import PlainDecimal
from domain.core.types import utcnow
from domain.inventory.tables import Item
from domain.parties.imports import PREVIEW_ROWS, Errors, Preview, split_line
from domain.planning.forecast_rules import (
    ZERO,
    ForecastLine,
    OrderedQty,
    check_month,
    check_qty,
    first_of_month,
    month_label,
    net_demand,
    ordered_by_month,
    parse_month,
    remaining,
)
from domain.planning.forecast_tables import Forecast
from domain.planning.mrp import Demand
from domain.sales.rules import SalesOrderStatus
from domain.sales.tables import SalesOrder, SalesOrderLine

CONSUMING = (SalesOrderStatus.OPEN, SalesOrderStatus.IN_FULFILMENT, SalesOrderStatus.COMPLETED)
CSV_COLUMNS = ("sku", "month", "qty")
Progress = Callable[[int], None]


# --- what orders use up ----------------------------------------------------------------------------------

def ordered(session: Session, as_of: date, skus: list[str] | None = None,
            since: date | None = None) -> list[OrderedQty]:
    """Every sales order line that uses a forecast up, on the day it counts (see the module)."""
    q = (select(SalesOrder.status, SalesOrder.requested_date, SalesOrder.delivered_at, SalesOrder.created_at,
                SalesOrderLine.sku, SalesOrderLine.qty)
         .join(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
         .where(SalesOrder.status.in_(CONSUMING)))
    if skus is not None:
        q = q.where(SalesOrderLine.sku.in_(skus))
    if since is not None:  # an order requested earlier counts in a month before `since`; one with no date may not
        q = q.where((SalesOrder.requested_date >= since) | SalesOrder.requested_date.is_(None))
    rows = session.execute(q).all()
    leads: dict[str, int] = {}
    if any(r.requested_date is None and r.status != SalesOrderStatus.COMPLETED for r in rows):
        from domain.planning.services import cumulative_lead_times  # (services imports this module)
        leads = cumulative_lead_times(session)
    out = []
    for r in rows:
        if r.requested_date is not None:
            day = r.requested_date
        elif r.status == SalesOrderStatus.COMPLETED:
            day = (r.delivered_at or r.created_at).date()
        else:
            day = as_of + timedelta(days=leads.get(r.sku, 0))
        out.append(OrderedQty(r.sku, day, r.qty))
    return out


def forecast_demand(session: Session, as_of: date) -> list[Demand]:
    """The forecasts' rest (what orders have not used up) from the month of `as_of` on, as MRP demand."""
    this = first_of_month(as_of)
    rows = session.execute(select(Forecast.sku, Forecast.month, Forecast.qty).join(Item, Item.id == Forecast.item_id)
                           .where(Forecast.month >= this, Item.active.is_(True))).all()  # a deactivated item: none
    if not rows:
        return []
    lines = [ForecastLine(r.sku, r.month, r.qty) for r in rows]
    return net_demand(lines, ordered(session, as_of, sorted({f.sku for f in lines}), since=this), as_of)


# --- reading ---------------------------------------------------------------------------------------------

def _view(f: Forecast, used: Mapping[tuple[str, date], Decimal]) -> dict[str, Any]:
    got = used.get((f.sku, f.month), ZERO)
    return {"id": f.id, "sku": f.sku, "month": month_label(f.month), "qty": f.qty, "ordered": got,
            "remaining": remaining(f.qty, got), "created_by": f.created_by, "created_at": f.created_at,
            "updated_by": f.updated_by, "updated_at": f.updated_at}


def views(session: Session, as_of: date, *, sku: str | None = None, month_from: date | None = None,
          month_to: date | None = None, limit: int = 500, offset: int = 0) -> list[dict[str, Any]]:
    """Forecasts by month, then SKU, each with what orders of its month have ordered and what is left for MRP."""
    q = select(Forecast)
    if sku:
        q = q.where(Forecast.sku == sku)
    if month_from is not None:
        q = q.where(Forecast.month >= month_from)
    if month_to is not None:
        q = q.where(Forecast.month <= month_to)
    rows = list(session.execute(q.order_by(Forecast.month, Forecast.sku).limit(limit).offset(offset)).scalars())
    if not rows:
        return []
    used = ordered_by_month(ordered(session, as_of, sorted({f.sku for f in rows}), since=rows[0].month))
    return [_view(f, used) for f in rows]


def get(session: Session, forecast_id: int) -> Forecast:
    row = session.get(Forecast, forecast_id)
    if row is None:
        raise NotFound(f"no forecast {forecast_id}")
    return row


def view(session: Session, forecast_id: int, as_of: date) -> dict[str, Any]:
    f = get(session, forecast_id)
    return _view(f, ordered_by_month(ordered(session, as_of, [f.sku], since=f.month)))


# --- changing --------------------------------------------------------------------------------------------

def _item(session: Session, sku: str, what: str = "") -> Item:
    item = session.execute(select(Item).where(Item.sku == sku)).unique().scalar_one_or_none()
    if item is None:
        raise Invalid(f"{what}there is no item {sku!r}")
    if not item.active:
        raise Invalid(f"{what}{sku} is deactivated: it cannot be forecast")
    return item


def create(session: Session, *, sku: str, month: str | date, qty: Decimal, actor: str, today: date) -> Forecast:
    """A new forecast; one for the same item and month exists already → Conflict naming it (change that one)."""
    m = parse_month(month)
    check_month(m, today)
    check_qty(qty)
    item = _item(session, sku)
    have = session.execute(select(Forecast.id).where(Forecast.item_id == item.id, Forecast.month == m)).scalar()
    if have is not None:
        raise Conflict(f"{sku} has a forecast for {month_label(m)} already (forecast {have}): change that one")
    now = utcnow()
    row = Forecast(item_id=item.id, sku=item.sku, month=m, qty=qty, created_by=actor, created_at=now,
                   updated_by=actor, updated_at=now)
    session.add(row)
    _flush(session)
    return row


def _flush(session: Session) -> None:
    """Writes the new rows; another writer's row of the same item and month committed since they were checked
    (two planners at once) → Conflict, nothing stored, instead of the unique key's error."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("another change of the same item's forecast for that month came at the same time; nothing "
                       "was changed: look at the forecasts again") from None


def update(session: Session, forecast_id: int, *, qty: Decimal, actor: str, today: date) -> Forecast:
    """A new quantity for a forecast of this month or a later one (a past month's stays as it was)."""
    row = get(session, forecast_id)
    check_month(row.month, today, "the forecast's month")
    check_qty(qty)
    row.qty, row.updated_by, row.updated_at = qty, actor, utcnow()
    session.flush()
    return row


def remove(session: Session, forecast_id: int, today: date) -> None:
    row = get(session, forecast_id)
    check_month(row.month, today, "the forecast's month")
    session.delete(row)
    session.flush()


def save_grid(session: Session, cells: Mapping[tuple[str, date], Decimal | None], *, actor: str,
              today: date) -> dict[str, int]:
    """The forecast page's grid: for each (sku, month) the quantity typed (None or 0: no forecast). Everything is
    checked first (a refusal names the item and month; nothing is stored), then forecasts are created, changed
    and removed. Answers how many of each."""
    items: dict[str, Item] = {}
    for (sku, month), qty in cells.items():
        where = f"{sku}, {month_label(month)}: "
        check_month(month, today, f"{where}the month")
        if qty is not None and qty != 0:
            check_qty(qty, f"{where}the quantity")
        if sku not in items:
            items[sku] = _item(session, sku, where)
    have = {(f.sku, f.month): f for f in session.execute(
        select(Forecast).where(Forecast.sku.in_(list(items)))).scalars()} if items else {}
    return _apply(session, {k: (q if q else None) for k, q in cells.items()}, items, have, actor)


def _apply(session: Session, cells: Mapping[tuple[str, date], Decimal | None], items: Mapping[str, Item],
           have: Mapping[tuple[str, date], Forecast], actor: str, progress: Progress | None = None) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "deleted": 0}
    now = utcnow()
    for n, ((sku, month), qty) in enumerate(cells.items(), start=1):
        row = have.get((sku, month))
        if qty is None:
            if row is not None:
                session.delete(row)
                counts["deleted"] += 1
        elif row is None:
            session.add(Forecast(item_id=items[sku].id, sku=sku, month=month, qty=qty, created_by=actor,
                                 created_at=now, updated_by=actor, updated_at=now))
            counts["created"] += 1
        elif row.qty != qty:
            row.qty, row.updated_by, row.updated_at = qty, actor, now
            counts["updated"] += 1
        if progress is not None and n % 50 == 0:
            progress(n)
    _flush(session)
    return counts


# --- CSV -------------------------------------------------------------------------------------------------

class ForecastRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=60)
    month: str = Field(min_length=1, max_length=20)
    qty: PlainDecimal = Field(ge=0, le=MAX_QTY, decimal_places=4, description="0: no forecast (removes one)")


def export_csv(session: Session, since: date | None = None) -> str:
    q = select(Forecast.sku, Forecast.month, Forecast.qty)
    if since is not None:
        q = q.where(Forecast.month >= since)
    rows = ((sku, month_label(m), qty) for sku, m, qty in session.execute(q.order_by(Forecast.month, Forecast.sku)))
    return csvfile.write(CSV_COLUMNS, rows)


def import_csv(session: Session, text: str, *, actor: str, today: date, progress: Progress | None = None,
               errors: Errors | None = None) -> dict[str, int]:
    """A file of forecasts (sku, month, qty): a row sets that item's forecast for the month (qty 0 removes it).
    All rows or none: every row is checked first; the first bad one is refused naming its line (with `errors`,
    every bad row is noted instead and nothing is stored)."""
    _, rows = csvfile.read(text, CSV_COLUMNS, CSV_COLUMNS)
    all_items = {i.sku: i for i in session.execute(select(Item)).unique().scalars()}
    cells: dict[tuple[str, date], Decimal | None] = {}
    seen: dict[tuple[str, date], int] = {}
    items: dict[str, Item] = {}
    for line, raw in rows:
        try:
            r = csvfile.parse(ForecastRow, line, raw)
            try:
                month = parse_month(r.month)
                check_month(month, today)
            except Invalid as e:
                raise Invalid(f"line {line}: {e.message}") from None
            item = all_items.get(r.sku)
            if item is None:
                raise Invalid(f"line {line}: there is no item {r.sku!r}")
            if not item.active:
                raise Invalid(f"line {line}: {r.sku} is deactivated: it cannot be forecast")
            if (r.sku, month) in seen:
                raise Invalid(f"line {line}: {r.sku} for {month_label(month)} is on line {seen[(r.sku, month)]} "
                              "already")
            seen[(r.sku, month)] = line
            items[r.sku] = item
            cells[(r.sku, month)] = r.qty or None
        except DomainError as e:
            if errors is None:
                raise
            errors.append(split_line(e.message, line))
    if errors:
        return {"rows": len(rows), "created": 0, "updated": 0, "deleted": 0}
    have = {(f.sku, f.month): f for f in session.execute(
        select(Forecast).where(Forecast.sku.in_(list(items)))).scalars()} if items else {}
    return {"rows": len(rows), **_apply(session, cells, items, have, actor, progress)}


def preview(session: Session, text: str, *, actor: str, today: date) -> Preview:
    """The import page's check of a forecast file: its first rows, how many, and every bad row. Stores nothing."""
    out = Preview("forecasts", list(CSV_COLUMNS))
    try:
        header, rows = csvfile.read(text, CSV_COLUMNS, ())
    except Invalid as e:
        out.errors.append(split_line(e.message))
        return out
    out.columns, out.rows, out.total = header, rows[:PREVIEW_ROWS], len(rows)
    errors: Errors = []
    try:
        with session.begin_nested() as nested:
            import_csv(session, text, actor=actor, today=today, errors=errors)
            nested.rollback()
    except DomainError as e:
        errors.append(split_line(e.message))
    out.errors = sorted(errors, key=lambda e: e[0])
    return out

