"""The order-to-cost pages (sales orders, production orders, planning) over HTTP, without a browser: each
renders for whoever may see it and is a 404 (a sales order) or a 403 (production, planning) for anyone else;
a bad progress or change form shows the reason and changes nothing; a good one goes to the order's process;
an order ready to deliver is delivered from its page and then shows its cost and margin."""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from domain.approvals.tables import Task
from domain.inventory.tables import StockLedgerEntry
from domain.parties.tables import Customer
from domain.planning.tables import MrpRun
from domain.production import services as production_svc
from domain.production.tables import ProductionOrder
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, count, text
from tests.helpers import eventually

pytestmark = pytest.mark.e2e


async def order_fans(stack: Stack, qty: str) -> str:
    with stack.db.read() as s:
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": globex, "lines": [{"sku": "FAN-200", "qty": qty, "unit_price": "450"}]})
    assert r.status_code == 201, r.text
    return str(r.json()["sales_order_id"])


def supply_of(so: str) -> Any:
    def check(s: Any) -> Any:
        found = production_svc.for_sales_order(s, so)
        return found if found["production_orders"] and found["purchase_orders"] else None
    return check


def mo(stack: Stack, so: str, sku: str) -> ProductionOrder:
    with stack.db.read() as s:
        row: ProductionOrder = s.execute(select(ProductionOrder).where(
            ProductionOrder.sales_order_number == so, ProductionOrder.sku == sku)).scalar_one()
        return row


async def short_order(stack: Stack) -> tuple[str, str, str]:
    """10 fans for Globex: 5 from stock, 5 made (they wait for 3 housings, made at once, and a blade set)."""
    so = await order_fans(stack, "10")
    await eventually(stack.db, supply_of(so), limit=30)
    housing = await eventually(stack.db, lambda s: s.execute(select(ProductionOrder.number).where(
        ProductionOrder.sales_order_number == so, ProductionOrder.sku == "FAN-HOUSING",
        ProductionOrder.status == "released")).scalar_one_or_none(), limit=30)
    fan = await eventually(stack.db, lambda s: s.execute(select(ProductionOrder.number).where(
        ProductionOrder.sales_order_number == so, ProductionOrder.sku == "FAN-200",
        ProductionOrder.wait_reason.startswith("waiting for material"))).scalar_one_or_none(), limit=30)
    return so, housing, fan


async def test_a_short_order_its_production_and_its_mrp_run_render_for_those_who_may_see_them(stack: Stack) -> None:
    alice, bob, carol, dave, erin, ivan = [await Browser(stack, u).start()
                                           for u in ("alice", "bob", "carol", "dave", "erin", "ivan")]
    so, housing, fan = await short_order(stack)

    page = text(await alice.get(f"/sales-orders/{so}"))
    assert f"Sales order {so} · Globex Corporation in fulfilment" in page
    assert "FAN-200 10 0 5 450.00 4,500.00" in page  # ordered 10, none delivered, 5 reserved from stock
    assert "Kitting short" in page and "BLADE-SET purchased" in page and "FAN-HOUSING manufactured" in page
    assert housing in page and fan in page and "BLADE-SET short 1" in page and "Margin once delivered" in page
    # Not the whole order (it waits for supply), but what is reserved may go: a partial delivery.
    assert "Deliver " + so not in page and "Deliver these quantities" in page and "Nothing delivered yet" in page
    r = await alice.get(f"/sales-orders/{so}")
    assert f'href="/production-orders/{housing}"' not in r.text  # a salesperson does not see production orders
    r = await carol.get(f"/sales-orders/{so}")
    assert r.status_code == 200 and f'href="/production-orders/{housing}"' in r.text
    assert 'href="/planning/mrp-runs/MRP-' in r.text
    assert (await bob.get(f"/sales-orders/{so}")).status_code == 200  # the sales manager sees every order
    for stranger in (dave, erin):
        r = await stranger.get(f"/sales-orders/{so}")
        assert r.status_code == 404 and f"no sales order {so}" in r.text and "Globex" not in r.text
        assert so not in (await stranger.get("/sales-orders")).text
    assert (await alice.get("/sales-orders/SO-99999")).status_code == 404
    r = await alice.get("/sales-orders")
    assert r.status_code == 200 and f'href="/sales-orders/{so}"' in r.text and 'href="/sales-orders" aria-current' in r.text

    page = text(await carol.get(f"/production-orders/{fan}"))
    assert f"Production order {fan} · 5 × FAN-200 waiting material" in page
    assert "Waiting for material: BLADE-SET short 1, FAN-HOUSING short 3" in page
    assert "Report progress" not in page and "Request a change" in page and "kitted issue" in page
    page = text(await carol.get(f"/production-orders/{housing}"))
    assert "STEEL-SHEET 2 5 6.3 0 0.00 12.50" in page  # 3 housings × 2 sheets + 5 % scrap, nothing issued yet
    assert "Report progress" in page and "Request a change" in page
    page = text(await ivan.get(f"/production-orders/{housing}"))
    assert "Report progress" in page and "Request a change" not in page  # the warehouse reports, never changes
    r = await carol.get(f"/production-orders?sales_order={so}")
    assert r.status_code == 200 and housing in r.text and fan in r.text
    for outsider in (alice, erin):
        for url in (f"/production-orders/{housing}", "/production-orders", "/planning"):
            r = await outsider.get(url)
            assert r.status_code == 403 and "production and planning are for" in text(r), url
    assert (await carol.get("/production-orders/MO-99999")).status_code == 404
    assert 'href="/production-orders"' not in (await alice.get("/inbox")).text  # no Production entry for sales
    assert 'href="/planning"' in (await carol.get("/inbox")).text

    with stack.db.read() as s:
        run = s.execute(select(MrpRun.number).where(MrpRun.scope == so)).scalar_one()
    r = await carol.get(f"/planning/mrp-runs/{run}")
    assert r.status_code == 200 and f'href="/sales-orders/{so}"' in r.text
    page = text(r)
    assert "FAN-HOUSING production 3" in page and "BLADE-SET purchase" in page
    assert run in text(await dave.get("/planning"))  # the buyer reads planning
    r = await carol.get(f"/planning/mrp-runs/{run}?sku=BLADE-SET")
    assert "BLADE-SET purchase" in text(r) and "FAN-HOUSING production" not in text(r)

    runs = count(stack, MrpRun)
    assert "Run MRP over all open orders" not in (await ivan.get("/planning")).text
    r = await ivan.post("/planning/mrp-runs")
    assert r.status_code == 403 and "Only a planner or an admin can run MRP" in text(r)
    assert count(stack, MrpRun) == runs
    r = await carol.post("/planning/mrp-runs")
    assert r.status_code == 303 and r.headers["location"].startswith("/planning/mrp-runs/MRP-"), r.text
    assert count(stack, MrpRun) == runs + 1
    page = text(await carol.get(r.headers["location"]))
    assert "all open orders and forecasts" in page and "Run by carol" in page


async def test_a_bad_progress_or_change_form_changes_nothing_and_a_good_one_is_recorded(stack: Stack) -> None:
    alice, carol, ivan = [await Browser(stack, u).start() for u in ("alice", "carol", "ivan")]
    so, housing, _ = await short_order(stack)
    url = f"/production-orders/{housing}"

    def moves() -> int:
        return count(stack, StockLedgerEntry, StockLedgerEntry.voucher_no == housing)

    before = moves()
    for form, status, sentence in [
        ({"completed_qty": "abc"}, 422, "The completed quantity must be a number, not 'abc'."),
        ({"completed_qty": "", "labour_hours": "", "scrap_qty": ""}, 422,
         "A progress report needs a completed quantity, labour hours or scrap above zero."),
        ({"completed_qty": "-1"}, 422, "The completed quantity: input should be greater than or equal to 0"),
        ({"completed_qty": "4", "labour_hours": "1"}, 409, "only 3 left to make)."),
    ]:
        r = await carol.post(f"{url}/progress", form)
        page = text(r)
        assert r.status_code == status and "The progress was not recorded; nothing was changed." in page, page[:600]
        assert sentence in page, page[:600]
        assert f'value="{form["completed_qty"]}"' in r.text  # the form keeps what was typed
        row = mo(stack, so, "FAN-HOUSING")
        assert row.completed_qty == 0 and row.labour_hours == 0 and moves() == before
    r = await alice.post(f"{url}/progress", {"completed_qty": "1"})
    assert r.status_code == 403 and mo(stack, so, "FAN-HOUSING").completed_qty == 0
    r = await carol.post(f"{url}/progress", {"completed_qty": "1"}, csrf=False)
    assert r.status_code == 403 and mo(stack, so, "FAN-HOUSING").completed_qty == 0

    r = await ivan.post(f"{url}/progress", {"completed_qty": "1", "labour_hours": "0.5", "scrap_qty": ""})
    assert r.status_code == 303, text(r)
    page = text(await ivan.get(r.headers["location"]))
    assert f"The progress on {housing} is recorded. 1 of 3 made so far." in page
    assert "1 of 3 made, 0.5 h of labour" in page
    row = mo(stack, so, "FAN-HOUSING")
    assert row.completed_qty == 1 and row.labour_hours == Decimal("0.5") and moves() > before
    assert row.received_value > 0

    for form, status, sentence in [
        ({"reason": "customer asked"}, 422, "A change request needs a new quantity or a new due date."),
        ({"qty": "4", "reason": ""}, 422, "The reason is required."),
        ({"due_date": "31/12/2030", "reason": "later"}, 422, "The new due date must be a date such as 2030-01-31"),
        ({"qty": "x", "reason": "more"}, 422, "The new quantity must be a number"),
    ]:
        r = await carol.post(f"{url}/change-requests", form)
        page = text(r)
        assert r.status_code == status and sentence in page, page[:600]
        assert "The change was not requested; nothing was changed." in page
    r = await ivan.post(f"{url}/change-requests", {"qty": "4", "reason": "more"})
    assert r.status_code == 403 and "Only a planner or an admin" in text(r)
    assert count(stack, Task, Task.business_key == housing, Task.kind == "approval") == 0
    due = (date.today() + timedelta(days=30)).isoformat()
    r = await carol.post(f"{url}/change-requests", {"due_date": due, "reason": "the customer moved the date"})
    assert r.status_code == 303, text(r)
    await eventually(stack.db, lambda s: s.execute(select(Task.id).where(
        Task.business_key == housing, Task.kind == "approval", Task.status == "open")).first())
    page = text(await carol.get(url))
    assert "Waiting for:" in page and "frank" in page
    r = await carol.post(f"{url}/change-requests", {"qty": "4", "reason": "and more"})
    assert r.status_code == 409 and "already has a change waiting for approval" in text(r)


async def test_an_order_ready_to_deliver_is_delivered_from_its_page_and_shows_cost_and_margin(stack: Stack) -> None:
    alice, bob = [await Browser(stack, u).start() for u in ("alice", "bob")]
    so = await order_fans(stack, "2")  # in stock: ready to deliver at once
    page = ""
    for _ in range(200):
        page = text(await alice.get(f"/sales-orders/{so}"))
        if "Deliver " + so in page:
            break
        await asyncio.sleep(0.05)
    assert "Ready to deliver" in page and "Deliver " + so in page, page[:600]
    page = text(await bob.get(f"/sales-orders/{so}"))
    assert "Deliver " + so not in page and "can deliver it" in page  # neither warehouse nor the salesperson
    r = await bob.post(f"/sales-orders/{so}/deliver")
    assert r.status_code == 403 and "The order was not delivered" in text(r)
    assert "Cost of goods sold" not in text(r)

    r = None
    for _ in range(100):  # the process takes a moment after the reservation to be ready
        r = await alice.post(f"/sales-orders/{so}/deliver")
        if r.status_code != 409:
            break
        await asyncio.sleep(0.05)
    assert r is not None and r.status_code == 303, text(r)
    page = text(await alice.get(r.headers["location"]))
    assert f"Sales order {so} is delivered" in page and f"Sales order {so} · Globex Corporation completed" in page
    # 2 fans from the opening stock at 320.00: no production, so all material.
    assert "Revenue (net of tax) 900.00 100 %" in page and "Material 640.00 71.1 %" in page
    assert "Cost of goods sold 640.00 71.1 %" in page and "Margin 260.00 28.9 %" in page
    assert "Deliver " + so not in page and "Kitting" not in page
    r = await alice.post(f"/sales-orders/{so}/deliver")
    assert r.status_code == 409 and f"The order was not delivered. Sales order {so} is completed; nothing more to deliver" in text(r)
    assert re.search(rf"{so} Globex Corporation completed .* 900.00 USD 260.00", text(await alice.get("/sales-orders")))
