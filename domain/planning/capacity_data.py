"""Capacity over the database: the company's calendars, routings and open production orders (and a stored MRP
run's planned production orders) as domain.planning.capacity's model; the load table the planning pages and the
API show; the "capacity overload" exceptions a stored MRP run carries."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.core.errors import NotFound
from domain.manufacturing import routings as routing_service
from domain.planning import promising
from domain.planning.capacity import Calendar, CapacityModel, Cell, LoadOrder, Operation, week_label
from domain.planning.tables import MrpRun
from domain.production import rules as production_rules
from domain.production.tables import ProductionOrder

OVERLOAD = "capacity overload"
MAX_WEEKS = 26  # the load table shows at most this many weeks
MIN_WEEKS = 8
TENTH = Decimal("0.1")


def calendars(session: Session) -> dict[str, Calendar]:
    days = routing_service.dated_days(session)
    return {code: Calendar(code, tuple(h[d] for d in routing_service.WEEKDAYS),  # type: ignore[arg-type]
                           days.get(code, {}))
            for code, h in routing_service.calendars(session).items()}


def routings(session: Session) -> dict[str, list[Operation]]:
    return {sku: [Operation(op["seq"], op["work_centre"], op["setup_hours"], op["hours_per_unit"]) for op in ops]
            for sku, ops in routing_service.routings(session).items()}


def open_orders(session: Session, skus: set[str] | None = None) -> list[LoadOrder]:
    """Open production orders (waiting for material or released) for what they still have to make."""
    q = select(ProductionOrder.number, ProductionOrder.sku, ProductionOrder.qty, ProductionOrder.completed_qty,
               ProductionOrder.release_date, ProductionOrder.due_date).where(
        ProductionOrder.status.in_(production_rules.OPEN_STATUSES))
    if skus is not None:
        q = q.where(ProductionOrder.sku.in_(sorted(skus)))
    return [LoadOrder(r.number, r.sku, r.qty - r.completed_qty, r.release_date, r.due_date,
                      setup_done=r.completed_qty > 0)
            for r in session.execute(q) if r.qty > r.completed_qty]


def planned_orders(run_number: str, result: dict[str, Any], skus: set[str] | None = None) -> list[LoadOrder]:
    """A stored run's planned production orders, named "<run>-<n>" (n: the 1-based position among its planned
    orders); one already released (it is a production order now, counted as such) is left out."""
    out = []
    for n, p in enumerate(result.get("planned_orders", []), start=1):
        if p["kind"] != "production" or p.get("released_as") or (skus is not None and p["sku"] not in skus):
            continue
        out.append(LoadOrder(p.get("id") or f"{run_number}-{n}", p["sku"], Decimal(p["qty"]), date.fromisoformat(p["release_date"]),
                             date.fromisoformat(p["due_date"]), planned=True))
    return out


def latest_run(session: Session) -> MrpRun | None:
    """The newest stored run that is not a what-if: the plan the load table shows by default."""
    return session.execute(select(MrpRun).where(MrpRun.what_if.is_(False)).order_by(MrpRun.id.desc()).limit(1)
                           ).scalar_one_or_none()


def capacity_model(session: Session, as_of: date, run: str | None = None) -> CapacityModel:
    """The load of the open production orders (and of run `run`'s planned production orders) from `as_of`:
    capable-to-promise's CapacityLike. Only items with a routing load anything."""
    routes = routings(session)
    skus = set(routes)
    orders = open_orders(session, skus) if skus else []
    if run is not None and skus:
        row = session.execute(select(MrpRun).where(MrpRun.number == run)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no MRP run {run}")
        orders += planned_orders(row.number, row.result, skus)
    return CapacityModel(calendars(session), routes, orders, as_of)


def _message(cell: Cell, model: CapacityModel) -> str:
    return (f"{cell.work_centre} is overloaded in week {cell.week} (from {cell.week_start}): "
            f"{tenth(cell.load).normalize():f} h of work for {cell.capacity.normalize():f} h available "
            f"({cell.utilisation}%); move or split an order: "
            + ", ".join(f"{ref} ({model.skus.get(ref, '?')}, {tenth(h).normalize():f} h)" for ref, h in cell.orders[:6])
            + (f" and {len(cell.orders) - 6} more" if len(cell.orders) > 6 else ""))


def overload_exceptions(model: CapacityModel) -> list[dict[str, Any]]:
    """One "capacity overload" exception per overloaded work centre and week, in an MRP run's JSON shape:
    date = the week's Monday, due_date its Sunday, qty = the hours over capacity, reference = the work centre,
    pegged_to = the orders loading it (most hours first), sku = their items."""
    out = []
    for c in model.overloads():
        skus = sorted({model.skus.get(ref, "") for ref, _ in c.orders} - {""})
        out.append({"kind": OVERLOAD, "sku": ", ".join(skus)[:200], "date": c.week_start.isoformat(),
                    "qty": f"{tenth(c.over).normalize():f}", "due_date": (c.week_start + timedelta(days=6)).isoformat(),
                    "days": 0, "pegged_to": [ref for ref, _ in c.orders], "reference": c.work_centre,
                    "week": c.week, "load": f"{tenth(c.load).normalize():f}", "capacity": f"{c.capacity.normalize():f}",
                    "message": _message(c, model)})
    return out


def add_overloads(session: Session, run: MrpRun) -> None:
    """Add the capacity overloads of the open production orders and the run's planned orders to a run being stored
    (its number and result set, before it is flushed). Nothing when no item has a routing."""
    routes = routings(session)
    if not routes:
        return
    skus = set(routes)
    model = CapacityModel(calendars(session), routes,
                          open_orders(session, skus) + planned_orders(run.number, run.result, skus), run.as_of)
    found = overload_exceptions(model)
    if found:
        run.result = {**run.result, "exceptions": [*run.result.get("exceptions", []), *found]}
        run.exception_count = (run.exception_count or 0) + len(found)


def tenth(hours: Decimal) -> Decimal:
    """Hours as the load table shows them: to a tenth (an order's hours are spread in four places; whether a week is
    overloaded is decided on those)."""
    return hours.quantize(TENTH, rounding=ROUND_HALF_UP)


def load_view(session: Session, as_of: date, run: str | None = "latest") -> dict[str, Any]:
    """The load table: one row per work centre, one cell per ISO week from as_of's (at least MIN_WEEKS, at most
    MAX_WEEKS), each with its load, capacity and the orders in it. `run`: a stored run whose planned orders are
    added ("latest": the newest that is not a what-if; None: open production orders only)."""
    chosen = latest_run(session) if run == "latest" else None
    number = chosen.number if chosen is not None else (None if run == "latest" else run)
    model = capacity_model(session, as_of, number)
    weeks = model.weeks(MIN_WEEKS)
    later = len(weeks) > MAX_WEEKS
    weeks = weeks[:MAX_WEEKS]
    orders = {o.reference: o for o in model.orders}

    def cell(c: Cell) -> dict[str, Any]:
        return {"week": c.week, "week_start": c.week_start, "load": tenth(c.load), "capacity": c.capacity,
                "utilisation": c.utilisation, "overloaded": c.overloaded, "over": tenth(c.over),
                "orders": [{"reference": ref, "sku": orders[ref].sku, "hours": tenth(h), "planned": orders[ref].planned,
                            "qty": orders[ref].qty, "release_date": orders[ref].release_date,
                            "due_date": orders[ref].due_date} for ref, h in c.orders]}

    rows = [{"work_centre": wc, "calendar": wc in model.calendars,
             "week_hours": model.calendars[wc].week if wc in model.calendars else None,
             "cells": [cell(model.cell(wc, w)) for w in weeks]} for wc in model.work_centres()]
    return {"as_of": as_of, "run": number, "weeks": [{"week": week_label(w), "week_start": w} for w in weeks],
            "more_weeks": later, "rows": rows,
            "overloads": [{"work_centre": c.work_centre, "week": c.week, "week_start": c.week_start,
                           "load": tenth(c.load), "capacity": c.capacity, "over": tenth(c.over)}
                          for c in model.overloads()]}


def promise_capacity(session: Session, as_of: date) -> CapacityModel | None:
    """Capable-to-promise's capacity: the load of the open production orders (None when no item has a routing)."""
    routes = routings(session)  # first: a company without routings pays one small query per promise
    if not routes:
        return None
    return CapacityModel(calendars(session), routes, open_orders(session, set(routes)), as_of)


promising.capacity_source = promise_capacity  # capable-to-promise asks it for items with a routing
