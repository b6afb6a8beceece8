"""BOMs and work centres in the database (domain/manufacturing/boms.py), on SQLite or PostgreSQL: saved
whole against every stored BOM, refused with the path and nothing stored, replaced, loaded whole."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import event, func, select

from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.manufacturing import boms
from domain.manufacturing.bom import Bom, BomLine
from domain.manufacturing.rules import BomIn, BomLineIn, ItemFields, WorkCentreIn
from domain.manufacturing.tables import BomLineRow, BomRow
from domain.parties import master

D = Decimal


def items(db: Database, *specs: tuple[str, str]) -> None:
    with db.write() as s:
        for sku, kind in specs:
            master.create_item(s, ItemFields(sku=sku, name=sku, kind=kind).model_dump())  # type: ignore[arg-type]


def bom(item: str, *lines: tuple[str, str] | tuple[str, str, str], **kw: object) -> BomIn:
    return BomIn(item_sku=item, lines=[BomLineIn(component_sku=c, qty=D(q), scrap_pct=D(s[0]) if s else D(0))
                                       for c, q, *s in lines], **kw)  # type: ignore[arg-type]


def save(db: Database, *bs: BomIn) -> list[boms.Saved]:
    with db.write() as s:
        return boms.save_boms(s, bs)


def stored(db: Database) -> tuple[int, int, dict[str, Bom]]:
    with db.read() as s:
        return (s.execute(select(func.count()).select_from(BomRow)).scalar_one(),
                s.execute(select(func.count()).select_from(BomLineRow)).scalar_one(), dict(boms.load_all(s)))


@pytest.fixture
def chain(db: Database) -> Database:
    """A (made) ← B (made) ← C (made) ← P (bought): A needs B, B needs C, C needs P."""
    items(db, ("T-A", "manufactured"), ("T-B", "manufactured"), ("T-C", "manufactured"), ("T-P", "purchased"))
    save(db, bom("T-A", ("T-B", "1")), bom("T-B", ("T-C", "2", "5")))
    return db


def test_a_two_level_bom_is_saved_and_loaded_as_planning_types(db: Database) -> None:
    items(db, ("T-TOP", "manufactured"), ("T-SUB", "manufactured"))
    with db.write() as s:
        boms.create_work_centre(s, WorkCentreIn(code="WELD", name="Welding", hourly_cost=D("42.50")))
    saved = save(db, bom("T-TOP", ("T-SUB", "1"), ("BOLT-M8", "8", "2"), labour_hours=D("1.5"), work_centre="WELD",
                         overhead_rate=D(10)),
                 bom("T-SUB", ("STEEL-SHEET", "2.5"), labour_hours=D("0.5"), labour_rate=D(30),
                     issue_method="backflush"))
    assert saved == [boms.Saved("T-TOP", created=True), boms.Saved("T-SUB", created=True)]
    _, _, loaded = stored(db)
    assert loaded["T-TOP"] == Bom("T-TOP", (BomLine("T-SUB", D(1)), BomLine("BOLT-M8", D(8), D(2))), D("1.5"),
                                  "kitted", labour_rate=D("42.50"), overhead_rate=D(10), work_centre="WELD")
    assert loaded["T-SUB"] == Bom("T-SUB", (BomLine("STEEL-SHEET", D("2.5")),), D("0.5"), "backflush",
                                  labour_rate=D(30))
    with db.read() as s:
        v = boms.view(s, "T-TOP")
    assert (v["labour_rate"], v["labour_rate_from"], v["labour_cost"], v["overhead_cost"]) == (
        D("42.50"), "work_centre", D("63.75"), D(15))
    assert [(ln["position"], ln["component_sku"], ln["qty"], ln["scrap_pct"]) for ln in v["lines"]] == [
        (1, "T-SUB", D(1), D(0)), (2, "BOLT-M8", D(8), D(2))]


def test_a_cycle_at_depth_three_is_refused_with_its_path_and_nothing_is_stored(chain: Database) -> None:
    before = stored(chain)
    with pytest.raises(Invalid, match="BOM cycle: T-C → T-A → T-B → T-C"):
        save(chain, bom("T-C", ("T-P", "1"), ("T-A", "1")))
    assert stored(chain) == before
    # Also when the cycle comes in by replacing a stored BOM, and with other BOMs in the same save.
    items(chain, ("T-D", "manufactured"))
    with pytest.raises(Invalid, match="BOM cycle: T-D → T-A → T-B → T-C → T-D"):
        save(chain, bom("T-D", ("T-A", "1")), bom("T-B", ("T-C", "1")), bom("T-C", ("T-D", "1")))
    assert stored(chain) == before


def test_unknown_component_and_item_and_work_centre_are_refused(chain: Database) -> None:
    before = stored(chain)
    with pytest.raises(Invalid, match="BOM of T-C: there is no item NOPE"):
        save(chain, bom("T-C", ("T-P", "1"), ("NOPE", "1")))
    with pytest.raises(NotFound, match="unknown SKU 'NOPE'"):
        save(chain, bom("NOPE", ("T-P", "1")))
    with pytest.raises(NotFound, match="no work centre 'NOPE'"):
        save(chain, bom("T-C", ("T-P", "1"), work_centre="NOPE"))
    assert stored(chain) == before


def test_a_bom_on_a_purchased_item_is_refused(chain: Database) -> None:
    with pytest.raises(Invalid, match="T-P is a purchased item; only a manufactured item has a BOM"):
        save(chain, bom("T-P", ("BOLT-M8", "1")))
    assert "T-P" not in stored(chain)[2]


def test_bad_lines_are_refused(chain: Database) -> None:
    with pytest.raises(Invalid, match="T-C cannot be its own component"):
        save(chain, bom("T-C", ("T-C", "1")))
    with pytest.raises(Invalid, match="T-P is listed twice"):
        save(chain, bom("T-C", ("T-P", "1"), ("T-P", "2")))
    for bad in ({"labour_hours": D(-1)}, {"labour_rate": D("-0.01")}, {"overhead_rate": D(-5)},
                {"issue_method": "manual"}, {"lines": []}):
        with pytest.raises(ValidationError):
            BomIn(**{"item_sku": "T-C", "lines": [{"component_sku": "T-P", "qty": 1}], **bad})  # type: ignore[arg-type]
    for line in ({"component_sku": "T-P", "qty": 0}, {"component_sku": "T-P", "qty": 1, "scrap_pct": 100},
                 {"component_sku": "T-P", "qty": "0.00001"}):
        with pytest.raises(ValidationError):
            BomLineIn(**line)  # type: ignore[arg-type]


def test_replacing_a_bom_keeps_one_per_item_and_counts_the_revision(chain: Database) -> None:
    n_boms_before, n_lines_before, _ = stored(chain)
    assert save(chain, bom("T-B", ("T-P", "3"), ("BOLT-M8", "4"), issue_method="backflush")) == [
        boms.Saved("T-B", created=False)]
    n_boms, n_lines, loaded = stored(chain)
    assert (n_boms, n_lines) == (n_boms_before, n_lines_before + 1)  # T-B had one line, now two
    assert loaded["T-B"].lines == (BomLine("T-P", D(3)), BomLine("BOLT-M8", D(4)))
    assert loaded["T-B"].issue_method == "backflush"
    with chain.read() as s:
        assert boms.view(s, "T-B")["revision"] == 2
        assert boms.view(s, "T-A")["revision"] == 1
        with pytest.raises(NotFound, match="T-C has no BOM"):
            boms.view(s, "T-C")
        with pytest.raises(NotFound, match="unknown SKU"):
            boms.view(s, "NOPE")


def test_loading_every_bom_takes_two_queries(chain: Database) -> None:
    items(chain, *((f"T-M{i}", "manufactured") for i in range(30)))
    save(chain, *(bom(f"T-M{i}", ("T-P", "1"), ("BOLT-M8", str(i + 1))) for i in range(30)))
    statements: list[str] = []
    with chain.read() as s:
        conn = s.connection()
        event.listen(conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
        loaded = boms.load_all(s)
    assert {f"T-M{i}" for i in range(30)} | {"T-A", "T-B"} <= set(loaded) and len(loaded["T-M29"].lines) == 2
    assert len(statements) == 2, statements


def test_work_centres(db: Database) -> None:
    with db.write() as s:
        boms.create_work_centre(s, WorkCentreIn(code="PAINT", name="Paint shop", hourly_cost=D(55)))
    with db.write() as s, pytest.raises(Conflict, match="work centre 'PAINT' exists already"):
        boms.create_work_centre(s, WorkCentreIn(code="PAINT", name="Again", hourly_cost=D(1)))
    with db.read() as s:
        assert [(w["code"], w["hourly_cost"]) for w in boms.work_centres(s) if w["code"] == "PAINT"] == [
            ("PAINT", D(55))]


def test_the_demo_fan_has_a_two_level_bom_and_an_order_for_ten_is_short(db: Database) -> None:
    from domain.inventory import stock
    from domain.manufacturing.bom import need

    with db.read() as s:
        loaded = boms.load_all(s)
        levels = {sku: stock.levels(s, sku)["available"] for sku in
                  ("FAN-200", "FAN-HOUSING", "MOTOR-200W", "BLADE-SET", "BEARING-6204", "BOLT-M8", "STEEL-SHEET")}
        fan = boms.view(s, "FAN-200")
    assert set(loaded) == {"FAN-200", "FAN-HOUSING"}
    assert (loaded["FAN-200"].issue_method, loaded["FAN-HOUSING"].issue_method) == ("kitted", "backflush")
    assert (fan["work_centre"], fan["labour_rate"], fan["labour_cost"], fan["overhead_cost"]) == (
        "ASSEMBLY", D(40), D(40), D(10))
    to_make = D(10) - levels["FAN-200"]  # 5 fans on hand
    short = {ln.component: need(to_make, ln) - levels[ln.component] for ln in loaded["FAN-200"].lines
             if need(to_make, ln) > levels[ln.component]}
    assert short == {"FAN-HOUSING": D(3), "BLADE-SET": D(1)}
    # The housings to make are themselves buildable from stock (a second, backflushed production order).
    assert all(need(short["FAN-HOUSING"], ln) <= levels.get(ln.component, D(10**6))
               for ln in loaded["FAN-HOUSING"].lines)
