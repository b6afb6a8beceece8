"""Capable-to-promise over the demo database (domain/planning/promising.py): it reads open supply and open demand,
and the items and BOMs it keeps between calls are read again as soon as a lead time or a BOM changes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from domain.core.db import Database
from domain.core.errors import Invalid
from domain.inventory.tables import Item
from domain.manufacturing import boms
from domain.manufacturing.rules import BomIn, BomLineIn
from domain.planning import promising

TODAY = date(2027, 1, 4)


def ask(db: Database, *lines: tuple[str, str]) -> list[tuple[date, str, str]]:
    with db.read() as s:
        return [(p.promise_date, p.basis, p.constrained_by)
                for p in promising.promise(s, [(sku, D(q)) for sku, q in lines], as_of=TODAY)]


def test_a_changed_lead_time_or_bom_is_promised_on_at_once(db: Database) -> None:
    assert ask(db, ("FAN-200", "10")) == [(TODAY + timedelta(9), "build", "BLADE-SET: supplier lead time (6 days)")]
    with db.write() as s:
        s.execute(select(Item).where(Item.sku == "BLADE-SET")).scalar_one().lead_time_days = 12
    assert ask(db, ("FAN-200", "10")) == [(TODAY + timedelta(15), "build", "BLADE-SET: supplier lead time (12 days)")]
    with db.write() as s:  # the fan no longer needs a blade set: the housing is the slowest part now
        boms.save_bom(s, BomIn(item_sku="FAN-200", labour_hours=D(1), issue_method="kitted", lines=[
            BomLineIn(component_sku="MOTOR-200W", qty=D(1)), BomLineIn(component_sku="FAN-HOUSING", qty=D(1))]))
    assert ask(db, ("FAN-200", "10")) == [(TODAY + timedelta(5), "build", "FAN-HOUSING: production lead time (2 days)")]


def test_unknown_and_deactivated_items_and_bad_quantities_are_refused_by_line(db: Database) -> None:
    with db.write() as s:
        s.execute(select(Item).where(Item.sku == "PAINT-RED")).scalar_one().active = False
    for lines, says in ((("FAN-200", "1"), ("NOPE", "1")), "line 2: there is no item NOPE"), (
            (("PAINT-RED", "1"),), "line 1: PAINT-RED is deactivated"), (
            (("FAN-200", "0"),), "line 1: the quantity of FAN-200 must be above zero"), (
            (), "at least one line"):
        with pytest.raises(Invalid, match=says):
            ask(db, *lines)
