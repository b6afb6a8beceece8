"""Sales forecasts end to end (issue 20): carol enters next month's forecast through the API and on the forecast
page, imports a CSV file, runs MRP, and the run plans what actual orders have not used up, pegged to the month;
bad input is a 4xx with a sentence and nothing stored; who may read and change them; the sales order page's
kitting lists the sub-assembly to build."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.inventory import stock
from domain.parties.tables import Customer
from domain.planning.forecast_rules import add_months, month_label
from domain.planning.forecast_tables import Forecast
from domain.sales.rules import SalesOrderStatus
from domain.sales.tables import SalesOrder
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, count, text
from tests.helpers import eventually

pytestmark = pytest.mark.e2e


def month(n: int) -> str:
    return month_label(add_months(datetime.now(UTC).date().replace(day=1), n))


async def test_carol_enters_next_months_forecast_and_mrp_plans_what_orders_left(stack: Stack) -> None:
    m1, m2 = month(1), month(2)
    r = await stack.as_("carol", "POST", "/api/planning/forecasts", json={"sku": "FAN-200", "month": m1, "qty": 50})
    assert r.status_code == 201, r.text
    fc = r.json()
    assert (fc["sku"], fc["month"], Decimal(fc["qty"]), Decimal(fc["ordered"]), Decimal(fc["remaining"])) == (
        "FAN-200", m1, 50, 0, 50)
    # the same item and month again: 409 naming the one to change
    r = await stack.as_("carol", "POST", "/api/planning/forecasts", json={"sku": "FAN-200", "month": m1, "qty": 9})
    assert r.status_code == 409 and f"forecast {fc['id']}" in r.text
    r = await stack.as_("carol", "PUT", f"/api/planning/forecasts/{fc['id']}", json={"qty": "45"})
    assert r.status_code == 200 and Decimal(r.json()["qty"]) == 45

    # an order for 12 fans requested next month uses 12 of it up
    with stack.db.read() as s:
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": globex, "requested_date": f"{m1}-20", "lines": [{"sku": "FAN-200", "qty": 12,
                                                                         "unit_price": "450"}]})
    assert r.status_code == 201, r.text
    so = r.json()["sales_order_id"]
    # The 201 comes once the order is recorded, pending its credit check, which does not use a forecast up (the
    # module's rule); its process opens it a moment later. Read the forecast once it is past that, not in the race.
    await eventually(stack.db, lambda s: s.execute(select(SalesOrder.status).where(SalesOrder.number == so))
                     .scalar_one() != SalesOrderStatus.PENDING_CREDIT)
    r = await stack.as_("bob", "GET", "/api/planning/forecasts", params={"from": m1, "to": m2})  # bob: sales manager
    assert r.status_code == 200, r.text
    [got] = r.json()
    assert (Decimal(got["ordered"]), Decimal(got["remaining"])) == (12, 33)

    # a CSV file adds the spare motors of two months
    r = await stack.as_("carol", "POST", "/api/planning/forecasts.csv", content=f"sku,month,qty\nMOTOR-200W,{m1},10\n"
                        f"MOTOR-200W,{m2},8\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json() == {"rows": 2, "created": 2, "updated": 0, "deleted": 0}
    r = await stack.as_("carol", "GET", "/api/planning/forecasts.csv")
    assert r.status_code == 200 and f"FAN-200,{m1},45" in r.text and f"MOTOR-200W,{m2},8" in r.text

    # MRP plans the forecast's rest (33 fans, due on the month's first day) beside the order's own
    r = await stack.as_("carol", "POST", "/api/planning/mrp-runs")
    assert r.status_code == 201, r.text
    planned = r.json()["planned_orders"]
    fans = [p for p in planned if p["sku"] == "FAN-200" and f"FC {m1}" in p["pegged_to"]]
    assert fans and fans[0]["due_date"] == f"{m1}-01" and fans[0]["kind"] == "production"
    assert any(so in p["pegged_to"] for p in planned)
    assert any(p["sku"] == "MOTOR-200W" and f"FC {m2}" in p["pegged_to"] for p in planned)

    # removed: the next run plans nothing for it
    r = await stack.as_("carol", "DELETE", f"/api/planning/forecasts/{fc['id']}")
    assert r.status_code == 204
    r = await stack.as_("carol", "POST", "/api/planning/mrp-runs")
    assert not any(f"FC {m1}" in p["pegged_to"] and p["sku"] == "FAN-200" for p in r.json()["planned_orders"])


BAD = [
    ({"sku": "NO-SUCH", "month": "{m1}", "qty": 5}, 422, "there is no item 'NO-SUCH'"),
    ({"sku": "FAN-200", "month": "{past}", "qty": 5}, 422, "is past: a forecast is for this month"),
    ({"sku": "FAN-200", "month": "2027-13", "qty": 5}, 422, "there is no month 13"),
    ({"sku": "FAN-200", "month": "{m1}-15", "qty": 5}, 422, "a month (2027-01) or its first day"),
    ({"sku": "FAN-200", "month": "{m1}", "qty": 0}, 422, "greater than 0"),
    ({"sku": "FAN-200", "month": "{m1}", "qty": "-1"}, 422, "greater than 0"),
    ({"sku": "FAN-200", "month": "{m1}", "qty": "1.00001"}, 422, "decimal"),
    ({"sku": "FAN-200", "month": "{m1}", "qty": 5, "created_by": "x"}, 422, "extra"),
    ({"sku": "FAN-200", "qty": 5}, 422, "month"),
]


async def test_bad_forecasts_are_refused_with_a_sentence_and_nothing_is_stored(stack: Stack) -> None:
    for body, status, says in BAD:
        sent = {k: (v.format(m1=month(1), past=month(-1)) if isinstance(v, str) else v) for k, v in body.items()}
        r = await stack.as_("carol", "POST", "/api/planning/forecasts", json=sent)
        assert r.status_code == status and says in r.text, (body, r.status_code, r.text)
    r = await stack.as_("carol", "POST", "/api/planning/forecasts.csv", content=f"sku,month,qty\nFAN-200,{month(1)},5\n"
                        f"NOPE,{month(1)},5\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and "line 3: there is no item 'NOPE'" in r.text
    assert count(stack, Forecast) == 0
    # who may: alice (sales) neither reads nor writes them; bob (sales manager) reads only
    assert (await stack.as_("alice", "GET", "/api/planning/forecasts")).status_code == 403
    r = await stack.as_("bob", "POST", "/api/planning/forecasts", json={"sku": "FAN-200", "month": month(1), "qty": 5})
    assert r.status_code == 403
    assert (await stack.as_("carol", "PUT", "/api/planning/forecasts/999", json={"qty": 5})).status_code == 404
    assert count(stack, Forecast) == 0


async def test_the_forecast_page_enters_a_month_and_refuses_bad_cells(stack: Stack) -> None:
    carol = await Browser(stack, "carol").start()
    r = await carol.get("/planning/forecasts")
    assert r.status_code == 200 and "Sales forecasts" in text(r) and month(0) in text(r)
    m1 = month(1)
    r = await carol.post("/planning/forecasts", {"from": month(0), "new_sku_0": "FAN-200", f"new_0:{m1}": "50",
                                                 "new_sku_1": "", "new_sku_2": ""})
    assert r.status_code == 303, r.text
    page = text(await carol.get(r.headers["location"]))
    assert "Forecasts saved: 1 new, 0 changed, 0 removed" in page and "FAN-200" in page
    with stack.db.read() as s:
        [row] = s.execute(select(Forecast)).scalars().all()
        assert (row.sku, row.qty, row.created_by) == ("FAN-200", 50, "carol")
    # change it in the grid; a bad cell elsewhere refuses the whole form, keeping what was typed
    r = await carol.post("/planning/forecasts", {"from": month(0), f"q:FAN-200:{m1}": "60", "new_sku_0": "NOPE",
                                                 f"new_0:{m1}": "5"})
    assert r.status_code == 422 and "there is no item 'NOPE'" in text(r) and 'value="60"' in r.text
    r = await carol.post("/planning/forecasts", {"from": month(0), f"q:FAN-200:{m1}": "lots"})
    assert r.status_code == 422 and "must be a number" in text(r)
    r = await carol.post("/planning/forecasts", {"from": month(0), "new_sku_0": "", f"new_0:{m1}": "5"})
    assert r.status_code == 422 and "name the item" in text(r)
    with stack.db.read() as s:
        assert s.execute(select(Forecast.qty)).scalar_one() == 50
    # emptied: removed
    r = await carol.post("/planning/forecasts", {"from": month(0), f"q:FAN-200:{m1}": ""})
    assert r.status_code == 303 and count(stack, Forecast) == 0
    # bob reads the page but has no form; alice may not see it
    bob = await Browser(stack, "bob").start()
    r = await bob.get("/planning/forecasts")
    assert r.status_code == 200 and "Save forecasts" not in r.text
    r = await bob.post("/planning/forecasts", {"from": month(0), "new_sku_0": "FAN-200", f"new_0:{m1}": "5"})
    assert r.status_code == 403 and count(stack, Forecast) == 0
    alice = await Browser(stack, "alice").start()
    assert (await alice.get("/planning/forecasts")).status_code == 403


async def test_the_forecast_import_goes_through_the_import_page(stack: Stack) -> None:
    carol = await Browser(stack, "carol").start()
    r = await carol.get("/import?kind=forecasts")
    assert r.status_code == 200 and "Sales forecasts" in text(r) and "sku, month, qty" in text(r)
    csv = f"sku,month,qty\nFAN-200,{month(1)},40\nMOTOR-200W,{month(2)},10\n"
    r = await carol.stack.http.post("/import", data={"kind": "forecasts", "csrf": carol.csrf},
                                    files={"file": ("forecast.csv", csv.encode(), "text/csv")},
                                    headers={"Cookie": carol.cookie})
    assert r.status_code == 303, r.text
    job = r.headers["location"]
    page = text(await carol.get(job))
    assert "forecast.csv" in page and "FAN-200" in page
    r = await carol.post(f"{job}/run")
    assert r.status_code == 303
    for _ in range(100):
        if count(stack, Forecast) == 2:
            break
        await asyncio.sleep(0.05)
    assert count(stack, Forecast) == 2
    bad = f"sku,month,qty\nFAN-200,{month(-1)},40\n"
    r = await carol.stack.http.post("/import", data={"kind": "forecasts", "csrf": carol.csrf},
                                    files={"file": ("bad.csv", bad.encode(), "text/csv")},
                                    headers={"Cookie": carol.cookie})
    page = text(await carol.get(r.headers["location"]))
    assert "is past" in page and count(stack, Forecast) == 2


async def test_the_sales_order_page_lists_the_sub_assembly_to_build(stack: Stack) -> None:
    r = await stack.as_("ivan", "POST", "/api/stock/adjustments", json={  # no housing left: all 5 are to build
        "sku": "FAN-HOUSING", "qty": "-2", "reason": "count: the two housings were scrapped"})
    assert r.status_code == 201, r.text
    with stack.db.read() as s:
        assert stock.levels(s, "FAN-HOUSING")["on_hand"] == 0
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": globex, "lines": [{"sku": "FAN-200", "qty": 10, "unit_price": "450"}]})
    so = r.json()["sales_order_id"]
    r = await stack.as_("alice", "GET", f"/api/sales-orders/{so}/kitting")
    assert r.status_code == 200, r.text
    lines = {ln["sku"]: ln for ln in r.json()["lines"]}
    if lines:  # (the order's process may have reserved the 5 fans on hand already, or not yet)
        assert Decimal(lines["FAN-HOUSING"]["to_build"]) == 5 and Decimal(lines["FAN-HOUSING"]["available"]) == 0
    carol = await Browser(stack, "carol").start()
    page = (await carol.get(f"/sales-orders/{so}")).text
    kitting = page[page.index('id="kitting"'):]
    assert "FAN-HOUSING" in kitting[:kitting.index("</section>")]
