"""Issue 20's "done when", as a new user would try it, through the HTTP API with the real worker, on the demo company
with the forecasts `valueloop up --demo` adds (spare motors 10 a month, 30 fans the month after next):

alice types a quotation for 10 FAN-200 and gets each line's promise date and why before she sends it (5 fans from
stock, 5 to build, held up by the blade sets' 6-day lead time); the customer wants them in 5 days, so the
quotation goes to bob, whose task shows each line's promise. carol enters next month's forecast of 50 fans, runs
MRP (twelve planned orders, ASSEMBLY overloaded in the week before the month starts), releases the twelve in one
click (4 production orders and 3 requisitions, one per supplier; a second release creates nothing), sees the
overload on the load table and moves the fan order's due date two weeks on: its hours spread, the overload is gone. frank approves
Northwind's requisition; ivan receives 10 of its blade sets into quarantine (not available); he inspects them,
accepts 8 and rejects 2 as damaged: the 8 become available, the 2 go back to Northwind (the order received 8)
with a nonconformance record. The stack fixture checks every sub-ledger against its control account after."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.planning import forecast_demo
from domain.planning.forecast_rules import add_months, month_label
from domain.processes.tables import Process
from domain.production.tables import ProductionOrder
from domain.purchasing.tables import PurchaseRequisition
from tests.e2e.conftest import Stack
from tests.e2e.test_order_to_cost import poll
from tests.e2e.test_promise import opportunity
from tests.helpers import eventually

pytestmark = pytest.mark.e2e
D = Decimal
TODAY = datetime.now(UTC).date()
FIRST = add_months(TODAY.replace(day=1), 1)  # next month's first day
BLADES = "BLADE-SET: supplier lead time (6 days)"


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


def counts(stack: Stack) -> tuple[int, int]:
    with stack.db.read() as s:
        return (s.execute(select(func.count()).select_from(ProductionOrder)).scalar_one(),
                s.execute(select(func.count()).select_from(PurchaseRequisition)).scalar_one())


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


async def assembly_overloads(stack: Stack, run: str) -> list[dict[str, Any]]:
    r = await stack.as_("carol", "GET", "/api/planning/load", params={"run": run})
    assert r.status_code == 200, r.text
    return [o for o in r.json()["overloads"] if o["work_centre"] == "ASSEMBLY"]


async def blades(stack: Stack) -> dict[str, D]:
    lv = (await stack.as_("ivan", "GET", "/api/stock/BLADE-SET")).json()
    return {k: D(lv[k]) for k in ("on_hand", "available", "quarantine")}


async def test_promise_plan_release_level_and_inspect(stack: Stack) -> None:
    with stack.db.write() as s:
        forecast_demo.load(s)  # what `valueloop up --demo` adds to the demo company

    # --- alice: each line's promise and why, before she sends the quotation ---------------------------------
    r = await stack.as_("alice", "POST", "/api/planning/promise", json={"lines": [{"sku": "FAN-200", "qty": "10"}],
                                                                         "requested_date": day(5)})
    assert r.status_code == 200, r.text
    [line] = r.json()["lines"]
    assert (line["promise_date"], line["basis"], line["constrained_by"], line["late"]) == (day(9), "build", BLADES,
                                                                                            True)
    opp = await opportunity(stack)
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={
        "lines": [{"sku": "FAN-200", "qty": "10", "unit_price": "500"}], "requested_date": day(5)})
    assert r.status_code == 201 and r.json()["status"] == "pending_approval", r.text
    quotation = r.json()["quotation_id"]
    q = (await stack.as_("alice", "GET", f"/api/quotations/{quotation}")).json()
    assert [(ln["promise_date"], ln["promise_basis"], ln["constrained_by"], ln["late"]) for ln in q["lines"]] == [
        (day(9), "build", BLADES, True)]

    # --- bob sees it on his approval task -----------------------------------------------------------------
    task = await stack.open_task("bob", quotation)
    context = (await stack.as_("bob", "GET", f"/api/tasks/{task['id']}")).json()["context"]
    assert [(ln["sku"], ln["promise_date"], ln["constrained_by"]) for ln in context["lines"]] == [
        ("FAN-200", day(9), BLADES)]
    assert context["review"]["reasons"] == [f"line FAN-200 can ship {day(9)}, 4 day(s) after the requested {day(5)} "
                                            f"({BLADES})"]
    r = await stack.as_("bob", "POST", f"/api/tasks/{task['id']}/complete",
                        json={"decision": "approve", "comment": "they will wait"})
    assert r.status_code == 200, r.text
    await poll(stack, "alice", f"/api/quotations/{quotation}", lambda b: b["status"] == "sent")

    # --- carol: next month's forecast, MRP ------------------------------------------------------------------
    r = await stack.as_("carol", "POST", "/api/planning/forecasts",
                        json={"sku": "FAN-200", "month": month_label(FIRST), "qty": 50})
    assert r.status_code == 201, r.text
    r = await stack.as_("carol", "POST", "/api/planning/mrp-runs")
    assert r.status_code == 201, r.text
    run = r.json()
    rid = run["run_id"]
    planned = run["planned_orders"]
    kinds = sorted((p["sku"], p["kind"]) for p in planned)
    assert kinds == sorted([("FAN-200", "production")] * 2 + [("FAN-HOUSING", "production")] * 2
                           + [("BLADE-SET", "purchase")] * 2 + [("MOTOR-200W", "purchase")] * 4
                           + [("BEARING-6204", "purchase"), ("STEEL-SHEET", "purchase")]), kinds
    fans = next(p for p in planned if p["sku"] == "FAN-200" and p["due_date"] == FIRST.isoformat())
    assert (fans["qty"], fans["pegged_to"]) == ("45", [f"FC {month_label(FIRST)}"])  # 50 less the 5 on hand
    # 45 fans: 46 hours of ASSEMBLY in the days before the month starts, in one week
    [over] = [e for e in run["exceptions"] if e["kind"] == "capacity overload"]
    assert (over["reference"], over["pegged_to"]) == ("ASSEMBLY", [fans["id"]]), over
    assert "46 h of work" in over["message"]
    [hot] = await assembly_overloads(stack, rid)
    assert hot["week_start"] == over["date"]

    # --- twelve planned orders released in one click, once --------------------------------------------------
    before = counts(stack)
    r = await stack.as_("carol", "POST", f"/api/planning/mrp-runs/{rid}/release")
    assert r.status_code == 202 and r.json()["total"] == 12, r.text
    release = r.json()
    await eventually(stack.db, lambda s: (p := s.get(Process, release["process_id"])) is not None
                     and p.status == "completed", limit=60)
    r = await stack.as_("carol", "GET", f"/api/planning/mrp-releases/{release['release_id']}")
    assert r.json() == {"release_id": release["release_id"], "run_id": rid, "made": 12, "total": 12, "done": True}
    shown = (await stack.as_("carol", "GET", f"/api/planning/mrp-runs/{rid}")).json()["planned_orders"]
    made = {p["released_as"] for p in shown if p["kind"] == "production"}
    requisitions = {p["released_as"] for p in shown if p["kind"] == "purchase"}
    assert len(made) == 4 and all(m.startswith("MO-") for m in made), shown
    assert len(requisitions) == 3 and all(x.startswith("PR-") for x in requisitions), shown  # one per supplier
    await eventually(stack.db, lambda s: counts(stack) == (before[0] + 4, before[1] + 3), limit=60)
    r = await stack.as_("carol", "POST", f"/api/planning/mrp-runs/{rid}/release")
    assert r.status_code == 409 and "already released" in r.json()["detail"], r.text
    assert counts(stack) == (before[0] + 4, before[1] + 3)

    # --- the fans' production order overloads ASSEMBLY; carol gives it two weeks more -----------------------------
    mo = next(p["released_as"] for p in shown if p["id"] == fans["id"])
    [hot] = await assembly_overloads(stack, "none")
    assert hot["week_start"] == over["date"]
    order = (await stack.as_("carol", "GET", f"/api/production-orders/{mo}")).json()
    assert (order["sku"], D(order["qty"]), order["due_date"]) == ("FAN-200", D(45), FIRST.isoformat())
    later = FIRST + timedelta(days=14)  # 46 h over 10 working days or more: under 8 h a day
    r = await stack.as_("carol", "POST", f"/api/production-orders/{mo}/reschedule", json={
        "release_date": order["release_date"], "due_date": later.isoformat(), "reason": "level ASSEMBLY"})
    assert r.status_code == 200 and r.json()["due_date"] == later.isoformat(), r.text
    assert await assembly_overloads(stack, "none") == []
    r = await stack.as_("carol", "GET", "/api/planning/load", params={"run": "none"})
    row = next(x for x in r.json()["rows"] if x["work_centre"] == "ASSEMBLY")
    theirs = [(c["week_start"], D(o["hours"])) for c in row["cells"] for o in c["orders"] if o["reference"] == mo]
    assert len(theirs) >= 2 and sum(h for _w, h in theirs) == 46, theirs  # over two weeks or more now

    # --- frank approves Northwind's requisition; ivan receives 10 blade sets into quarantine -----------------
    pr = next(p["released_as"] for p in shown if p["sku"] == "BLADE-SET")
    req = (await stack.as_("dave", "GET", f"/api/purchase-requisitions/{pr}")).json()
    assert [(ln["sku"], D(ln["qty"])) for ln in req["lines"]] == [("BLADE-SET", D(80))], req  # 50 + 30
    task = await stack.open_task("frank", pr)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    po = (await poll(stack, "dave", f"/api/purchase-requisitions/{pr}", lambda b: b["status"] == "ordered")
          )["purchase_order_id"]
    first = await blades(stack)
    r = await stack.as_("ivan", "POST", f"/api/purchase-orders/{po}/receipts",
                        json={"lines": [{"sku": "BLADE-SET", "qty": 10}]})
    assert r.status_code == 201, r.text
    held = await blades(stack)
    assert held == {**first, "quarantine": first["quarantine"] + 10}  # not on hand, not available

    # --- the inspection rejects 2: back to the supplier, with a nonconformance record ---------------------
    lots = (await stack.as_("ivan", "GET", "/api/inspections", params={"status": "open"})).json()
    [lot] = [x["number"] for x in lots if x["order_number"] == po]
    task = await stack.open_task("ivan", lot)
    assert task["kind"] == "inspect" and "BLADE-SET" in str(task["title"])
    r = await stack.as_("ivan", "POST", f"/api/inspections/{lot}/result", json={
        "accepted_qty": "8", "rejected_qty": "2", "reason": "damaged", "note": "two hubs cracked"})
    assert r.status_code == 200, r.text
    outcome = r.json()["outcome"]
    assert D(outcome["returned_qty"]) == 2
    after = await blades(stack)
    assert after == {"on_hand": first["on_hand"] + 8, "available": first["available"] + 8,
                     "quarantine": first["quarantine"]}
    ncr = (await stack.as_("ivan", "GET", f"/api/nonconformances/{outcome['ncr']}")).json()
    assert (ncr["sku"], D(ncr["qty"]), ncr["reason"], ncr["disposition"], ncr["supplier"], ncr["lot"]) == (
        "BLADE-SET", D(2), "damaged", "returned", "Northwind Components", lot)
    assert ncr["source_document"] == f"{po}-R1"
    order = (await stack.as_("dave", "GET", f"/api/purchase-orders/{po}")).json()
    assert D(order["lines"][0]["received_qty"]) == 8
