"""The numbers beside an approval task, over HTTP: a quotation's discount goes to the sales manager, who sees the
lines, the margin at standard and the customer's credit with the task."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

LEAD = {"company": "Globex Corporation", "contact": "Hank Scorpio", "email": "hank@globex.example",
        "source": "referral", "estimated_value": "40000"}


async def test_a_discount_task_carries_its_quotation_s_numbers(stack):
    number = (await stack.as_("alice", "POST", "/api/leads", json=LEAD)).json()["lead_id"]
    opp = (await stack.as_("alice", "POST", f"/api/leads/{number}/qualify",
                           json={"decision": "qualified"})).json()["opportunity_id"]
    line = {"sku": "FAN-200", "qty": 10, "unit_price": "500", "discount_pct": "25"}
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={"lines": [line]})
    assert r.status_code == 201 and r.json()["status"] == "pending_approval", r.text
    quotation = r.json()["quotation_id"]
    task = await stack.open_task("bob", quotation)
    r = await stack.as_("bob", "GET", f"/api/tasks/{task['id']}")
    assert r.status_code == 200, r.text
    c = r.json()["context"]
    assert (c["kind"], c["approval_for"], c["number"], c["customer"]) == (
        "quotation", "discount", quotation, "Globex Corporation")
    assert (c["net_total"], c["total"], c["max_discount_pct"]) == ("3750.00", "3750.00", "25.00")
    assert c["lines"] == [{"sku": "FAN-200", "qty": "10.00", "unit_price": "500.00", "discount_pct": "25.00",
                           "net": "3750.00", "over_limit": True, "promise_date": c["lines"][0]["promise_date"],
                           "promise_basis": "build", "constrained_by": "BLADE-SET: supplier lead time (6 days)",
                           "constraint": {"why": "purchase", "sku": "BLADE-SET", "reference": None, "due": None,
                                          "days": 6}, "late": False}]  # capable-to-promise: tests/e2e/test_promise.py
    assert c["margin"] == {"revenue": "3750.00", "cost": "3200.00", "margin": "550.00", "margin_pct": "14.70"}
    assert (c["credit"]["credit_limit"], c["credit"]["exposure"], c["credit"]["over_limit"]) == (
        "50000.00", "3750.00", False)
    # the list stays as it was; an expense claim's task has no context
    listed = (await stack.as_("bob", "GET", "/api/tasks", params={"business_key": quotation})).json()
    assert "context" not in listed[0]
    r = await stack.as_("erin", "POST", "/api/expense-claims", json={
        "lines": [{"category": "travel", "amount": "120", "currency": "USD", "date": "2026-11-02",
                   "description": "taxi"}]})
    assert r.status_code == 201, r.text
    claim_task = await stack.open_task("frank", r.json()["claim_id"])
    assert (await stack.as_("frank", "GET", f"/api/tasks/{claim_task['id']}")).json()["context"] is None
