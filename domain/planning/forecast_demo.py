"""The demo company's sales forecasts (issue 20; loaded by `valueloop up --demo`, not by domain.demo.load, whose
plans other tests count on): spare motors sell about ten a month, and the fans of the month
after next are forecast at 30. Next month's fans are carol's to enter (the story: she types 50 on the forecast
page, runs MRP, and sees ASSEMBLY overloaded in one week, domain.manufacturing.capacity_demo)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from domain.core.types import utcnow
from domain.planning import forecasts
from domain.planning.forecast_rules import add_months, first_of_month

# (sku, months from this one, quantity)
FORECASTS = (("MOTOR-200W", 1, "10"), ("MOTOR-200W", 2, "10"), ("FAN-200", 2, "30"))


def load(session: Session, today: date | None = None) -> None:
    this = first_of_month(today or utcnow().date())
    forecasts.save_grid(session, {(sku, add_months(this, n)): Decimal(qty) for sku, n, qty in FORECASTS},
                        actor="carol", today=this)
