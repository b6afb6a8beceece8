"""The master data pages over HTTP, without a browser: items (list, search, form, bad input refused with nothing
stored, the item's stock and movements, where-used, deactivation refused while an open order names it), BOMs
(the tree, the editor refusing cycles and unknown SKUs), work centres, and the CSV import (a preview with every
bad row's line, then all or nothing)."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from sqlalchemy import select

from domain.inventory.tables import Item
from domain.manufacturing.tables import BomRow, WorkCentre
from domain.parties.tables import Customer
from domain.production.tables import ProductionMaterial, ProductionOrder
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, count, text

pytestmark = pytest.mark.e2e
ITEM = {"kind": "purchased", "uom": "ea", "standard_cost": "1,250.50", "lead_time_days": "3", "safety_stock": "10",
        "min_order_qty": "", "order_multiple": "", "default_supplier_id": ""}


async def test_items_list_form_page_and_deactivation(stack: Stack) -> None:
    for user, sees in (("carol", True), ("dave", True), ("ivan", True), ("alice", False), ("erin", False)):
        page = await (await Browser(stack, user).start()).get("/inbox")
        assert ('<a href="/items"' in page.text) == sees, user
    assert (await (await Browser(stack, "alice").start()).get("/items")).status_code == 403

    dave = await Browser(stack, "dave").start()
    listed = await dave.get("/items?q=bolt")
    assert listed.status_code == 200 and "BOLT-M8" in text(listed) and "MOTOR-200W" not in text(listed)
    assert 'href="/api/items.csv"' in listed.text
    export = await stack.http.get("/api/items.csv", headers={"Cookie": dave.cookie})
    assert export.status_code == 200 and "BOLT-M8,Bolt M8 x 30,purchased" in export.text
    zh = await stack.http.get("/items?q=bolt", headers={"Cookie": dave.cookie, "Accept-Language": "zh-CN"})
    assert "SKU 或名称" in zh.text and "现存量" in zh.text and "导出 CSV" in zh.text
    assert "FAN-200" in text(await dave.get("/items?kind=manufactured"))
    assert "BOLT-M8" not in text(await dave.get("/items?kind=manufactured"))
    form = await dave.get("/items/new")
    assert form.status_code == 200
    for field in ("sku", "name", "kind", "uom", "standard_cost", "lead_time_days", "safety_stock", "min_order_qty",
                  "default_supplier_id"):
        found = re.search(rf'id="([^"]+)" name="{field}"', form.text)
        assert found and f'<label for="{found.group(1)}"' in form.text, field

    before = count(stack, Item)
    for bad, why in (({"standard_cost": "twelve"}, "the standard cost must be a number"),
                     ({"sku": "bad sku!"}, "sku"), ({"sku": "BOLT-M8"}, "exists already"),
                     ({"lead_time_days": "1.5"}, "whole number")):
        r = await dave.post("/items/new", {**ITEM, "sku": "H2-NEW", "name": "New part", **bad})
        assert r.status_code in (409, 422) and why in text(r), (bad, text(r)[:500])
        assert 'value="New part"' in r.text  # what was typed stays
    assert count(stack, Item) == before

    r = await dave.post("/items/new", {**ITEM, "sku": "H2-NEW", "name": "New part", "safety_stock": "１０"})
    assert r.status_code == 303 and r.headers["location"] == "/items/H2-NEW", text(r)[:300]
    page = await dave.get("/items/H2-NEW")
    assert page.status_code == 200 and "Item H2-NEW is created" in text(page) and "1,250.50" in text(page)
    assert "No stock has moved yet" in text(page)
    r = await dave.post("/items/H2-NEW/edit", {**ITEM, "name": "Renamed part", "standard_cost": "-1"})
    assert r.status_code == 422 and 'value="Renamed part"' in r.text
    r = await dave.post("/items/H2-NEW/edit", {**ITEM, "name": "Renamed part"})
    assert r.status_code == 303
    assert "Renamed part" in text(await dave.get("/items/H2-NEW"))

    bolt = await dave.get("/items/BOLT-M8")
    body = text(bolt)
    assert "On hand" in body and "Where used" in body and "FAN-HOUSING" in body and "opening stock" in body

    # BOLT-M8 is in the BOM of active items: deactivation is refused with the reason and nothing changes
    r = await dave.post("/items/BOLT-M8/deactivate")
    assert r.status_code == 409 and "in the BOM of the active items FAN-200, FAN-HOUSING" in text(r), text(r)[:600]
    with stack.db.read() as s:
        assert s.execute(select(Item.active).where(Item.sku == "BOLT-M8")).scalar_one() is True
    r = await dave.post("/items/H2-NEW/deactivate")
    assert r.status_code == 303
    assert "0 found" in text(await dave.get("/items?q=H2-"))
    assert "H2-NEW" in text(await dave.get("/items?q=H2-&active=no"))
    with stack.db.read() as s:
        customer = s.execute(select(Customer.id).order_by(Customer.id)).scalars().first()
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": customer, "lines": [{"sku": "H2-NEW", "qty": 1, "unit_price": "9"}]})
    assert r.status_code == 409 and "H2-NEW is deactivated" in r.json()["detail"], r.text
    r = await stack.as_("dave", "POST", "/api/purchase-requisitions", json={
        "lines": [{"sku": "H2-NEW", "qty": 1, "est_unit_price": "9"}], "justification": "stock"})
    assert r.status_code == 409 and "H2-NEW is deactivated" in r.json()["detail"], r.text
    assert (await dave.post("/items/H2-NEW/activate")).status_code == 303

    r = await dave.post("/items/new", {**ITEM, "sku": "H2/SLASH", "name": "Slashed"})  # a SKU may hold a "/"
    assert r.status_code == 303 and r.headers["location"] == "/items/H2/SLASH"
    assert "Slashed" in text(await dave.get("/items/H2/SLASH"))
    assert (await dave.get("/items/H2/SLASH/edit")).status_code == 200


async def test_deactivation_is_refused_for_an_item_on_an_open_order(stack: Stack) -> None:
    r = await stack.as_("carol", "POST", "/api/items", json={"sku": "H2-SOLD", "name": "Sold", "kind": "purchased",
                                                             "standard_cost": "5"})
    assert r.status_code == 201, r.text
    r = await stack.as_("admin", "POST", "/api/stock/adjustments", json={"sku": "H2-SOLD", "qty": 5,
                                                                         "reason": "count"})
    assert r.status_code == 201, r.text
    with stack.db.read() as s:
        customer = s.execute(select(Customer.id).order_by(Customer.id)).scalars().first()
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": customer, "lines": [{"sku": "H2-SOLD", "qty": 1, "unit_price": "9"}]})
    assert r.status_code in (200, 201, 202), r.text
    carol = await Browser(stack, "carol").start()
    for _ in range(100):
        page = await carol.get("/items/H2-SOLD")
        if "open sales order" in text(page):
            break
        await asyncio.sleep(0.05)
    r = await carol.post("/items/H2-SOLD/deactivate")
    assert r.status_code == 409 and "it is on the open sales order SO-" in text(r), text(r)[:600]
    with stack.db.read() as s:
        assert s.execute(select(Item.active).where(Item.sku == "H2-SOLD")).scalar_one() is True


async def test_bom_tree_editor_and_work_centres(stack: Stack) -> None:
    carol = await Browser(stack, "carol").start()
    listed = await carol.get("/boms")
    assert listed.status_code == 200 and "FAN-200" in text(listed)
    tree = await carol.get("/boms/FAN-200")
    assert tree.status_code == 200, text(tree)[:300]
    body = text(tree)
    # FAN-HOUSING's own BOM is expanded below it: its steel at level 2
    assert re.search(r"1 FAN-HOUSING BOM .*2 └ STEEL-SHEET", body), body[:1500]
    assert (await (await Browser(stack, "alice").start()).get("/boms/FAN-200")).status_code == 403

    r = await stack.as_("carol", "POST", "/api/items", json={"sku": "H2-KIT", "name": "Kit", "kind": "manufactured"})
    assert r.status_code == 201
    editor = await carol.get("/boms/H2-KIT/edit")
    assert editor.status_code == 200 and 'name="component_0"' in editor.text and '<label class="sr-only" for="c-0"' in editor.text
    line = {"issue_method": "backflush", "labour_hours": "0.5", "overhead_rate": "4", "work_centre": "",
            "labour_rate": "30"}
    before = count(stack, BomRow)
    for rows, why in (({"component_0": "NOPE", "qty_0": "1"}, "there is no item NOPE"),
                      ({"component_0": "H2-KIT", "qty_0": "1"}, "cannot be its own component"),
                      ({"component_0": "FAN-200", "qty_0": "1", "component_1": "BOLT-M8", "qty_1": "x"},
                       "the quantity of BOLT-M8 must be a number"),
                      ({"component_0": "BOLT-M8", "qty_0": "1", "scrap_0": "100"}, "scrap_pct")):
        r = await carol.post("/boms/H2-KIT/edit", {**line, **rows})
        assert r.status_code == 422 and why in text(r), (rows, text(r)[:800])
        assert f'value="{rows["component_0"]}"' in r.text
    assert count(stack, BomRow) == before
    r = await carol.post("/boms/H2-KIT/edit", {**line, "component_0": "FAN-200", "qty_0": "1",
                                               "component_1": "BOLT-M8", "qty_1": "1,000", "scrap_1": "2"})
    assert r.status_code == 303, text(r)[:500]
    page = await carol.get(r.headers["location"])
    assert "The BOM of H2-KIT is saved (revision 1)" in text(page) and "1,000" in text(page)
    # a cycle across the stored BOMs is refused and nothing changes: FAN-HOUSING → H2-KIT → FAN-200 → FAN-HOUSING
    housing = text(await carol.get("/boms/FAN-HOUSING"))
    r = await carol.post("/boms/FAN-HOUSING/edit", {"issue_method": "kitted", "component_0": "STEEL-SHEET",
                                                    "qty_0": "2", "component_1": "H2-KIT", "qty_1": "1"})
    assert r.status_code == 422 and "BOM cycle: FAN-HOUSING → H2-KIT → FAN-200 → FAN-HOUSING" in text(r), text(r)[:600]
    assert text(await carol.get("/boms/FAN-HOUSING")) == housing
    # remove a line: H2-KIT keeps only BOLT-M8
    r = await carol.post("/boms/H2-KIT/edit", {**line, "component_0": "FAN-200", "qty_0": "1", "remove_0": "1",
                                               "component_1": "BOLT-M8", "qty_1": "2"})
    assert r.status_code == 303
    body = text(await carol.get("/boms/H2-KIT"))
    assert "revision 2" in body and "FAN-200" not in body.split("Components")[1]
    assert "H2-KIT" in text(await carol.get("/items/BOLT-M8"))  # where-used

    r = await carol.post("/work-centres", {"code": "H2-PAINT", "name": "Paint shop", "hourly_cost": "1,200.5"})
    assert r.status_code == 303
    assert "1,200.50" in text(await carol.get("/work-centres"))
    before = count(stack, WorkCentre)
    r = await carol.post("/work-centres", {"code": "H2 BAD", "name": "x", "hourly_cost": "-1"})
    assert r.status_code == 422 and count(stack, WorkCentre) == before
    r = await carol.post("/work-centres/H2-PAINT", {"name": "Paint line", "hourly_cost": "50"})
    assert r.status_code == 303 and "Paint line" in text(await carol.get("/work-centres"))
    assert (await (await Browser(stack, "dave").start()).post("/work-centres", {"code": "X", "name": "x",
                                                                               "hourly_cost": "1"})).status_code == 403


async def upload(who: Browser, kind: str, content: str, name: str = "file.csv") -> httpx.Response:
    if not who.csrf:
        await who.get("/import")
    return await who.stack.http.post("/import", data={"kind": kind, "csrf": who.csrf},
                                     files={"file": (name, content.encode(), "text/csv")},
                                     headers={"Cookie": who.cookie})


async def finished(who: Browser, location: str) -> httpx.Response:
    for _ in range(400):
        p = (await who.get(f"{location}/progress")).json()
        assert p["total"] and 0 <= p["done"] <= p["total"], p
        if p["status"] != "running":
            return await who.get(location)
        await asyncio.sleep(0.05)
    raise AssertionError("the import never ended")


async def test_csv_import_previews_every_bad_row_then_stores_all_or_nothing(stack: Stack) -> None:
    dave = await Browser(stack, "dave").start()
    page = await dave.get("/import")
    assert page.status_code == 200 and '<label for="imp-file"' in page.text and '<label for="imp-kind"' in page.text
    assert 'value="items"' in page.text and 'value="opening_stock"' not in page.text  # a buyer, not the warehouse
    assert (await (await Browser(stack, "alice").start()).get("/import")).status_code == 403

    before = count(stack, Item)
    bad = ("sku,name,kind,standard_cost\nH2-A1,First,purchased,1\nH2-A2,Second,bought,1\nH2-A3,Third,purchased,2\n"
           "H2-A1,Again,purchased,1\nH2-A4,Fourth,purchased,lots\n")
    r = await upload(dave, "items", bad, "bad.csv")
    assert r.status_code == 303, text(r)[:300]
    preview = await dave.get(r.headers["location"])
    body = text(preview)
    assert "3 rows cannot be imported" in body and "Nothing is stored" in body, body[:800]
    assert re.search(r"line 3 kind: .*purchased", body) and "line 5 H2-A1 is on line 2 already" in body
    assert "line 6 standard_cost" in body and "Import all" not in body
    r = await dave.post(f"{r.headers['location']}/run")
    assert r.status_code == 303 and count(stack, Item) == before

    rows = "".join(f"H2-B{n:03},Bulk {n},purchased,{n}.5\n" for n in range(1, 121))
    r = await upload(dave, "items", "sku,name,kind,standard_cost\n" + rows, "bulk.csv")
    location = r.headers["location"]
    preview = await dave.get(location)
    assert "Every row can be imported" in text(preview) and "Import all 120 rows" in text(preview)
    assert "H2-B001" in text(preview) and "H2-B021" not in text(preview)  # the first 20 rows as read
    assert count(stack, Item) == before
    r = await dave.post(f"{location}/run")
    assert r.status_code == 303
    running = await dave.get(location)
    if "Importing" in text(running):
        assert '<progress id="import-progress"' in running.text and 'src="/static/import.js"' in running.text
        assert "script-src 'self'" in running.headers["content-security-policy"]
    done = await finished(dave, location)
    assert "All 120 rows are imported. created 120 updated 0" in text(done), text(done)[:600]
    assert count(stack, Item) == before + 120
    again = await dave.post(f"{location}/run")
    assert again.status_code == 303 and count(stack, Item) == before + 120
    assert "imported already" in text(await dave.get(location))


async def test_an_import_refused_on_line_n_stores_nothing(stack: Stack) -> None:
    admin = await Browser(stack, "admin").start()
    names = [f"H2 Customer {n}" for n in range(1, 31)]
    content = "name,credit_limit,currency\n" + "".join(f"{n},1000,usd\n" for n in names)
    r = await upload(admin, "customers", content, "customers.csv")
    location = r.headers["location"]
    assert "Import all 30 rows" in text(await admin.get(location))
    # someone creates customer 17 between the preview and the import: the import is refused naming line 18
    r = await stack.as_("admin", "POST", "/api/customers", json={"name": "H2 Customer 17"})
    assert r.status_code == 201, r.text
    before = count(stack, Customer)
    await admin.post(f"{location}/run")
    done = await finished(admin, location)
    assert "refused and nothing is stored: line 18: customer 'H2 Customer 17' exists already" in text(done), \
        text(done)[:600]
    assert count(stack, Customer) == before

    # a BOM file that closes a cycle with the stored BOMs is refused in the preview
    r = await upload(admin, "boms", "item_sku,component_sku,qty\nFAN-HOUSING,FAN-200,1\nFAN-HOUSING,STEEL-SHEET,2\n")
    body = text(await admin.get(r.headers["location"]))
    assert "BOM cycle: FAN-HOUSING → FAN-200 → FAN-HOUSING" in body, body[:600]

    # opening stock for a new item: on hand on its page, at the unit cost given
    assert (await stack.as_("admin", "POST", "/api/items", json={"sku": "H2-OPEN", "name": "Opening",
                                                                 "kind": "purchased"})).status_code == 201
    r = await upload(admin, "opening_stock", "sku,qty,unit_cost\nH2-OPEN,40,2.5\nBOLT-M8,1,1\n")
    body = text(await admin.get(r.headers["location"]))
    assert "line 3 BOLT-M8 has stock movements already" in body, body[:600]
    r = await upload(admin, "opening_stock", "sku,qty,unit_cost\nH2-OPEN,40,2.5\n")
    await admin.post(f"{r.headers['location']}/run")
    assert "All 1 rows are imported" in text(await finished(admin, r.headers["location"]))
    item = text(await admin.get("/items/H2-OPEN"))
    assert "On hand 40 ea" in item and "100.00" in item and "opening stock" in item


async def test_a_bom_change_under_a_production_order_in_progress_applies_to_new_orders(stack: Stack) -> None:
    from tests.e2e.test_production_pages import short_order

    _so, _housing, fan = await short_order(stack)
    carol = await Browser(stack, "carol").start()
    assert f"Production orders in progress ({fan})" in text(await carol.get("/boms/FAN-200"))
    with stack.db.read() as s:
        before = s.execute(select(ProductionMaterial.sku, ProductionMaterial.required_qty)
                           .join(ProductionOrder, ProductionOrder.id == ProductionMaterial.order_id)
                           .where(ProductionOrder.number == fan).order_by(ProductionMaterial.sku)).all()
    lines = {"issue_method": "kitted", "labour_hours": "1", "overhead_rate": "10", "work_centre": "ASSEMBLY",
             "component_0": "MOTOR-200W", "qty_0": "1", "component_1": "FAN-HOUSING", "qty_1": "1",
             "component_2": "BLADE-SET", "qty_2": "2", "component_3": "BEARING-6204", "qty_3": "2",
             "component_4": "BOLT-M8", "qty_4": "8", "scrap_4": "2"}
    r = await carol.post("/boms/FAN-200/edit", lines)
    assert r.status_code == 303, text(r)[:500]
    page = text(await carol.get(r.headers["location"]))
    assert f"It applies to new production orders; {fan} in progress keep the BOM they were made with." in page
    with stack.db.read() as s:
        after = s.execute(select(ProductionMaterial.sku, ProductionMaterial.required_qty)
                          .join(ProductionOrder, ProductionOrder.id == ProductionMaterial.order_id)
                          .where(ProductionOrder.number == fan).order_by(ProductionMaterial.sku)).all()
    assert after == before
    r = await carol.post("/items/FAN-200/deactivate")
    assert r.status_code == 409 and "FAN-200 cannot be deactivated" in text(r) and fan in text(r), text(r)[:600]


async def test_imported_customers_without_a_credit_limit_get_the_default_and_suppliers_their_terms(stack: Stack) -> None:
    from domain.parties import master
    from domain.parties.tables import Supplier

    admin = await Browser(stack, "admin").start()
    r = await upload(admin, "customers", "name,currency,payment_terms_days\nH2 Default Co,eur,45\n")
    await admin.post(f"{r.headers['location']}/run")
    assert "All 1 rows are imported" in text(await finished(admin, r.headers["location"]))
    r = await upload(admin, "suppliers", "name,currency,payment_terms_days\nH2 Parts Ltd,CNY,60\n")
    await admin.post(f"{r.headers['location']}/run")
    assert "All 1 rows are imported" in text(await finished(admin, r.headers["location"]))
    with stack.db.read() as s:
        c = s.execute(select(Customer).where(Customer.name == "H2 Default Co")).scalar_one()
        assert (c.currency, c.payment_terms_days, c.credit_limit) == ("EUR", 45,
                                                                      master.settings(s).default_credit_limit)
        sup = s.execute(select(Supplier).where(Supplier.name == "H2 Parts Ltd")).scalar_one()
        assert (sup.currency, sup.payment_terms_days) == ("CNY", 60)
    # a name that looks like a stored one (case and spacing aside) is a row error in the preview
    r = await upload(admin, "suppliers", "name\nh2  parts ltd\n")
    assert "line 2 supplier 'h2 parts ltd' exists already" in text(await admin.get(r.headers["location"]))
