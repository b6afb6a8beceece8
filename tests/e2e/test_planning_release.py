"""Make to stock and batch release through the API, with the real worker (issue 20, the story: carol runs MRP and
releases twelve planned orders in one click). A release is one process that makes each planned order once: a second
release of any of them is a 409 naming them and creates nothing; every other refusal is a 4xx with a sentence and
creates nothing. The run page is a form (checkboxes, totals, Release)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update

from domain.inventory.tables import Item
from domain.planning.release_tables import PlannedOrderRelease
from domain.processes.tables import Process
from domain.production.tables import ProductionOrder
from domain.purchasing.tables import PurchaseRequisition
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, flash
from tests.helpers import eventually
from tests.unit.test_planning_release import open_orders

pytestmark = pytest.mark.e2e
TODAY = datetime.now(UTC).date()


def counts(stack: Stack) -> tuple[int, int, int]:
    with stack.db.read() as s:
        return tuple(int(s.execute(select(func.count()).select_from(m)).scalar_one())  # type: ignore[return-value]
                     for m in (PlannedOrderRelease, ProductionOrder, PurchaseRequisition))


async def run_mrp(stack: Stack, orders: int = 4) -> dict[str, Any]:
    open_orders(stack.db, orders, start=TODAY + timedelta(days=30))
    r = await stack.as_("carol", "POST", "/api/planning/mrp-runs")
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def done(process_id: str) -> Any:
    def check(s: Any) -> Any:
        proc = s.get(Process, process_id)
        return proc if proc is not None and proc.status == "completed" else None
    return check


async def test_carol_releases_twelve_planned_orders_in_one_click_once(stack: Stack) -> None:
    run = await run_mrp(stack)
    planned = run["planned_orders"]
    assert len(planned) >= 12
    assert [p["id"] for p in planned] == [f"{run['run_id']}-{n}" for n in range(1, len(planned) + 1)]
    twelve = [p["id"] for p in planned[:12]]
    r = await stack.as_("carol", "POST", f"/api/planning/mrp-runs/{run['run_id']}/release",
                        json={"planned_order_ids": twelve})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["total"] == 12 and body["release_id"].startswith("REL-") and body["process_id"].endswith(
        f"mrp-release-{body['release_id']}")
    proc = await eventually(stack.db, done(body["process_id"]), limit=60)
    assert proc.steps[-1].detail.startswith("12 of 12 created")
    making = [p for p in planned[:12] if p["kind"] == "production"]
    shown = (await stack.as_("carol", "GET", f"/api/planning/mrp-runs/{run['run_id']}")).json()["planned_orders"]
    assert all(p["released_as"] for p in shown[:12]) and not any(p["released_as"] for p in shown[12:])
    requisitions = {p["released_as"] for p in shown[:12] if p["kind"] == "purchase"}
    assert requisitions and all(pr.startswith("PR-") for pr in requisitions)
    # each production order and requisition is recorded by its running process
    await eventually(stack.db, lambda s: s.execute(select(func.count()).select_from(PurchaseRequisition)).scalar_one()
                     == len(requisitions), limit=60)
    claims, mos, prs = counts(stack)
    assert (claims, mos, prs) == (12, len(making), len(requisitions))
    with stack.db.read() as s:
        for p in shown[:12]:
            if p["kind"] == "production":
                mo = s.execute(select(ProductionOrder).where(ProductionOrder.number == p["released_as"])).scalar_one()
                assert (mo.sku, f"{mo.qty.normalize():f}", mo.due_date.isoformat()) == (p["sku"], p["qty"],
                                                                                        p["due_date"])
                assert s.get(Process, mo.process_id) is not None

    # Twice: a 409 naming them, nothing more created (the same ones, some of them, or all again).
    for again in (twelve, [*twelve[3:5], planned[12]["id"]] if len(planned) > 12 else twelve[3:5]):
        r = await stack.as_("carol", "POST", f"/api/planning/mrp-runs/{run['run_id']}/release",
                            json={"planned_order_ids": again})
        assert r.status_code == 409, r.text
        assert f"{twelve[3]} (as " in r.json()["detail"] and "nothing more is created" in r.json()["detail"]
    assert counts(stack) == (claims, mos, prs)

    # All (no body): the rest, then nothing left.
    if len(planned) > 12:
        r = await stack.as_("carol", "POST", f"/api/planning/mrp-runs/{run['run_id']}/release")
        assert r.status_code == 202 and r.json()["total"] == len(planned) - 12, r.text
        await eventually(stack.db, done(r.json()["process_id"]), limit=60)
    r = await stack.as_("carol", "POST", f"/api/planning/mrp-runs/{run['run_id']}/release")
    assert r.status_code == 409 and "already released" in r.json()["detail"], r.text
    r = await stack.as_("carol", "GET", f"/api/planning/mrp-releases/{body['release_id']}")
    assert r.json() == {"release_id": body["release_id"], "run_id": run["run_id"], "made": 12, "total": 12,
                        "done": True}


async def test_refusals_are_a_sentence_and_create_nothing(stack: Stack) -> None:
    run = await run_mrp(stack, 2)
    rid = run["run_id"]
    r = await stack.as_("carol", "POST", "/api/planning/mrp-runs", json={
        "demand": [{"sku": "FAN-200", "qty": "3", "due_date": (TODAY + timedelta(days=20)).isoformat()}]})
    what_if = r.json()["run_id"]
    buy = next(p for p in run["planned_orders"] if p["kind"] == "purchase")
    cases = [
        (f"/api/planning/mrp-runs/{rid}/release", {"planned_order_ids": [f"{what_if}-1"]}, 422,
         f"of run {what_if}, not of run {rid}"),
        (f"/api/planning/mrp-runs/{rid}/release", {"planned_order_ids": [f"{rid}-500"]}, 404, "has no planned order"),
        (f"/api/planning/mrp-runs/{rid}/release", {"planned_order_ids": ["7"]}, 422, "is not a planned order id"),
        (f"/api/planning/mrp-runs/{rid}/release", {"planned_order_ids": [f"{rid}-1", f"{rid}-1"]}, 422, "twice"),
        (f"/api/planning/mrp-runs/{rid}/release", {"planned_order_ids": []}, 422, "at least one"),
        (f"/api/planning/mrp-runs/{rid}/release", {"planned_order_ids": [f"{rid}-1"], "all": True}, 422, "all"),
        (f"/api/planning/mrp-runs/{what_if}/release", None, 409, "what-if run"),
        ("/api/planning/mrp-runs/MRP-99999/release", None, 404, "no MRP run MRP-99999"),
    ]
    for url, body, status, words in cases:
        r = await stack.as_("carol", "POST", url, json=body)
        assert r.status_code == status and words in r.json()["detail"], (url, body, r.text)
    r = await stack.as_("bob", "POST", f"/api/planning/mrp-runs/{rid}/release")
    assert r.status_code == 403, r.text
    with stack.db.write() as s:
        s.execute(update(Item).where(Item.sku == buy["sku"]).values(default_supplier_id=None))
    r = await stack.as_("carol", "POST", f"/api/planning/mrp-runs/{rid}/release")
    assert r.status_code == 422 and f"{buy['sku']} has no default supplier" in r.json()["detail"], r.text
    assert counts(stack) == (0, 0, 0)
    with stack.db.read() as s:
        assert not s.execute(select(Process).where(Process.type == "mrp_release")).first()


async def test_a_planner_makes_a_production_order_for_stock(stack: Stack) -> None:
    due = TODAY + timedelta(days=20)
    r = await stack.as_("carol", "POST", "/api/production-orders",
                        json={"sku": "FAN-200", "qty": "2", "due_date": due.isoformat()})
    assert r.status_code == 201, r.text
    made = r.json()
    number = made["production_order_id"]
    assert made["process_id"] == f"{stack.platform.id_prefix}production-order-{number}"
    mo = (await stack.as_("carol", "GET", f"/api/production-orders/{number}")).json()
    assert (mo["sku"], Decimal(mo["qty"]), mo["due_date"], mo.get("sales_order_id")) == ("FAN-200", 2, due.isoformat(),
                                                                                          None)
    # its process runs it like any other: the demo has the kit for 2 fans (2 housings), so it is released
    await eventually(stack.db, lambda s: s.execute(select(ProductionOrder.status).where(
        ProductionOrder.number == number)).scalar_one() == "released", limit=20)
    before = counts(stack)
    for who, body, status, words in [
        ("carol", {"sku": "NOPE", "qty": "5", "due_date": due.isoformat()}, 404, "unknown SKU"),
        ("carol", {"sku": "BLADE-SET", "qty": "5", "due_date": due.isoformat()}, 422, "bought, not made"),
        ("carol", {"sku": "FAN-200", "qty": "0", "due_date": due.isoformat()}, 422, "qty"),
        ("carol", {"sku": "FAN-200", "qty": "2.5", "due_date": due.isoformat()}, 422, "whole"),
        ("carol", {"sku": "FAN-200", "qty": "5", "due_date": (TODAY - timedelta(days=1)).isoformat()}, 422, "due date"),
        ("carol", {"sku": "FAN-200", "qty": "5", "due_date": due.isoformat(), "sales_order": "SO-1"}, 422,
         "sales_order"),
        ("bob", {"sku": "FAN-200", "qty": "5", "due_date": due.isoformat()}, 403, ""),
    ]:
        r = await stack.as_(who, "POST", "/api/production-orders", json=body)
        assert r.status_code == status and words in r.text, (body, r.text)
    assert counts(stack) == before


async def test_the_run_page_releases_the_ticked_planned_orders(stack: Stack) -> None:
    run = await run_mrp(stack, 2)
    rid = run["run_id"]
    browser = await Browser(stack, "carol").start()
    page = await browser.get(f"/planning/mrp-runs/{rid}")
    assert page.status_code == 200
    assert len(re.findall(r'name="planned" value="' + rid, page.text)) == len(run["planned_orders"])
    assert "Release the ticked planned orders" in page.text and 'id="totals"' in page.text
    # nothing ticked: the page again, with the reason, nothing created
    r = await browser.post(f"/planning/mrp-runs/{rid}/release", {"action": "ticked"})
    assert r.status_code == 422 and "tick at least one planned order" in r.text.lower()
    ticked = [p["id"] for p in run["planned_orders"][:3]]
    r = await browser.post(f"/planning/mrp-runs/{rid}/release", {"action": "ticked", "planned": ticked})
    assert r.status_code == 303 and "being made" in flash(r)["msg"], r.text
    await eventually(stack.db, lambda s: s.execute(select(func.count()).select_from(PlannedOrderRelease).where(
        PlannedOrderRelease.released_as.is_not(None))).scalar_one() == 3, limit=60)
    page = await browser.get(f"/planning/mrp-runs/{rid}")
    assert "3 of 3 created" in page.text
    assert len(re.findall(r'name="planned" value="', page.text)) == len(run["planned_orders"]) - 3
    # the same ones again (an old page): refused, nothing more
    r = await browser.post(f"/planning/mrp-runs/{rid}/release", {"action": "ticked", "planned": ticked[:1]})
    assert r.status_code == 409 and "already released, nothing more is created" in r.text.lower()
    assert counts(stack)[0] == 3
    # the production list's form makes an order for stock
    listing = await browser.get("/production-orders")
    assert "New production order" in listing.text
    r = await browser.post("/production-orders", {"sku": "FAN-200", "qty": "2",
                                                 "due_date": (TODAY + timedelta(days=9)).isoformat()})
    assert r.status_code == 303 and "for stock is made" in flash(r)["msg"], r.text[:2000]
    r = await browser.post("/production-orders", {"sku": "FAN-200", "qty": "-1", "due_date": "2030-01-01"})
    assert r.status_code == 422 and "The production order was not made" in r.text
