"""Units of measure in the database (domain/inventory/uoms.py): the defaults answer without the demo and are
seeded by it; an item's unit must exist; a whole unit's quantities are integers in stock adjustments too."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from domain.core.db import Database
from domain.core.errors import Invalid
from domain.inventory import uoms
from domain.inventory.tables import Uom
from domain.parties import imports, master

ITEM = {"name": "Test", "kind": "purchased", "standard_cost": D(1), "lead_time_days": 0, "safety_stock": D(0),
        "min_order_qty": D(0), "order_multiple": D(0)}


def test_the_defaults_answer_without_the_demo(fresh_db: Database) -> None:
    with fresh_db.read() as s:
        assert s.execute(select(Uom)).first() is None
        units = uoms.known(s)
    assert units["ea"] is True and units["kg"] is False


def test_the_demo_seeds_them(db: Database) -> None:
    with db.read() as s:  # the demo company (seed_reference, which `up` runs without the demo too)
        rows = {u.code: u.whole for u in s.execute(select(Uom)).scalars()}
    assert rows["ea"] and rows["box"] and not rows["kg"] and not rows["m2"]


def test_an_item_with_an_unknown_unit_is_refused(fresh_db: Database) -> None:
    with pytest.raises(Invalid, match="there is no unit of measure 'bogus'"), fresh_db.write() as s:
        master.create_item(s, {**ITEM, "sku": "T-1", "uom": "bogus"})
    with fresh_db.write() as s:
        master.create_item(s, {**ITEM, "sku": "T-2", "uom": "kg"})
        s.add(Uom(code="roll", name="roll", whole=True))  # an admin's own unit
    with fresh_db.write() as s:
        master.create_item(s, {**ITEM, "sku": "T-3", "uom": "roll"})
        uoms.ensure_defaults(s)
        uoms.ensure_defaults(s)  # idempotent, and leaves the admin's row
    with fresh_db.read() as s:
        assert uoms.known(s)["roll"] is True and len(s.execute(select(Uom)).all()) == 11
    text = "sku,name,kind,uom\nT-4,Test,purchased,ea\nT-5,Test,purchased,parsec\n"
    with pytest.raises(Invalid, match="line 3: there is no unit of measure 'parsec'"), fresh_db.write() as s:
        imports.import_items(s, text)


def test_whole_units_take_integers_in_lines_and_adjustments(db: Database) -> None:
    with db.write() as s:
        master.create_item(s, {**ITEM, "sku": "T-WIRE", "uom": "m"})
    with db.read() as s:
        uoms.check_lines(s, [("BOLT-M8", D(3)), ("T-WIRE", D("0.5")), ("NO-SUCH", D("0.5"))])
        with pytest.raises(Invalid, match=r"the quantity of BOLT-M8 0.5 ea is not a whole number"):
            uoms.check_lines(s, [("T-WIRE", D("0.5")), ("BOLT-M8", D("0.5"))])
    with pytest.raises(Invalid, match=r"the adjustment of BOLT-M8 -1.5 ea is not a whole number"), db.write() as s:
        master.adjust_stock(s, "BOLT-M8", D("-1.5"), None, "count", "ivan", "k1")
    with db.write() as s:
        out = master.adjust_stock(s, "T-WIRE", D("2.5"), D(1), "count", "ivan", "k2")
    assert out["on_hand"] == D("2.5")
