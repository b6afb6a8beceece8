"""Capacity master data in the database: work-centre calendars (hours per weekday) and routings (an item's
operations, each on a work centre). A routing is saved whole, all operations or none: an unknown item or work
centre, a work centre with no calendar (its capacity is unknown, so its load could never be weighed), a sequence
number twice: refused with a sentence, nothing stored. Every change is audited (who, before, after)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain.audit import services as audit
from domain.core.errors import Invalid, NotFound
from domain.core.numbers import PlainDecimal, PlainInt
from domain.core.types import utcnow
from domain.inventory.tables import Item
from domain.manufacturing.capacity_tables import RoutingOperation, WorkCentreCalendar, WorkCentreDay
from domain.manufacturing.rules import MAX_HOURS
from domain.manufacturing.tables import WorkCentre

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_HOURS = Decimal(24)
MAX_OPERATIONS = 50
MAX_DAYS = 400  # dated exceptions of one calendar
ZERO = Decimal(0)


class DayIn(BaseModel):
    """A dated exception: the hours worked that day (0: a holiday) and why."""

    model_config = ConfigDict(extra="forbid")

    day: date
    hours: PlainDecimal = Field(default=ZERO, ge=0, le=DAY_HOURS, decimal_places=2)
    reason: str = Field(default="", max_length=200)


class CalendarIn(BaseModel):
    """A work centre's hours on each weekday (0: closed that day), and the dated days that differ (replaced whole)."""

    model_config = ConfigDict(extra="forbid")

    mon: PlainDecimal = Field(default=ZERO, ge=0, le=DAY_HOURS, decimal_places=2)
    tue: PlainDecimal = Field(default=ZERO, ge=0, le=DAY_HOURS, decimal_places=2)
    wed: PlainDecimal = Field(default=ZERO, ge=0, le=DAY_HOURS, decimal_places=2)
    thu: PlainDecimal = Field(default=ZERO, ge=0, le=DAY_HOURS, decimal_places=2)
    fri: PlainDecimal = Field(default=ZERO, ge=0, le=DAY_HOURS, decimal_places=2)
    sat: PlainDecimal = Field(default=ZERO, ge=0, le=DAY_HOURS, decimal_places=2)
    sun: PlainDecimal = Field(default=ZERO, ge=0, le=DAY_HOURS, decimal_places=2)

    days: list[DayIn] = Field(default=[], max_length=MAX_DAYS)

    @model_validator(mode="after")
    def _works_some_day(self) -> CalendarIn:
        if not any(getattr(self, d) for d in WEEKDAYS):
            raise ValueError("a calendar needs hours on at least one weekday")
        twice = sorted({d.day for d in self.days if sum(1 for x in self.days if x.day == d.day) > 1})
        if twice:
            raise ValueError(f"{twice[0]} is given twice")
        return self


class OperationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: PlainInt = Field(ge=1, le=9999)
    work_centre: str = Field(min_length=1, max_length=40)
    description: str = Field(default="", max_length=200)
    setup_hours: PlainDecimal = Field(default=ZERO, ge=0, le=MAX_HOURS, decimal_places=4)
    hours_per_unit: PlainDecimal = Field(default=ZERO, ge=0, le=MAX_HOURS, decimal_places=4)

    @model_validator(mode="after")
    def _takes_time(self) -> OperationIn:
        if not self.setup_hours and not self.hours_per_unit:
            raise ValueError(f"operation {self.seq} needs setup hours or hours per unit above zero")
        return self


class RoutingIn(BaseModel):
    """An item's routing, whole: its operations (none: the item has no routing any more)."""

    model_config = ConfigDict(extra="forbid")

    operations: list[OperationIn] = Field(max_length=MAX_OPERATIONS)


def _centre(session: Session, code: str, *, lock: bool = False) -> WorkCentre:
    q = select(WorkCentre).where(WorkCentre.code == code)
    wc = session.execute(q.with_for_update() if lock else q).scalar_one_or_none()
    if wc is None:
        raise NotFound(f"no work centre {code!r}")
    return wc


def _hours(cal: WorkCentreCalendar | None) -> dict[str, Decimal] | None:
    return None if cal is None else {d: getattr(cal, d) for d in WEEKDAYS}


def _days(session: Session, work_centre_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(WorkCentreDay).where(WorkCentreDay.work_centre_id == work_centre_id)
                           .order_by(WorkCentreDay.day)).scalars()
    return [{"day": r.day, "hours": r.hours, "reason": r.reason} for r in rows]


def calendar_view(session: Session, code: str) -> dict[str, Any]:
    wc = _centre(session, code)
    cal = session.execute(select(WorkCentreCalendar).where(WorkCentreCalendar.work_centre_id == wc.id)
                          ).scalar_one_or_none()
    hours = _hours(cal)
    return {"work_centre": wc.code, "name": wc.name, "hours": hours,
            "week_hours": sum(hours.values(), ZERO) if hours else None, "days": _days(session, wc.id),
            "updated_by": cal.updated_by if cal else None, "updated_at": cal.updated_at if cal else None}


def calendars(session: Session) -> dict[str, dict[str, Decimal]]:
    """Every work centre's calendar (code → weekday → hours); a work centre without one is absent."""
    rows = session.execute(select(WorkCentre.code, WorkCentreCalendar)
                           .join(WorkCentreCalendar, WorkCentreCalendar.work_centre_id == WorkCentre.id)).all()
    return {code: {d: getattr(cal, d) for d in WEEKDAYS} for code, cal in rows}


def dated_days(session: Session) -> dict[str, dict[date, Decimal]]:
    """Every work centre's dated exceptions (code → day → hours)."""
    out: dict[str, dict[date, Decimal]] = {}
    for code, day, hours in session.execute(select(WorkCentre.code, WorkCentreDay.day, WorkCentreDay.hours)
                                            .join(WorkCentreDay, WorkCentreDay.work_centre_id == WorkCentre.id)):
        out.setdefault(code, {})[day] = hours
    return out


def save_calendar(session: Session, code: str, data: CalendarIn, *, actor: str) -> dict[str, Any]:
    """Create or replace a work centre's calendar."""
    wc = _centre(session, code, lock=True)  # two first saves at once take turns instead of one failing
    cal = session.execute(select(WorkCentreCalendar).where(WorkCentreCalendar.work_centre_id == wc.id)
                          ).scalar_one_or_none()
    before = {"hours": _hours(cal), "days": _days(session, wc.id)}
    if cal is None:
        cal = WorkCentreCalendar(work_centre_id=wc.id)
        session.add(cal)
    for d in WEEKDAYS:
        setattr(cal, d, getattr(data, d))
    cal.updated_by, cal.updated_at = actor, utcnow()
    session.execute(delete(WorkCentreDay).where(WorkCentreDay.work_centre_id == wc.id))
    for x in sorted(data.days, key=lambda x: x.day):
        session.add(WorkCentreDay(work_centre_id=wc.id, day=x.day, hours=x.hours, reason=x.reason.strip()))
    session.flush()
    after = {"hours": _hours(cal), "days": _days(session, wc.id)}
    if after != before:
        audit.record(session, actor, "work_centre", code, before, after, action="calendar")
    return calendar_view(session, code)


def _item(session: Session, sku: str, *, lock: bool = False) -> Item:
    q = select(Item).where(Item.sku == sku)
    item = session.execute(q.with_for_update(of=Item) if lock else q).scalar_one_or_none()
    if item is None:
        raise NotFound(f"no item {sku!r}")
    return item


def _operations(session: Session, item_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(RoutingOperation, WorkCentre.code)
                           .join(WorkCentre, WorkCentre.id == RoutingOperation.work_centre_id)
                           .where(RoutingOperation.item_id == item_id).order_by(RoutingOperation.seq)).all()
    return [{"seq": op.seq, "work_centre": code, "description": op.description, "setup_hours": op.setup_hours,
             "hours_per_unit": op.hours_per_unit} for op, code in rows]


def routing_view(session: Session, sku: str) -> dict[str, Any]:
    item = _item(session, sku)
    ops = _operations(session, item.id)
    return {"sku": item.sku, "name": item.name, "kind": item.kind, "operations": ops}


def routings(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every routing (sku → operations in sequence)."""
    rows = session.execute(select(Item.sku, RoutingOperation, WorkCentre.code)
                           .join(Item, Item.id == RoutingOperation.item_id)
                           .join(WorkCentre, WorkCentre.id == RoutingOperation.work_centre_id)
                           .order_by(Item.sku, RoutingOperation.seq)).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for sku, op, code in rows:
        out.setdefault(sku, []).append({"seq": op.seq, "work_centre": code, "description": op.description,
                                        "setup_hours": op.setup_hours, "hours_per_unit": op.hours_per_unit})
    return out


def check_routing(session: Session, sku: str, data: RoutingIn) -> tuple[Item, dict[str, int]]:
    """The item and the work centres (code → id) of a routing that may be saved; Invalid/NotFound with every
    reason otherwise."""
    item = _item(session, sku, lock=True)  # two saves of one routing take turns (delete, then insert)
    if item.kind != "manufactured":
        raise Invalid(f"{sku} is purchased: only a manufactured item has a routing")
    count = Counter(op.seq for op in data.operations)
    twice = sorted(seq for seq, n in count.items() if n > 1)
    problems = [f"operation {s} is given twice" for s in twice]
    codes = sorted({op.work_centre for op in data.operations})
    rows = session.execute(select(WorkCentre.code, WorkCentre.id, WorkCentreCalendar.id.label("cal"))
                           .outerjoin(WorkCentreCalendar, WorkCentreCalendar.work_centre_id == WorkCentre.id)
                           .where(WorkCentre.code.in_(codes))).all() if codes else []
    known = {r.code: r for r in rows}
    problems += [f"there is no work centre {c!r}" for c in codes if c not in known]
    problems += [f"work centre {c} has no calendar: give it its hours per weekday first (its load could not be "
                 f"weighed against any capacity)" for c in codes if c in known and known[c].cal is None]
    if problems:
        raise Invalid(f"the routing of {sku} is not saved: " + "; ".join(problems))
    return item, {c: known[c].id for c in codes}


def save_routing(session: Session, sku: str, data: RoutingIn, *, actor: str) -> dict[str, Any]:
    """Replace an item's routing whole (no operation: it has none any more)."""
    item, centres = check_routing(session, sku, data)
    before = _operations(session, item.id)
    session.execute(delete(RoutingOperation).where(RoutingOperation.item_id == item.id))
    now = utcnow()
    for op in sorted(data.operations, key=lambda o: o.seq):
        session.add(RoutingOperation(item_id=item.id, seq=op.seq, work_centre_id=centres[op.work_centre],
                                     description=op.description.strip(), setup_hours=op.setup_hours,
                                     hours_per_unit=op.hours_per_unit, updated_by=actor, updated_at=now))
    session.flush()
    view = routing_view(session, sku)
    if view["operations"] != before:
        audit.record(session, actor, "item", sku, before, view["operations"], action="routing")
    return view
