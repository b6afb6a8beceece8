"""Issue 15, classes 4-6, through HTTP: unbounded quantities, hours and amounts, currencies that are not money
and dates far from today are a 4xx that changes nothing (no stock move, no journal); numbers are plain ASCII
decimals on the API, while a form reads what a person types in their locale; whole units take integers only,
on quotations, orders, requisitions, receipts, production progress and stock adjustments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_leads import qualified
from tests.e2e.test_order_to_cost import poll, refused
from tests.e2e.test_production_pages import short_order
from tests.e2e.test_sales_pages import Browser, text

pytestmark = pytest.mark.e2e
D = Decimal
TODAY = datetime.now(UTC).date()
LINE = {"category": "travel", "amount": "100.00", "currency": "USD", "date": TODAY.isoformat(), "description": "taxi"}
ODD_NUMBERS = ["١٠٠", "1_000", "1,000", "１００", "1e3", "NaN", " 12", "Infinity"]


async def claims(stack: Stack, user: str = "erin") -> list[Any]:
    r = await stack.as_(user, "GET", "/api/expense-claims", params={"mine": "true", "limit": 500})
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_progress_is_bounded_and_in_whole_units_and_receipts_too(stack: Stack) -> None:
    so, housing, _fan = await short_order(stack)  # the housing order: 3 ea, released, backflushed
    url = f"/api/production-orders/{housing}"
    unchanged = [url, f"/api/sales-orders/{so}"]
    for body, match in [
        ({"labour_hours": 100000}, "labour_hours"),  # the report of the issue: 5 million into WIP
        ({"completed_qty": 1, "labour_hours": "100000"}, "labour_hours"),
        ({"completed_qty": 1, "labour_hours": 601}, "more than 200 hours for each of the 3 units left"),
        ({"scrap_qty": 4}, "only 3 are left to make"),  # scrap above the order quantity
        ({"scrap_qty": 1000}, "only 3 are left to make"),
        ({"completed_qty": 2, "scrap_qty": 2}, "4 units worked, but only 3 are left"),
        ({"completed_qty": "0.5"}, "the completed quantity of FAN-HOUSING 0.5 ea is not a whole number"),
        ({"completed_qty": 1, "scrap_qty": 0.5}, "the scrap quantity of FAN-HOUSING 0.5 ea is not a whole number"),
        ({"completed_qty": "١"}, "plain decimal"),
        ({"completed_qty": "1e0"}, "plain decimal"),
    ]:
        await refused(stack, "carol", "POST", f"{url}/progress", 422, unchanged=unchanged, match=match, json=body)

    # Within the bounds it is taken: scrap does not use up the order, and whole units are whole.
    r = await stack.as_("carol", "POST", f"{url}/progress", json={"completed_qty": 1, "scrap_qty": 1,
                                                                   "labour_hours": "0.5"})
    assert r.status_code == 200, r.text
    assert (D(r.json()["completed_qty"]), D(r.json()["scrap_qty"])) == (1, 1)

    # The same refusal on the page, as a sentence, and the same locale reading.
    carol = await Browser(stack, "carol").start()
    r = await carol.post(f"/production-orders/{housing}/progress", {"completed_qty": "0.5"})
    assert r.status_code == 422 and "is not a whole number" in text(r), text(r)[:800]
    r = await carol.post(f"/production-orders/{housing}/progress", {"completed_qty": "١"})
    assert r.status_code == 422 and "The completed quantity must be a number, not '١'" in text(r), text(r)[:800]
    r = await carol.post(f"/production-orders/{housing}/progress", {"labour_hours": "１，０００"})
    assert r.status_code == 422 and "more than 200 hours for each of the 2 units left" in text(r), text(r)[:800]
    r = await carol.post(f"/production-orders/{housing}/progress", {"completed_qty": "１", "labour_hours": "０．５"})
    assert r.status_code == 303, text(r)[:800]
    assert D((await stack.as_("carol", "GET", url)).json()["completed_qty"]) == 2

    # A receipt of half a blade set (ea) is refused; the whole one is taken.
    view = await poll(stack, "alice", f"/api/sales-orders/{so}", lambda b: b["purchase_orders"])
    req = view["purchase_orders"][0]["requisition_id"]
    task = await stack.open_task("frank", req)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    view = await poll(stack, "alice", f"/api/sales-orders/{so}", lambda b: b["purchase_orders"][0]["purchase_order_id"])
    po = view["purchase_orders"][0]["purchase_order_id"]
    for qty in ("0.5", 1.5, "١"):
        await refused(stack, "ivan", "POST", f"/api/purchase-orders/{po}/receipts", 422,
                      unchanged=[f"/api/purchase-orders/{po}"], json={"lines": [{"sku": "BLADE-SET", "qty": qty}]})
    r = await stack.as_("ivan", "POST", f"/api/purchase-orders/{po}/receipts",
                        json={"lines": [{"sku": "BLADE-SET", "qty": 1}]})
    assert r.status_code == 201, r.text


async def test_whole_units_on_quotations_orders_requisitions_and_adjustments(stack: Stack) -> None:
    r = await stack.as_("admin", "POST", "/api/items", json={"sku": "T-OIL", "name": "Cutting oil", "kind": "purchased",
                                                             "uom": "l", "standard_cost": "2"})
    assert r.status_code == 201, r.text
    for uom in ("bogus", "EA", "ea "):
        r = await stack.as_("admin", "POST", "/api/items", json={"sku": "T-BAD", "name": "Bad", "kind": "purchased",
                                                                 "uom": uom})
        assert r.status_code == 422 and "unit of measure" in r.json()["detail"], r.text
    assert (await stack.as_("admin", "GET", "/api/items/T-BAD")).status_code == 404

    opp = await qualified(stack)
    line = {"sku": "FAN-200", "qty": "0.5", "unit_price": "500"}
    for lines in ([line], [{**line, "qty": 1.5}], [{"sku": "BOLT-M8", "qty": "2.25", "unit_price": "1"}]):
        r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={"lines": lines})
        assert r.status_code == 422 and "is not a whole number" in r.json()["detail"], r.text
    assert (await stack.as_("alice", "GET", f"/api/opportunities/{opp}")).json().get("quotations", []) == []
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations",
                        json={"lines": [{"sku": "T-OIL", "qty": "0.5", "unit_price": "5"}]})
    assert r.status_code == 201, r.text  # 0.5 l is fine

    customers = {c["name"]: c["id"] for c in (await stack.as_("alice", "GET", "/api/customers")).json()}
    order = {"customer_id": customers["Initech"], "lines": [{"sku": "BOLT-M8", "qty": "0.5", "unit_price": "0.50"}]}
    r = await stack.as_("alice", "POST", "/api/sales-orders", json=order)
    assert r.status_code == 422 and "BOLT-M8 0.5 ea is not a whole number" in r.json()["detail"], r.text
    for day in ((TODAY + timedelta(days=6 * 366)).isoformat(), "1999-01-01"):
        r = await stack.as_("alice", "POST", "/api/sales-orders",
                            json={**order, "lines": [{**order["lines"][0], "qty": 1}], "requested_date": day})
        assert r.status_code == 422 and "the requested date" in r.json()["detail"], r.text
    assert (await stack.as_("alice", "GET", "/api/sales-orders")).json() == []

    r = await stack.as_("carol", "POST", "/api/purchase-requisitions",
                        json={"lines": [{"sku": "BOLT-M8", "qty": "100.5", "est_unit_price": "0.1"}]})
    assert r.status_code == 422 and "is not a whole number" in r.json()["detail"], r.text

    await refused(stack, "ivan", "POST", "/api/stock/adjustments", 422, unchanged=[], match="not a whole number",
                  json={"sku": "BOLT-M8", "qty": "0.5", "unit_cost": "0.1", "reason": "count"})
    r = await stack.as_("ivan", "POST", "/api/stock/adjustments",
                        json={"sku": "T-OIL", "qty": "2.5", "unit_cost": "2", "reason": "count"})
    assert r.status_code == 201, r.text


async def test_currencies_amounts_and_dates(stack: Stack) -> None:
    for code in ("XXX", "XTS", "XAU", "usd", "US", "ＵＳＤ"):
        r = await stack.as_("admin", "POST", "/api/customers", json={"name": f"Odd {code}", "currency": code})
        assert r.status_code == 422 and "currency" in r.json()["detail"], r.text
        r = await stack.as_("admin", "POST", "/api/suppliers", json={"name": f"Odd {code}", "currency": code})
        assert r.status_code == 422, r.text
        r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [{**LINE, "currency": code}]})
        assert r.status_code == 422, r.text
    r = await stack.as_("admin", "POST", "/api/customers", json={"name": "Euro GmbH", "currency": "EUR"})
    assert r.status_code == 201 and r.json()["currency"] == "EUR", r.text
    for credit in ODD_NUMBERS:
        r = await stack.as_("admin", "POST", "/api/customers", json={"name": "Odd credit", "credit_limit": credit})
        assert r.status_code == 422 and "plain decimal" in r.json()["detail"], (credit, r.text)

    # Each line under the limit, the total over it: refused like a line over it; nothing filed, nothing posted.
    under = {**LINE, "amount": "600000000.00"}
    await refused(stack, "erin", "POST", "/api/expense-claims", 422, unchanged=[], match="over the limit of",
                  json={"lines": [under, under]})
    for day, match in (((TODAY - timedelta(days=50 * 365)).isoformat(), "more than 10 years ago"),
                       ((TODAY + timedelta(days=366)).isoformat(), "is in the future"),
                       ((TODAY + timedelta(days=2)).isoformat(), "is in the future")):
        await refused(stack, "erin", "POST", "/api/expense-claims", 422, unchanged=[], match=match,
                      json={"lines": [{**LINE, "date": day}]})
    for amount in ODD_NUMBERS:
        await refused(stack, "erin", "POST", "/api/expense-claims", 422, unchanged=[], match="plain decimal",
                      json={"lines": [{**LINE, "amount": amount}]})
    assert await claims(stack) == []
    r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [{**LINE, "amount": 12.5}]})
    assert r.status_code == 201 and r.json()["total"] == "12.50", r.text

    # The inbox's amount filter on the API: plain decimals only too.
    for bound in ("١٠٠", "1,000", "1e3"):
        r = await stack.as_("frank", "GET", "/api/tasks", params={"min_amount": bound})
        assert r.status_code == 422, (bound, r.text)
    assert (await stack.as_("frank", "GET", "/api/tasks", params={"min_amount": "10.5"})).status_code == 200

    # MRP: a planning date and due dates near today.
    far = (TODAY + timedelta(days=6 * 366)).isoformat()
    for body in ({"as_of": far}, {"demand": [{"sku": "FAN-200", "qty": 1, "due_date": far}]},
                 {"demand": [{"sku": "FAN-200", "qty": "1,000", "due_date": TODAY.isoformat()}]}):
        r = await stack.as_("carol", "POST", "/api/planning/mrp-runs", json=body)
        assert r.status_code == 422, (body, r.text)


async def test_the_expense_form_reads_what_a_person_types(stack: Stack) -> None:
    erin = await Browser(stack, "erin").start()
    form = {"category": "travel", "currency": "usd", "date": TODAY.isoformat(), "description": "train"}
    for typed in ("١٢", "12 34", "1,5", "1e3"):
        r = await erin.post("/requests/expense-claims", {**form, "amount": typed})
        assert r.status_code == 422, text(r)[:600]
        assert f"The claim was not filed. The amount must be a number, not {typed!r}." in text(r), text(r)[:800]
    r = await erin.post("/requests/expense-claims", {**form, "amount": "１，２５０．５０"})
    assert r.status_code == 303, text(r)[:800]
    r = await erin.post("/requests/expense-claims", {**form, "amount": "1,000", "date": date(1970, 1, 1).isoformat()})
    assert r.status_code == 422 and "more than 10 years ago" in text(r), text(r)[:800]
    [claim] = await claims(stack)
    assert (claim["total"], claim["currency"]) == ("1250.50", "USD")
