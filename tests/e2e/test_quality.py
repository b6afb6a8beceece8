"""Quality through HTTP on the dev server (issue 20, "ivan receives blade sets into quarantine; the inspection rejects
2, which go back to the supplier"): dave orders 10 BLADE-SET (flagged for incoming inspection in the demo), ivan
receives them: they wait in quarantine (not available: not reserved, not counted by MRP as on hand) and an
inspection task is in ivan's inbox; results that do not add up to the lot, without a reason, or from sales are
refused (4xx with a sentence, nothing stored); ivan accepts 8 and rejects 2 as damaged: 8 on hand, 2 back to
Northwind (the order received 8, NCR-…), the task closed, the process completed; a second result → 409. After
each step every sub-ledger equals its control account."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.inventory import quarantine
from domain.processes import ids
from domain.quality.tables import Nonconformance
from tests.e2e.test_flows import wait_for
from tests.e2e.test_supplier_bills import reconciled

pytestmark = pytest.mark.e2e
D = Decimal


async def blade_sets_received(stack, qty: int = 10) -> tuple[str, str]:
    """dave's requisition of `qty` blade sets, approved by frank, ordered and received by ivan: (PO, lot)."""
    r = await stack.as_("dave", "POST", "/api/purchase-requisitions", json={
        "lines": [{"sku": "BLADE-SET", "qty": qty, "est_unit_price": "18"}], "justification": "blade sets"})
    assert r.status_code == 201, r.text
    req = r.json()["requisition_id"]
    task = await stack.open_task("frank", req)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    po = (await wait_for(stack, "dave", f"/api/purchase-requisitions/{req}", "status", "ordered"))["purchase_order_id"]
    r = await stack.as_("ivan", "POST", f"/api/purchase-orders/{po}/receipts",
                        json={"lines": [{"sku": "BLADE-SET", "qty": qty}]})
    assert r.status_code == 201, r.text
    lots = (await stack.as_("ivan", "GET", "/api/inspections", params={"status": "open"})).json()
    [lot] = [x for x in lots if x["order_number"] == po]
    for _ in range(200):  # its inspection process opens a moment after the receipt; a result before it is a 409
        with stack.db.read() as s:
            if quarantine.lot(s, lot["number"]).process_id:
                break
        await asyncio.sleep(0.05)
    return po, lot["number"]


async def blades(stack) -> dict[str, D]:
    lv = (await stack.as_("ivan", "GET", "/api/stock/BLADE-SET")).json()
    return {k: D(lv[k]) for k in ("on_hand", "available", "quarantine", "reserved")}


def ncrs(stack) -> int:
    with stack.db.read() as s:
        return s.execute(select(func.count()).select_from(Nonconformance)).scalar_one()


async def test_ivan_receives_blade_sets_into_quarantine_and_the_inspection_sends_2_back(stack):
    before = await blades(stack)
    po, lot = await blade_sets_received(stack)
    held = await blades(stack)
    assert held["on_hand"] == before["on_hand"] and held["available"] == before["available"]
    assert held["quarantine"] == 10
    reconciled(stack)

    # not available to planning: MRP nets a demand of on hand + 10 against on hand only
    r = await stack.as_("carol", "POST", "/api/planning/mrp-runs", json={
        "demand": [{"sku": "BLADE-SET", "qty": str(held["on_hand"] + 10), "due_date": "2027-03-01"}]})
    assert r.status_code in (200, 201), r.text
    planned = [p for p in r.json()["planned_orders"] if p["sku"] == "BLADE-SET"]
    assert planned and D(planned[0]["qty"]) >= 10

    # the inspection task is in ivan's inbox, and the lot's process waits for it
    task = await stack.open_task("ivan", lot)
    assert task["kind"] == "inspect" and "BLADE-SET" in task["title"]
    process_id = ids.inspection(lot, stack.platform.id_prefix)
    assert task["process_id"] == process_id

    # refusals: a sentence, nothing stored
    bad = [
        ("ivan", {"accepted_qty": "11", "rejected_qty": "0"}, 422, "more than the 10 received"),
        ("ivan", {"accepted_qty": "9", "rejected_qty": "2", "reason": "damaged"}, 422, "more than the 10 received"),
        ("ivan", {"accepted_qty": "7", "rejected_qty": "2", "reason": "damaged"}, 422, "less than the 10 received"),
        ("ivan", {"accepted_qty": "8", "rejected_qty": "2"}, 422, "choose a reason"),
        ("ivan", {"accepted_qty": "8", "rejected_qty": "2", "reason": "bent"}, 422, "not a rejection reason"),
        ("ivan", {"accepted_qty": "-1", "rejected_qty": "11", "reason": "damaged"}, 422, "accepted_qty"),
        ("ivan", {"accepted_qty": "abc"}, 422, "accepted_qty"),
        ("alice", {"accepted_qty": "10"}, 403, "may not record inspections"),
    ]
    for who, body, code, words in bad:
        r = await stack.as_(who, "POST", f"/api/inspections/{lot}/result", json=body)
        assert r.status_code == code, (body, r.text)
        assert words in r.text, (body, r.text)
    r = await stack.as_("ivan", "POST", "/api/inspections/IL-99999/result", json={"accepted_qty": "1"})
    assert r.status_code == 404 and "no inspection lot IL-99999" in r.text
    assert await blades(stack) == held and ncrs(stack) == 0
    assert (await stack.as_("ivan", "GET", f"/api/inspections/{lot}")).json()["status"] == "open"

    # ivan accepts 8 and rejects 2 as damaged
    r = await stack.as_("ivan", "POST", f"/api/inspections/{lot}/result",
                        json={"accepted_qty": "8", "rejected_qty": "2", "reason": "damaged",
                              "note": "two hubs cracked"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "inspected" and D(out["accepted_qty"]) == 8 and D(out["rejected_qty"]) == 2
    assert out["outcome"]["ncr"].startswith("NCR-") and D(out["outcome"]["returned_qty"]) == 2
    after = await blades(stack)
    assert after["on_hand"] == before["on_hand"] + 8 and after["quarantine"] == 0
    ncr = (await stack.as_("ivan", "GET", f"/api/nonconformances/{out['outcome']['ncr']}")).json()
    assert ncr["sku"] == "BLADE-SET" and D(ncr["qty"]) == 2 and ncr["reason"] == "damaged"
    assert ncr["disposition"] == "returned" and ncr["supplier"] == "Northwind Components"
    assert ncr["source_document"] == f"{po}-R1" and ncr["lot"] == lot
    order = (await stack.as_("dave", "GET", f"/api/purchase-orders/{po}")).json()
    assert D(order["lines"][0]["received_qty"]) == 8
    reconciled(stack)
    # the task closed and the process completed
    for _ in range(200):
        proc = (await stack.as_("admin", "GET", f"/api/processes/{process_id}")).json()
        if proc["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    assert proc["status"] == "completed" and proc["type"] == "inspection"
    open_tasks = (await stack.as_("ivan", "GET", "/api/tasks", params={"business_key": lot})).json()
    assert open_tasks == []
    # a second result is refused, nothing stored
    r = await stack.as_("ivan", "POST", f"/api/inspections/{lot}/result", json={"accepted_qty": "10"})
    assert r.status_code == 409 and "inspected already" in r.text
    assert await blades(stack) == after and ncrs(stack) == 1
    fpy = (await stack.as_("admin", "GET", "/api/quality/first-pass-yield")).json()
    assert [D(x["inspection_yield"]) for x in fpy if x["sku"] == "BLADE-SET"] == [D("0.8")]


async def test_blade_sets_in_quarantine_are_not_kitted_or_reserved_for_an_order(stack):
    before = await blades(stack)
    await blade_sets_received(stack)
    customers = (await stack.as_("alice", "GET", "/api/customers", params={"limit": 200})).json()
    globex = next(int(c["id"]) for c in customers if c["name"].startswith("Globex"))
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": globex, "lines": [{"sku": "FAN-200", "qty": 10, "unit_price": "450"}]})
    assert r.status_code == 201, r.text
    kit = (await stack.as_("alice", "GET", f"/api/sales-orders/{r.json()['sales_order_id']}/kitting")).json()
    by_sku = {ln["sku"]: ln for ln in kit["lines"]}
    # 5 fans from stock, 5 to build: 4 blade sets on hand, the 10 in quarantine not counted → 1 short
    assert D(by_sku["BLADE-SET"]["shortage"]) == 1 and kit["complete"] is False
    now = await blades(stack)
    assert now["quarantine"] == 10 and now["reserved"] <= before["on_hand"] and now["on_hand"] == before["on_hand"]


async def test_the_inspection_flags_of_an_item(stack):
    r = await stack.as_("dave", "PUT", "/api/items/MOTOR-200W/inspection", json={"incoming": True, "final": False})
    assert r.status_code == 200 and r.json() == {"sku": "MOTOR-200W", "inspect_incoming": True,
                                                 "inspect_final": False}, r.text
    item = (await stack.as_("dave", "GET", "/api/items/MOTOR-200W")).json()
    assert item["inspect_incoming"] is True and item["inspect_final"] is False
    for who, sku, body, code in [("alice", "MOTOR-200W", {"incoming": False}, 403),
                                 ("dave", "NO-SUCH", {"incoming": False}, 404),
                                 ("dave", "MOTOR-200W", {"incoming": "maybe"}, 422),
                                 ("dave", "MOTOR-200W", {"incoming": False, "extra": 1}, 422)]:
        r = await stack.as_(who, "PUT", f"/api/items/{sku}/inspection", json=body)
        assert r.status_code == code, (who, sku, body, r.text)
    assert (await stack.as_("dave", "GET", "/api/items/MOTOR-200W")).json()["inspect_incoming"] is True


async def test_housings_made_wait_for_their_final_inspection_and_a_reject_is_scrapped(stack):
    from datetime import UTC, datetime, timedelta

    r = await stack.as_("carol", "PUT", "/api/items/FAN-HOUSING/inspection", json={"incoming": False, "final": True})
    assert r.status_code == 200, r.text
    due = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    r = await stack.as_("carol", "POST", "/api/production-orders", json={"sku": "FAN-HOUSING", "qty": 3,
                                                                          "due_date": due})
    assert r.status_code == 201, r.text
    mo = r.json()["production_order_id"]
    await wait_for(stack, "carol", f"/api/production-orders/{mo}", "status", "released")
    before = (await stack.as_("ivan", "GET", "/api/stock/FAN-HOUSING")).json()
    for body, words in [({"completed_qty": "2", "scrap_qty": "1", "scrap_reason": "bent"}, "not a scrap reason"),
                        ({"completed_qty": "2", "scrap_reason": "machining"}, "goes with a scrap quantity")]:
        r = await stack.as_("ivan", "POST", f"/api/production-orders/{mo}/progress", json=body)
        assert r.status_code == 422 and words in r.text, r.text
    r = await stack.as_("ivan", "POST", f"/api/production-orders/{mo}/progress",
                        json={"completed_qty": "2", "labour_hours": "0.8", "scrap_qty": "1",
                              "scrap_reason": "machining"})
    assert r.status_code == 200, r.text
    scrap = (await stack.as_("ivan", "GET", "/api/quality/scrap-by-reason")).json()
    assert [(x["sku"], x["reason"], D(x["qty"])) for x in scrap] == [("FAN-HOUSING", "machining", 1)]
    held = (await stack.as_("ivan", "GET", "/api/stock/FAN-HOUSING")).json()
    assert D(held["on_hand"]) == D(before["on_hand"]) and D(held["quarantine"]) == 2
    for _ in range(200):
        lots = [x for x in (await stack.as_("ivan", "GET", "/api/inspections")).json() if x["order_number"] == mo]
        if lots and lots[0]["process_id"]:
            break
        await asyncio.sleep(0.05)
    [lot] = lots
    assert lot["source"] == "production" and lot["status"] == "open"
    r = await stack.as_("ivan", "POST", f"/api/inspections/{lot['number']}/result",
                        json={"accepted_qty": "1", "rejected_qty": "1", "reason": "finish", "note": "paint runs"})
    assert r.status_code == 200, r.text
    ncr = (await stack.as_("ivan", "GET", f"/api/nonconformances/{r.json()['outcome']['ncr']}")).json()
    assert ncr["disposition"] == "scrapped" and ncr["order_number"] == mo and ncr["supplier"] is None
    after = (await stack.as_("ivan", "GET", "/api/stock/FAN-HOUSING")).json()
    assert D(after["on_hand"]) == D(before["on_hand"]) + 1 and D(after["quarantine"]) == 0
    reconciled(stack)
