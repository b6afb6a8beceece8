"""Order to production to cost through HTTP on the dev server, as a new user walks it: a short sales order →
kitting → two production orders and a purchase requisition → approval and receipt → progress in parts →
delivery → cost, revenue and margin on the order and the customer, equal to the ledger; MRP runs; and
the refusals, each a clear 4xx that changes nothing."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.inventory.tables import StockLedgerEntry
from domain.production.tables import ProductionOrder
from domain.purchasing.tables import PurchaseRequisition
from tests.quality_steps import accept_all_http

pytestmark = pytest.mark.e2e

FAN, HOUSING, BLADES = "FAN-200", "FAN-HOUSING", "BLADE-SET"
TOUCHED = (FAN, HOUSING, BLADES, "MOTOR-200W", "STEEL-SHEET")
D = Decimal


async def poll(stack: Any, user: str, url: str, check: Any, tries: int = 300, pause: float = 0.05) -> Any:
    """The GET's body once `check` holds of it (the processes act in the background)."""
    body = None
    for _ in range(tries):
        r = await stack.as_(user, "GET", url)
        assert r.status_code == 200, r.text
        body = r.json()
        if check(body):
            return body
        await asyncio.sleep(pause)
    raise AssertionError(f"{url} never got there: {body}")


class Stock:
    """Every touched SKU's levels, looked at after each step: never below zero, never more reserved than on
    hand."""

    def __init__(self, stack: Any):
        self.stack = stack

    async def levels(self) -> dict[str, dict[str, D]]:
        out = {}
        for sku in TOUCHED:
            r = await self.stack.as_("carol", "GET", f"/api/stock/{sku}")
            assert r.status_code == 200, r.text
            lv = {k: D(v) for k, v in r.json().items() if k != "sku"}
            assert lv["on_hand"] >= 0 and 0 <= lv["reserved"] <= lv["on_hand"], (sku, lv)
            out[sku] = lv
        return out


async def refused(stack: Any, user: str, method: str, url: str, status: int, *, unchanged: list[str],
                  match: str = "", **kw: Any) -> str:
    """The request fails with `status` and a readable detail, and neither the documents at `unchanged`
    nor stock nor the ledger moved."""
    stock = Stock(stack)
    before = ([(await stack.as_("admin", "GET", u)).json() for u in unchanged], await stock.levels(),
              (await stack.as_("grace", "GET", "/api/ledger/trial-balance")).json())
    r = await stack.as_(user, method, url, **kw)
    assert r.status_code == status, (url, r.status_code, r.text)
    detail = r.json()["detail"]
    assert isinstance(detail, str) and match.lower() in detail.lower(), detail
    after = ([(await stack.as_("admin", "GET", u)).json() for u in unchanged], await stock.levels(),
             (await stack.as_("grace", "GET", "/api/ledger/trial-balance")).json())
    assert after == before, url
    return detail


def account(tb: dict[str, Any], code: str) -> D:
    """Debit minus credit of an account on the trial balance."""
    a = next((a for a in tb["accounts"] if a["code"] == code), None)
    return D(0) if a is None else D(a["debit"]) - D(a["credit"])


async def journal_net(stack: Any, voucher_no: str, code: str) -> D:
    r = await stack.as_("grace", "GET", "/api/ledger/journal", params={"voucher_no": voucher_no, "limit": 200})
    assert r.status_code == 200, r.text
    return sum((D(ln["debit"]) - D(ln["credit"]) for e in r.json() for ln in e["lines"] if ln["account"] == code),
               D(0))


async def globex(stack: Any) -> int:
    r = await stack.as_("alice", "GET", "/api/customers", params={"limit": 200})
    return next(int(c["id"]) for c in r.json() if c["name"] == "Globex Corporation")


async def test_a_short_order_is_made_delivered_and_costed_over_http(stack):
    stock = Stock(stack)
    opening = await stock.levels()
    assert opening[FAN]["on_hand"] == 5 and opening[BLADES]["on_hand"] == 4 and opening[HOUSING]["on_hand"] == 2
    customer = await globex(stack)
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": customer, "lines": [{"sku": FAN, "qty": 10, "unit_price": "450"}]})
    assert r.status_code == 201, r.text
    so = r.json()["sales_order_id"]
    so_url = f"/api/sales-orders/{so}"

    # Kitting shows the shortage: 5 fans from stock, 3 housings to build, 1 blade set missing.
    r = await stack.as_("alice", "GET", f"{so_url}/kitting")
    assert r.status_code == 200, r.text
    kit = r.json()
    assert kit["complete"] is False and D(kit["max_buildable"]) == 9
    by_sku = {ln["sku"]: ln for ln in kit["lines"]}
    assert D(by_sku[BLADES]["shortage"]) == 1 and D(by_sku[HOUSING]["to_build"]) == 3
    assert (await stack.as_("erin", "GET", f"{so_url}/kitting")).status_code == 404  # not hers to see

    # The order's page shows its supply: two production orders and one purchase requisition.
    view = await poll(stack, "alice", so_url, lambda b: len(b["production_orders"]) == 2 and b["purchase_orders"])
    mos = {m["sku"]: m for m in view["production_orders"]}
    assert {s: (D(m["qty"]), m["issue_method"]) for s, m in mos.items()} == {
        FAN: (5, "kitted"), HOUSING: (3, "backflush")}
    [req] = view["purchase_orders"]
    assert view["status"] == "in_fulfilment" and view["cost"] is None and view["margin"] is None
    fan, housing = mos[FAN]["id"], mos[HOUSING]["id"]
    fan_url, housing_url = f"/api/production-orders/{fan}", f"/api/production-orders/{housing}"
    listed = (await stack.as_("carol", "GET", "/api/production-orders", params={"sales_order": so})).json()
    assert {m["id"] for m in listed} == {fan, housing}
    await poll(stack, "carol", housing_url, lambda b: b["status"] == "released")
    fan_view = await poll(stack, "carol", fan_url, lambda b: b["wait_reason"].startswith("waiting for material"))
    assert fan_view["status"] == "waiting_material" and "BLADE-SET short 1" in fan_view["wait_reason"]
    await stock.levels()

    # Refusals while supply is on its way: each a clear 4xx, nothing changes.
    both = [fan_url, housing_url, so_url]
    await refused(stack, "carol", "POST", f"{fan_url}/progress", 409, unchanged=both, match="not released",
                  json={"completed_qty": 1})
    await refused(stack, "carol", "POST", f"{housing_url}/progress", 409, unchanged=both, match="only 3 left",
                  json={"completed_qty": 4})
    for bad in ({"completed_qty": -1}, {"completed_qty": 0}, {"completed_qty": 0, "labour_hours": 0},
                {"labour_hours": -2}, {"completed_qty": 1, "scrap_qty": -1}, {}):
        await refused(stack, "carol", "POST", f"{housing_url}/progress", 422, unchanged=both, json=bad)
    await refused(stack, "carol", "POST", "/api/production-orders/MO-99999/progress", 404, unchanged=both,
                  json={"completed_qty": 1})
    assert (await stack.as_("carol", "GET", "/api/production-orders/MO-99999")).status_code == 404
    await refused(stack, "alice", "POST", f"{housing_url}/progress", 403, unchanged=both, json={"completed_qty": 1})
    await refused(stack, "carol", "POST", f"{fan_url}/change-requests", 422, unchanged=both,
                  match="a new quantity or a new due date", json={"reason": "nothing to change"})
    await refused(stack, "ivan", "POST", f"{so_url}/deliver", 409, unchanged=both, match="ready to deliver")

    # Backflush in parts: each report consumes what the units made (good + scrap) need; a report's good and
    # scrapped units are at most what is left to make.
    await refused(stack, "carol", "POST", f"{housing_url}/progress", 422, unchanged=both, match="only 3 are left",
                  json={"completed_qty": 3, "scrap_qty": 1})
    before = await stock.levels()
    r = await stack.as_("carol", "POST", f"{housing_url}/progress", json={"completed_qty": 1, "labour_hours": "0.5",
                                                                         "scrap_qty": 1})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "released" and D(r.json()["completed_qty"]) == 1
    mid = await stock.levels()
    assert mid["STEEL-SHEET"]["on_hand"] == before["STEEL-SHEET"]["on_hand"] - D("4.2")  # 2 made × 2 × 1.05
    assert mid[HOUSING]["on_hand"] == before[HOUSING]["on_hand"] + 1
    r = await stack.as_("carol", "POST", f"{housing_url}/progress",
                        json={"completed_qty": 2, "labour_hours": "0.8"})
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["status"] == "completed" and D(h["completed_qty"]) == 3 and D(h["scrap_qty"]) == 1
    after = await stock.levels()
    assert after["STEEL-SHEET"]["on_hand"] == before["STEEL-SHEET"]["on_hand"] - D("8.4")  # 4 made × 2 × 1.05
    assert after[HOUSING]["on_hand"] == before[HOUSING]["on_hand"] + 3
    assert D(h["cost"]["in_wip"]) == 0 and D(h["cost"]["received"]) == D(h["cost"]["total"])
    assert (D(h["cost"]["labour"]), D(h["cost"]["overhead"])) == (D("45.5"), D("6.5"))  # 1.3 h × 35, × 5
    # The housings arrived: the fan order looks again and now waits for the blade set only.
    await poll(stack, "carol", fan_url, lambda b: b["wait_reason"] == "waiting for material: BLADE-SET short 1")
    detail = await refused(stack, "carol", "POST", f"{housing_url}/progress", 409, unchanged=both,
                           json={"completed_qty": 1})
    assert "completed" in detail or "has ended" in detail, detail  # the process may still be closing

    # The blade sets: frank approves the requisition's task, ivan receives the purchase order.
    task = await stack.open_task("frank", req["requisition_id"])
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    view = await poll(stack, "alice", so_url, lambda b: b["purchase_orders"][0]["purchase_order_id"])
    po = view["purchase_orders"][0]["purchase_order_id"]
    r = await stack.as_("ivan", "POST", f"/api/purchase-orders/{po}/receipts", json={"lines": [
        {"sku": BLADES, "qty": 20}]})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "received"
    await accept_all_http(stack, po)  # blade sets are inspected when they come in (issue 20)

    # The fan order is released with its whole kit issued at once (kitted).
    fan_view = await poll(stack, "carol", fan_url, lambda b: b["status"] == "released")
    await refused(stack, "ivan", "POST", f"/api/purchase-orders/{po}/receipts", 409,
                  unchanged=[*both, f"/api/purchase-orders/{po}"], json={"lines": [{"sku": BLADES, "qty": 1}]})
    assert all(D(m["issued"]) == D(m["required"]) for m in fan_view["materials"])
    assert D(fan_view["cost"]["material"]) > 0 and D(fan_view["cost"]["in_wip"]) == D(fan_view["cost"]["material"])
    await stock.levels()
    await refused(stack, "carol", "POST", f"{fan_url}/change-requests", 409, unchanged=both, match="kit",
                  json={"qty": 6, "reason": "one more"})
    await refused(stack, "ivan", "POST", f"{so_url}/deliver", 409, unchanged=both, match="ready to deliver")
    for qty, hours in ((2, 2), (3, 3)):
        issued_before = (await stack.as_("carol", "GET", fan_url)).json()["materials"]
        r = await stack.as_("carol", "POST", f"{fan_url}/progress", json={"completed_qty": qty, "labour_hours": hours})
        assert r.status_code == 200, r.text
        assert r.json()["materials"] == issued_before  # kitted: nothing more issued with progress
        await stock.levels()
    assert r.json()["status"] == "completed"

    # Every fan reserved: the order becomes deliverable.
    proc = (await stack.as_("alice", "GET", so_url)).json()["process_id"]
    await poll(stack, "alice", f"/api/processes/{proc}", lambda b: b["stage"] == "ready to deliver")
    tb0 = (await stack.as_("grace", "GET", "/api/ledger/trial-balance")).json()  # the demo's history besides
    await deliver(stack, so)
    await refused(stack, "ivan", "POST", f"{so_url}/deliver", 409, unchanged=both)

    view = await poll(stack, "alice", so_url, lambda b: b["status"] == "completed")
    cost = {k: D(v) for k, v in view["cost"].items()}
    assert cost["total"] == cost["material"] + cost["labour"] + cost["overhead"] > 0
    assert cost["labour"] == D("45.5") + D(200)  # housings 1.3 h × 35 + fans 5 h × 40
    revenue, margin = D(view["revenue"]), D(view["margin"])
    assert revenue == 4500 and margin == revenue - cost["total"]
    # Equal to the ledger: revenue posted by the delivery's invoice, cost of goods sold for this order.
    [inv] = view["invoices"]
    assert -await journal_net(stack, inv["invoice_id"], "4000") == revenue == D(inv["total"])
    assert [d["invoice_id"] for d in view["deliveries"]] == [inv["invoice_id"]]
    assert await journal_net(stack, so, "5000") == cost["total"]
    assert await journal_net(stack, fan, "1300") + await journal_net(stack, housing, "1300") == 0  # WIP emptied
    tb = (await stack.as_("grace", "GET", "/api/ledger/trial-balance")).json()
    assert tb["debit_total"] == tb["credit_total"]
    assert account(tb, "4000") - account(tb0, "4000") == -revenue
    assert account(tb, "5000") - account(tb0, "5000") == cost["total"]
    r = await stack.as_("alice", "GET", f"/api/customers/{customer}")
    assert r.status_code == 200, r.text
    assert D(r.json()["lifetime_margin"]) == margin
    assert {o["sales_order_id"]: D(o["margin"]) for o in r.json()["orders"] if o["margin"] is not None} == {so: margin}
    end = await stock.levels()
    assert end[FAN]["on_hand"] == 0 and end[FAN]["reserved"] == 0  # 5 + 5 made − 10 delivered
    assert end[BLADES]["on_hand"] == opening[BLADES]["on_hand"] + 20 - 5
    with stack.db.read() as s:  # the stock ledger agrees: no entry ever left an item below zero
        assert s.execute(select(func.min(StockLedgerEntry.on_hand_after))).scalar_one() >= 0


async def deliver(stack: Any, so: str) -> None:
    """POST deliver once the process says ready. The monitor's stage is written by the activity a moment
    before the workflow takes its result, so an early click may still be told to wait; nothing changes then."""
    for _ in range(40):
        r = await stack.as_("ivan", "POST", f"/api/sales-orders/{so}/deliver")
        if r.status_code != 409:
            break
        await asyncio.sleep(0.05)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"


async def test_mrp_runs_over_http_change_nothing(stack):
    def counts() -> tuple[int, int]:
        with stack.db.read() as s:
            return (s.execute(select(func.count()).select_from(ProductionOrder)).scalar_one(),
                    s.execute(select(func.count()).select_from(PurchaseRequisition)).scalar_one())

    stock = Stock(stack)
    before, docs = await stock.levels(), counts()
    # All open sales orders (none short in the demo): stored, shown again.
    r = await stack.as_("carol", "POST", "/api/planning/mrp-runs")
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["run_id"].startswith("MRP") and run["what_if"] is False and run["created_by"] == "carol"
    r = await stack.as_("carol", "GET", f"/api/planning/mrp-runs/{run['run_id']}")
    assert r.status_code == 200 and r.json() == run
    # A what-if of 10 fans: planned orders come back as suggestions; nothing is created.
    due = (date.today() + timedelta(days=30)).isoformat()
    r = await stack.as_("carol", "POST", "/api/planning/mrp-runs", json={
        "demand": [{"sku": FAN, "qty": 10, "due_date": due, "reference": "trade fair"}]})
    assert r.status_code == 201, r.text
    what_if = r.json()
    assert what_if["what_if"] is True and what_if["planned_count"] == len(what_if["planned_orders"]) > 0
    assert {p["sku"] for p in what_if["planned_orders"]} >= {FAN, HOUSING, BLADES}
    assert (await stack.as_("carol", "GET", f"/api/planning/mrp-runs/{what_if['run_id']}")).json() == what_if
    listed = (await stack.as_("carol", "GET", "/api/planning/mrp-runs")).json()
    assert [x["run_id"] for x in listed] == [what_if["run_id"], run["run_id"]]
    assert counts() == docs and await stock.levels() == before
    assert (await stack.as_("carol", "GET", "/api/production-orders")).json() == []

    # Refusals: a clear 4xx, no run stored.
    for body, match in (({"demand": [{"sku": "NO-SUCH-SKU", "qty": 1, "due_date": due}]}, "NO-SUCH-SKU"),
                        ({"demand": [{"sku": FAN, "qty": 0, "due_date": due}]}, "qty"),
                        ({"demand": [{"sku": FAN, "qty": -3, "due_date": due}]}, "qty"),
                        ({"demand": []}, "demand"),
                        ({"scheduled_receipts": [{"sku": FAN, "qty": 1, "due_date": due}]}, "demand")):
        r = await stack.as_("carol", "POST", "/api/planning/mrp-runs", json=body)
        assert r.status_code == 422, (body, r.status_code, r.text)
        assert match in r.json()["detail"], r.text
    assert (await stack.as_("alice", "POST", "/api/planning/mrp-runs")).status_code == 403
    assert (await stack.as_("carol", "GET", "/api/planning/mrp-runs/MRP-99999")).status_code == 404
    assert len((await stack.as_("carol", "GET", "/api/planning/mrp-runs")).json()) == 2
    assert counts() == docs and await stock.levels() == before
