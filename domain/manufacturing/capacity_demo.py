"""The demo company's capacity (issue 20): both work centres work Monday to Friday, 8 hours a day (40 hours a week),
closed on Christmas and New Year's day;
FAN-200 takes 1 hour a unit on ASSEMBLY (as its BOM's labour says) plus an hour of setup, FAN-HOUSING 0.4 hours a
unit on FABRICATION. So next month's forecast of 50 fans, planned by MRP into one production order released three
days (the fan's lead time) before it is due, puts 51 hours on ASSEMBLY in one week of 40: an overload the planner
sees on the load table and in the run's exceptions, and levels by moving an order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from domain.manufacturing import routings
from domain.manufacturing.routings import CalendarIn, DayIn, OperationIn, RoutingIn

WEEKDAYS_8H = CalendarIn(mon=Decimal(8), tue=Decimal(8), wed=Decimal(8), thu=Decimal(8), fri=Decimal(8))
CALENDARS = {"ASSEMBLY": WEEKDAYS_8H, "FABRICATION": WEEKDAYS_8H}
ROUTINGS = {
    "FAN-200": RoutingIn(operations=[
        OperationIn(seq=10, work_centre="ASSEMBLY", description="Assemble motor, housing and blades",
                    setup_hours=Decimal(1), hours_per_unit=Decimal("0.75")),
        OperationIn(seq=20, work_centre="ASSEMBLY", description="Test and pack", hours_per_unit=Decimal("0.25"))]),
    "FAN-HOUSING": RoutingIn(operations=[
        OperationIn(seq=10, work_centre="FABRICATION", description="Cut, bend and paint",
                    setup_hours=Decimal("0.5"), hours_per_unit=Decimal("0.4"))]),
}


def holidays(today: date) -> list[DayIn]:
    """The days both work centres are closed: Christmas and New Year's day, this year and the next."""
    return [DayIn(day=date(y, m, d), reason=why) for y in (today.year, today.year + 1)
            for m, d, why in ((12, 25, "Christmas"), (1, 1, "New Year's day"))]


def load(session: Session, actor: str = "demo") -> None:
    closed = holidays(datetime.now(UTC).date())
    for code, cal in CALENDARS.items():
        routings.save_calendar(session, code, cal.model_copy(update={"days": closed}), actor=actor)
    for sku, routing in ROUTINGS.items():
        routings.save_routing(session, sku, routing, actor=actor)
