"""Items and BOMs as CSV (domain/parties/imports.py): every row checked first, all stored or none,
a refusal names the line; what is exported imports back to the same."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.core.db import Database
from domain.core.errors import Invalid
from domain.inventory.tables import Item, StockBalance
from domain.manufacturing import boms
from domain.manufacturing.rules import WorkCentreIn
from domain.manufacturing.tables import BomLineRow, BomRow
from domain.parties import imports, master

D = Decimal
ITEMS = """sku,name,kind,uom,standard_cost,lead_time_days,safety_stock,min_order_qty,order_multiple,default_supplier
T-FAN,Test fan,manufactured,ea,300,2,0,1,0,
T-HOUSING,Test housing,manufactured,ea,40.5,1,0,1,5,
T-BLADE,Test blade,purchased,ea,12.25,7,10,50,25,Acme Metals
"""
BOMS = """item_sku,component_sku,qty,scrap_pct,labour_hours,labour_rate,overhead_rate,work_centre,issue_method
T-FAN,T-HOUSING,1,0,1.5,,12,T-ASM,kitted
T-FAN,T-BLADE,3,2,1.5,,12,T-ASM,kitted
T-HOUSING,STEEL-SHEET,2,5,0.25,30,0,,backflush
T-FAN,BOLT-M8,8,2,,,,,
T-HOUSING,BOLT-M8,4,,,,,,
"""


def counts(db: Database) -> tuple[int, ...]:
    with db.read() as s:
        return tuple(s.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (Item, StockBalance, BomRow, BomLineRow))


def load(db: Database, what: str, text: str) -> dict[str, int]:
    with db.write() as s:
        return imports.import_items(s, text) if what == "items" else imports.import_boms(s, text)


def refused(db: Database, what: str, text: str, message: str) -> None:
    before = counts(db)
    with pytest.raises(Invalid, match=message):
        load(db, what, text)
    assert counts(db) == before


@pytest.fixture
def company(db: Database) -> Database:
    with db.write() as s:
        boms.create_work_centre(s, WorkCentreIn(code="T-ASM", name="Test assembly", hourly_cost=D(40)))
    assert load(db, "items", ITEMS) == {"rows": 3, "created": 3, "updated": 0}
    return db


def test_items_are_created_with_a_stock_balance_and_updated_by_sku(company: Database) -> None:
    with company.read() as s:
        blade = master.item_view(s.execute(select(Item).where(Item.sku == "T-BLADE")).unique().scalar_one())
    assert (blade["standard_cost"], blade["order_multiple"], blade["min_order_qty"]) == (D("12.25"), D(25), D(50))
    assert blade["default_supplier_id"] is not None
    before = counts(company)
    assert load(company, "items", "sku,name,kind,standard_cost\nT-BLADE,Blade set,purchased,13\n") == {
        "rows": 1, "created": 0, "updated": 1}
    with company.read() as s:
        blade2 = master.item_view(s.execute(select(Item).where(Item.sku == "T-BLADE")).unique().scalar_one())
    # Only the file's columns change.
    assert (blade2["name"], blade2["standard_cost"], blade2["order_multiple"]) == ("Blade set", D(13), D(25))
    assert counts(company) == before


def test_a_bad_item_row_refuses_the_whole_file_naming_its_line(company: Database) -> None:
    good = "T-NEW1,New one,purchased,ea,1,1,0,0,0,\n"
    head = ITEMS.splitlines()[0] + "\n"
    refused(company, "items", head + good + "T-NEW2,New two,bought,ea,1,1,0,0,0,\n", "line 3: kind: ")
    refused(company, "items", head + good + "T-NEW2,New two,purchased,ea,-1,1,0,0,0,\n", "line 3: standard_cost")
    refused(company, "items", head + good + "T-NEW1,Again,purchased,ea,1,1,0,0,0,\n",
            "line 3: T-NEW1 is on line 2 already")
    refused(company, "items", head + good + "T-NEW2,New two,purchased,ea,1,1,0,0,0,Nobody\n",
            "line 3: there is no supplier 'Nobody'")
    refused(company, "items", head + good + "T-NEW2,New two,purchased\n", "line 3: 3 cells")
    refused(company, "items", "sku,name,colour\nT-NEW1,x,red\n", "line 1: unknown column 'colour'")
    refused(company, "items", "sku,name\nT-NEW1,x\n", "line 1: the column kind is needed")
    refused(company, "items", head, "a header but no rows")
    refused(company, "items", "", "the file is empty")


def test_boms_are_imported_grouped_by_item(company: Database) -> None:
    assert load(company, "boms", BOMS) == {"rows": 5, "boms": 2, "created": 2, "replaced": 0}
    with company.read() as s:
        fan, housing = boms.view(s, "T-FAN"), boms.view(s, "T-HOUSING")
    assert [(ln["component_sku"], ln["qty"], ln["scrap_pct"]) for ln in fan["lines"]] == [
        ("T-HOUSING", D(1), D(0)), ("T-BLADE", D(3), D(2)), ("BOLT-M8", D(8), D(2))]
    assert (fan["labour_hours"], fan["labour_rate"], fan["labour_rate_from"], fan["overhead_rate"],
            fan["work_centre"], fan["issue_method"]) == (D("1.5"), D(40), "work_centre", D(12), "T-ASM", "kitted")
    assert (housing["labour_rate"], housing["issue_method"], len(housing["lines"])) == (D(30), "backflush", 2)
    with company.write() as s, \
            pytest.raises(Invalid, match="line 3: T-HOUSING has a BOM, so it cannot become a purchased item"):
        imports.import_items(s, "sku,name,kind\nT-FAN,Fan,manufactured\nT-HOUSING,Housing,purchased\n")


def test_a_bad_bom_row_refuses_the_whole_file_naming_its_line(company: Database) -> None:
    head = BOMS.splitlines()[0] + "\n"
    ok_row = "T-FAN,T-HOUSING,1,0,1,,,,kitted\n"
    refused(company, "boms", head + ok_row + "T-FAN,NOPE,1,,,,,,\n", "line 3: there is no item 'NOPE'")
    refused(company, "boms", head + ok_row + "T-BLADE,BOLT-M8,1,,,,,,\n", "line 3: T-BLADE is a purchased item")
    refused(company, "boms", head + ok_row + "T-FAN,BOLT-M8,0,,,,,,\n", "line 3: qty: ")
    refused(company, "boms", head + ok_row + "T-FAN,T-HOUSING,2,,,,,,\n",
            "line 3: T-HOUSING is in the BOM of T-FAN on line 2 already")
    refused(company, "boms", head + ok_row + "T-FAN,BOLT-M8,1,,2,,,,\n",
            "line 3: labour_hours of the BOM of T-FAN is 2 here but 1 on line 2")
    refused(company, "boms", head + ok_row + "T-FAN,BOLT-M8,1,,,,,NOWHERE,\n", "line 3: there is no work centre")
    refused(company, "boms", head + ok_row + "T-FAN,BOLT-M8,1,,,,-3,,\n", "line 3: overhead_rate: ")
    refused(company, "boms", head + "T-FAN,BOLT-M8,1,,,,,,\nT-FAN,T-BLADE,1,,,,,,manual\n", "line 3: issue_method: ")


def test_a_cycle_across_the_file_and_the_database_is_named_with_its_lines(company: Database) -> None:
    head = BOMS.splitlines()[0] + "\n"
    refused(company, "boms", head + "T-FAN,T-HOUSING,1,,,,,,\nT-HOUSING,T-FAN,1,,,,,,\n",
            r"BOM cycle: T-FAN → T-HOUSING → T-FAN \(the BOMs of T-FAN on line 2, T-HOUSING on line 3\)")
    load(company, "boms", head + "T-HOUSING,STEEL-SHEET,1,,,,,,\n")
    with company.write() as s:
        master.create_item(s, {"sku": "T-SUB", "name": "Sub", "kind": "manufactured"})
    # T-FAN → T-HOUSING stored-to-be in the file, T-HOUSING → T-SUB in the file, T-SUB → T-FAN: depth 3.
    refused(company, "boms", head + "T-SUB,T-FAN,1,,,,,,\nT-FAN,T-HOUSING,1,,,,,,\nT-HOUSING,T-SUB,1,,,,,,\n",
            "BOM cycle: T-.* → T-.* → T-.* → T-")


def test_export_then_import_gives_back_the_same(company: Database) -> None:
    load(company, "boms", BOMS)
    with company.write() as s:
        master.create_item(s, {"sku": "T-ODD", "name": "=SUM(A1) \"quoted\", with comma", "kind": "purchased"})
    with company.read() as s:
        items_csv, boms_csv = imports.export_items(s), imports.export_boms(s)
        before_items = [master.item_view(i) for i in s.execute(select(Item).order_by(Item.sku)).unique().scalars()]
        before_boms = dict(boms.load_all(s))
    assert "'=SUM(A1)" in items_csv  # a spreadsheet shows it as text, not a formula
    assert "T-FAN,T-HOUSING,1,0,1.5,,12,T-ASM,kitted" in boms_csv.splitlines()
    assert load(company, "items", items_csv)["updated"] == len(before_items)
    n_boms, n_rows = len(before_boms), sum(len(b.lines) for b in before_boms.values())
    assert load(company, "boms", boms_csv) == {"rows": n_rows, "boms": n_boms, "created": 0, "replaced": n_boms}
    with company.read() as s:
        assert [master.item_view(i) for i in s.execute(select(Item).order_by(Item.sku)).unique().scalars()] == before_items
        assert dict(boms.load_all(s)) == before_boms
        assert imports.export_items(s) == items_csv and imports.export_boms(s) == boms_csv
