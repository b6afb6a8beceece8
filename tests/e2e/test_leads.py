"""Leads through HTTP: create, read, log activity, qualify; and the refusals."""

from __future__ import annotations

import asyncio

import pytest

from domain.processes import ids

pytestmark = pytest.mark.e2e

LEAD = {"company": "Wayne Enterprises", "contact": "Lucius Fox", "email": "lucius@wayne.example",
        "source": "trade_show", "estimated_value": "75000"}


async def test_lead_to_opportunity_over_http(stack):
    r = await stack.as_("alice", "POST", "/api/leads", json=LEAD)
    assert r.status_code == 201, r.text
    number = r.json()["lead_id"]
    lead = (await stack.as_("alice", "GET", f"/api/leads/{number}")).json()
    assert lead["owner"] == "alice" and lead["status"] == "assigned" and lead["score"] > 0
    assert lead["score_reasons"] and all({"rule", "points", "reason"} <= set(x) for x in lead["score_reasons"])
    assert (await stack.as_("carol", "GET", f"/api/leads/{number}")).status_code == 404
    assert (await stack.as_("bob", "GET", f"/api/leads/{number}")).status_code == 200  # sales manager
    r = await stack.as_("alice", "POST", f"/api/leads/{number}/activities", json={"kind": "meeting", "note": "demo"})
    assert r.status_code == 201 and r.json()["score"] > lead["score"]
    r = await stack.as_("alice", "POST", f"/api/leads/{number}/qualify", json={"decision": "qualified"})
    assert r.status_code == 200, r.text
    assert r.json()["opportunity_id"].startswith("OP-")
    r = await stack.as_("alice", "POST", f"/api/leads/{number}/qualify", json={"decision": "qualified"})
    assert r.status_code == 409
    lead = (await stack.as_("alice", "GET", f"/api/leads/{number}")).json()
    assert lead["status"] == "qualified" and lead["customer_id"]


async def test_lead_refusals(stack):
    assert (await stack.as_("erin", "POST", "/api/leads", json=LEAD)).status_code == 403
    for bad in ({**LEAD, "email": "not-an-email"}, {**LEAD, "estimated_value": "-1"}, {**LEAD, "source": "tv"},
                {**LEAD, "status": "qualified"}, {**LEAD, "owner": "erin"}):
        r = await stack.as_("alice", "POST", "/api/leads", json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert isinstance(r.json()["detail"], str)
    number = (await stack.as_("bob", "POST", "/api/leads", json={**LEAD, "owner": "alice"})).json()["lead_id"]
    r = await stack.as_("alice", "POST", f"/api/leads/{number}/qualify", json={"decision": "disqualified"})
    assert r.status_code == 422 and "why" in r.json()["detail"]
    r = await stack.as_("admin", "POST", f"/api/leads/{number}/qualify",
                        json={"decision": "qualified", "customer_id": 999999})
    assert r.status_code == 404
    r = await stack.as_("bob", "POST", f"/api/leads/{number}/qualify",
                        json={"decision": "disqualified", "reason": "duplicate"})
    assert r.status_code == 200 and r.json()["opportunity_id"] is None
    assert (await stack.as_("alice", "GET", "/api/leads/LD-99999")).status_code == 404


async def qualified(stack, company: str = "Globex Corporation") -> str:
    number = (await stack.as_("alice", "POST", "/api/leads", json={**LEAD, "company": company})).json()["lead_id"]
    r = await stack.as_("alice", "POST", f"/api/leads/{number}/qualify", json={"decision": "qualified"})
    return r.json()["opportunity_id"]


async def test_quotation_to_sales_order_over_http(stack):
    opp = await qualified(stack)
    line = {"sku": "FAN-200", "qty": 10, "unit_price": "500", "discount_pct": "5"}
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={"lines": [line],
                                                                                       "valid_days": 14})
    assert r.status_code == 201 and r.json()["status"] == "sent", r.text
    number = r.json()["quotation_id"]
    from workflows.common import CUSTOMER, PROCESS_TYPE, SALESPERSON

    described = await stack.platform.client.get_workflow_handle(r.json()["process_id"]).describe()
    attrs = described.typed_search_attributes
    assert (attrs.get(PROCESS_TYPE), attrs.get(SALESPERSON), attrs.get(CUSTOMER)) == (
        "quotation", "alice", "Globex Corporation")
    q = (await stack.as_("alice", "GET", f"/api/quotations/{number}")).json()
    assert q["total"] == "4750.00" and q["margin"]["margin"] == "1550.00" and q["opportunity_id"] == opp
    assert (await stack.as_("carol", "GET", f"/api/quotations/{number}")).status_code == 404
    r = await stack.as_("alice", "POST", f"/api/quotations/{number}/accept")
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["sales_order_id"], r.text
    order_id = r.json()["sales_order_id"]
    for _ in range(100):
        order = (await stack.as_("alice", "GET", f"/api/sales-orders/{order_id}")).json()
        if order["status"] == "in_fulfilment":
            break
        await asyncio.sleep(0.05)
    assert order["status"] == "in_fulfilment" and order["lines"][0]["reserved_qty"] == "5.00"  # 5 of 10 on hand
    assert (await stack.as_("carol", "GET", f"/api/sales-orders/{order_id}")).status_code == 200  # planner
    assert (await stack.as_("erin", "GET", f"/api/sales-orders/{order_id}")).status_code == 404
    proc = await supply_planned(stack, order["process_id"])
    assert proc["type"] == "sales_order" and proc["stage"] == "waiting for supply"
    kitting = next(st for st in proc["steps"] if st["name"] == "kitting")
    assert "BLADE-SET short 1" in kitting["detail"]  # 5 fans reserved; the other 5 lack a blade set
    r = await stack.as_("alice", "POST", f"/api/quotations/{number}/accept")
    assert r.status_code == 409 and "already accepted" in r.json()["detail"]
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={"lines": [line]})
    assert r.status_code == 409 and "won" in r.json()["detail"]  # no quotation on a closed opportunity


async def test_quotation_bad_input(stack):
    opp = await qualified(stack)
    good = {"sku": "FAN-200", "qty": 1, "unit_price": "500", "discount_pct": "0"}
    for bad, code in [({**good, "sku": "NOPE"}, 404), ({**good, "qty": 0}, 422), ({**good, "qty": -1}, 422),
                      ({**good, "discount_pct": 101}, 422), ({**good, "discount_pct": -1}, 422),
                      ({**good, "unit_price": -5}, 422)]:
        r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={"lines": [bad]})
        assert r.status_code == code, (bad, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str)
    assert (await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations",
                            json={"lines": []})).status_code == 422
    assert (await stack.as_("erin", "POST", f"/api/opportunities/{opp}/quotations",
                            json={"lines": [good]})).status_code == 403
    assert (await stack.as_("alice", "POST", "/api/opportunities/OP-99999/quotations",
                            json={"lines": [good]})).status_code == 404
    assert (await stack.as_("alice", "POST", "/api/quotations/QT-99999/accept")).status_code == 404


async def order_status(stack, order_id: str, want: str) -> dict:
    for _ in range(200):
        order = (await stack.as_("alice", "GET", f"/api/sales-orders/{order_id}")).json()
        if order["status"] == want:
            return order
        await asyncio.sleep(0.05)
    raise AssertionError(f"{order_id} is {order['status']}, not {want}")


async def test_direct_sales_orders_and_the_credit_check(stack):
    customers = {c["name"]: c["id"] for c in (await stack.as_("alice", "GET", "/api/customers")).json()}
    small = {"customer_id": customers["Initech"], "lines": [{"sku": "BOLT-M8", "qty": 100, "unit_price": "0.50"}],
             "requested_date": "2026-12-15"}
    r = await stack.as_("alice", "POST", "/api/sales-orders", json=small)
    assert r.status_code == 201, r.text
    order = await order_status(stack, r.json()["sales_order_id"], "in_fulfilment")
    assert order["total"] == "50.00" and order["requested_date"] == "2026-12-15"
    big = {"customer_id": customers["Initech"], "lines": [{"sku": "FAN-200", "qty": 50, "unit_price": "500"}]}
    r = await stack.as_("alice", "POST", "/api/sales-orders", json=big)  # 25,000 over a 20,000 limit
    assert r.status_code == 201, r.text
    order_id = r.json()["sales_order_id"]
    task = await stack.open_task("grace", order_id)
    assert task["candidate_role"] == "finance" and task["amount"] == "25000.00"
    assert (await stack.as_("alice", "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve"})).status_code == 403
    r = await stack.as_("grace", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    await order_status(stack, order_id, "in_fulfilment")


async def test_direct_sales_order_bad_input(stack):
    line = {"sku": "BOLT-M8", "qty": 1, "unit_price": "1"}
    for body, code in [({"customer_id": 999999, "lines": [line]}, 404),
                       ({"customer_id": 1, "lines": [{**line, "sku": "NOPE"}]}, 404),
                       ({"customer_id": 1, "lines": [{**line, "qty": 0}]}, 422),
                       ({"customer_id": 1, "lines": [{**line, "unit_price": -1}]}, 422),
                       ({"customer_id": 1, "lines": []}, 422), ({"customer_id": 1, "lines": [line, line]}, 422),
                       ({"customer_id": 1, "lines": [line], "status": "completed"}, 422)]:
        r = await stack.as_("alice", "POST", "/api/sales-orders", json=body)
        assert r.status_code == code, (body, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str)
    assert (await stack.as_("erin", "POST", "/api/sales-orders", json={"customer_id": 1, "lines": [line]})
            ).status_code == 403
    assert (await stack.as_("alice", "GET", "/api/sales-orders")).json() == []


async def test_the_done_when_path_over_http(stack):
    """Issue 4's 'done when', through HTTP: a lead, qualified; a quotation at 5 % (sent at once) and one at
    25 % (bob approves it in the inbox); the customer accepts; grace approves the over-credit order; the
    sales order exists with its fulfilment process running and listed with its stage."""
    r = await stack.as_("alice", "POST", "/api/leads", json={**LEAD, "company": "Umbrella Corporation"})
    lead, lead_process = r.json()["lead_id"], r.json()["process_id"]
    r = await stack.as_("alice", "POST", f"/api/leads/{lead}/qualify", json={"decision": "qualified"})
    opp = r.json()["opportunity_id"]
    five = {"sku": "FAN-200", "qty": 10, "unit_price": "500", "discount_pct": "5"}
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={"lines": [five]})
    assert r.status_code == 201 and r.json()["status"] == "sent", r.text
    big = {"sku": "FAN-200", "qty": 300, "unit_price": "500", "discount_pct": "25"}  # 112,500 > 100,000 credit
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={"lines": [big]})
    assert r.status_code == 201 and r.json()["status"] == "pending_approval", r.text
    quotation = r.json()["quotation_id"]
    task = await stack.open_task("bob", quotation)
    from workflows.common import CUSTOMER, PROCESS_TYPE, SALESPERSON

    approval = await stack.platform.client.get_workflow_handle(ids.discount_approval(r.json()['process_id'])).describe()
    attrs = approval.typed_search_attributes  # approvals are searchable like every process
    assert (attrs.get(PROCESS_TYPE), attrs.get(CUSTOMER), attrs.get(SALESPERSON)) == (
        "approval", "Umbrella Corporation", "alice")
    assert "25" in task["title"] and "Umbrella Corporation" in task["title"]
    r = await stack.as_("bob", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    for _ in range(200):
        if (await stack.as_("alice", "GET", f"/api/quotations/{quotation}")).json()["status"] == "sent":
            break
        await asyncio.sleep(0.05)
    r = await stack.as_("alice", "POST", f"/api/quotations/{quotation}/accept")
    assert r.status_code == 200 and r.json()["status"] == "pending_credit_approval", r.text
    task = await stack.open_task("grace", quotation)
    r = await stack.as_("grace", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    for _ in range(200):
        q = (await stack.as_("alice", "GET", f"/api/quotations/{quotation}")).json()
        if q["sales_order_id"]:
            break
        await asyncio.sleep(0.05)
    assert q["status"] == "accepted" and [a["decided_by"] for a in q["approvals"]] == ["bob", "grace"]
    order = await order_status(stack, q["sales_order_id"], "in_fulfilment")
    await supply_planned(stack, order["process_id"])
    procs = (await stack.as_("alice", "GET", "/api/processes", params={"type": "sales_order"})).json()
    assert [(p["business_key"], p["status"]) for p in procs] == [(order["id"], "running")]
    assert procs[0]["stage"] == "waiting for supply"  # 300 wanted, 5 on hand: production planned
    opps = (await stack.as_("alice", "GET", "/api/opportunities")).json()
    assert [(o["id"], o["stage"]) for o in opps] == [(opp, "won")]
    detail = (await stack.as_("alice", "GET", f"/api/opportunities/{opp}")).json()
    assert (detail["lead_id"], detail["customer"], len(detail["quotations"])) == (lead, "Umbrella Corporation", 2)
    assert (await stack.as_("carol", "GET", f"/api/opportunities/{opp}")).status_code == 404
    # the lead's process withdraws the other quotation once the opportunity is won, and then ends: wait for its end
    r = await stack.as_("alice", "GET", f"/api/processes/{lead_process}", params={"wait": 20, "until": "completed"})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    quotations = (await stack.as_("alice", "GET", "/api/quotations")).json()
    assert {x["id"]: x["status"] for x in quotations} == {quotation: "accepted",
                                                           quotations[1]["id"]: "rejected"}  # withdrawn
    assert quotations[1]["id"] != quotation


async def test_opportunity_stages_loss_and_their_refusals(stack):
    opp = await qualified(stack)
    line = {"sku": "FAN-200", "qty": 1, "unit_price": "500", "discount_pct": "0"}
    for body in ({"stage": "won"}, {"stage": "lost"}, {"stage": "closing"}, {}):
        r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/stage", json=body)
        assert r.status_code == 422, (body, r.text)
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/stage", json={"stage": "negotiation"})
    assert r.status_code == 200 and r.json()["stage"] == "negotiation", r.text
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/stage", json={"stage": "qualification"})
    assert r.status_code == 409 and "back only one" in r.json()["detail"]
    # Another sales manager sees every opportunity but may change only those of their own people.
    r = await stack.as_("admin", "POST", "/api/users", json={"username": "sam", "password": "demo-demo-1",
                                                             "roles": ["sales_manager"], "full_name": "Sam"})
    assert r.status_code == 201, r.text
    await stack.login("sam", "demo-demo-1")
    assert (await stack.as_("sam", "POST", f"/api/opportunities/{opp}/lose", json={"reason": "x"})).status_code == 403
    assert (await stack.as_("carol", "POST", f"/api/opportunities/{opp}/lose",
                            json={"reason": "x"})).status_code == 404  # cannot see it
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/lose", json={"reason": " "})
    assert r.status_code == 422 and "why" in r.json()["detail"]
    quotation = (await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations",
                                 json={"lines": [line]})).json()["quotation_id"]
    r = await stack.as_("alice", "POST", f"/api/quotations/{quotation}/reject", json={})
    assert r.status_code == 422
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/lose", json={"reason": "budget cut"})
    assert r.status_code == 200 and r.json()["withdrawn_quotations"] == [quotation], r.text
    detail = (await stack.as_("alice", "GET", f"/api/quotations/{quotation}")).json()
    assert (detail["status"], detail["reason"]) == ("rejected", "opportunity lost: budget cut")
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={"lines": [line]})
    assert r.status_code == 409 and "lost" in r.json()["detail"]  # no quotation on a lost opportunity
    r = await stack.as_("alice", "POST", f"/api/quotations/{quotation}/accept")
    assert r.status_code == 409 and "budget cut" in r.json()["detail"]
    for path, body in ((f"/api/opportunities/{opp}/lose", {"reason": "again"}),
                       (f"/api/opportunities/{opp}/stage", {"stage": "proposal"})):
        r = await stack.as_("alice", "POST", path, json=body)
        assert r.status_code == 409 and "lost" in r.json()["detail"], (path, r.text)
    assert (await stack.as_("alice", "POST", "/api/opportunities/OP-99999/lose",
                            json={"reason": "x"})).status_code == 404
    assert (await stack.as_("alice", "GET", "/api/opportunities", params={"stage": "lost"})).json()[0]["lost_reason"] \
        == "budget cut"


async def test_admin_edits_the_scoring_rules_and_open_leads_are_rescored(stack):
    number = (await stack.as_("alice", "POST", "/api/leads", json=LEAD)).json()["lead_id"]
    before = (await stack.as_("alice", "GET", f"/api/leads/{number}")).json()
    assert "trade_show" in [r["rule"] for r in before["score_reasons"]]
    rules = (await stack.as_("alice", "GET", "/api/scoring-rules")).json()["rules"]
    assert (await stack.as_("erin", "GET", "/api/scoring-rules")).status_code == 403
    changed = [{**r, "points": 40} if r["name"] == "trade_show" else r for r in rules]
    assert (await stack.as_("alice", "PUT", "/api/scoring-rules", json={"rules": changed})).status_code == 403
    for bad in ([*rules, rules[0]], [{**rules[0], "kind": "source", "param": "tv"}],
                [{**rules[0], "points": 101}], [{**rules[0], "name": "Bad Name"}]):
        r = await stack.as_("admin", "PUT", "/api/scoring-rules", json={"rules": bad})
        assert r.status_code in (409, 422) and isinstance(r.json()["detail"], str), r.text
    assert (await stack.as_("alice", "GET", "/api/scoring-rules")).json()["rules"] == rules  # nothing changed
    r = await stack.as_("admin", "PUT", "/api/scoring-rules", json={"rules": changed})
    assert r.status_code == 200 and r.json()["rescored_leads"] >= 1, r.text
    after = (await stack.as_("alice", "GET", f"/api/leads/{number}")).json()
    assert after["score"] == min(100, before["score"] + 25)


async def supply_planned(stack, process_id: str) -> dict:
    """The sales order's process once MRP planned its supply (kitting and MRP steps done)."""
    for _ in range(200):
        proc = (await stack.as_("admin", "GET", f"/api/processes/{process_id}")).json()
        if proc["stage"] == "waiting for supply" and any(st["name"] == "MRP" for st in proc["steps"]):
            return proc
        await asyncio.sleep(0.05)
    raise AssertionError(f"{process_id} did not plan its supply: {proc['stage']}")
