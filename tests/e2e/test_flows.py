"""The contract's expense and purchase flows, through HTTP on the dev server."""

from __future__ import annotations

import asyncio

import pytest

from domain.processes import ids

pytestmark = pytest.mark.e2e

CLAIM_20K = {"lines": [{"category": "travel", "amount": "12000.00", "currency": "USD", "date": "2026-11-02",
                        "description": "Trade fair Hannover"},
                       {"category": "lodging", "amount": "8000", "currency": "USD", "date": "2026-11-03",
                        "description": "Hotel"}]}


async def wait_for(stack, user: str, url: str, field: str, value: str, tries: int = 200) -> dict:
    for _ in range(tries):
        r = await stack.as_(user, "GET", url)
        assert r.status_code == 200, r.text
        if r.json()[field] == value:
            return r.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} {field} is {r.json()[field]}, expected {value}")


async def test_expense_claim_of_20000_goes_to_frank_grace_heidi(stack):
    r = await stack.as_("erin", "POST", "/api/expense-claims", json=CLAIM_20K)
    assert r.status_code == 201, r.text
    body = r.json()
    claim = body["claim_id"]
    assert body["process_id"].endswith(ids.expense_claim(claim))
    assert body["total"] == "20000.00"
    # erin sees her claim at once, pending
    r = await stack.as_("erin", "GET", f"/api/expense-claims/{claim}")
    assert r.json()["status"] == "pending_approval"
    # an unrelated colleague cannot see it at all
    assert (await stack.as_("alice", "GET", f"/api/expense-claims/{claim}")).status_code == 404
    for who in ("frank", "grace", "heidi"):
        task = await stack.open_task(who, claim)
        assert task["amount"] == "20000.00" and task["requester"] == "erin"
        r = await stack.as_(who, "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve", "comment": f"fine by {who}"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "completed" and r.json()["decided_by"] == who
    view = await wait_for(stack, "erin", f"/api/expense-claims/{claim}", "status", "approved")
    assert [(a["step"], a["role"], a["decided_by"], a["decision"]) for a in view["approvals"]] == [
        (1, "manager", "frank", "approve"), (2, "finance", "grace", "approve"), (3, "cfo", "heidi", "approve")]
    tb = (await stack.as_("grace", "GET", "/api/ledger/trial-balance")).json()
    assert tb["debit_total"] == tb["credit_total"]
    accounts = {a["code"]: a for a in tb["accounts"]}
    assert accounts["6100"]["debit"] == "12000.00" and accounts["6300"]["debit"] == "8000.00"
    assert accounts["2200"]["credit"] == "20000.00"
    # finance pays it
    r = await stack.as_("grace", "POST", f"/api/expense-claims/{claim}/pay")
    assert r.status_code == 200 and r.json()["status"] == "paid"
    proc = (await stack.as_("admin", "GET", f"/api/processes/{view['process_id']}")).json()
    assert proc["status"] == "completed" and proc["stage"] == "paid"
    assert [s["name"] for s in proc["steps"]] == ["submitted", "approval: manager", "approval: finance",
                                                  "approval: cfo", "awaiting payment", "paid"]
    assert all(s["status"] == "done" for s in proc["steps"])
    assert [s["detail"] for s in proc["steps"][1:4]] == ["approved by frank", "approved by grace", "approved by heidi"]
    assert proc["temporal"]["status"] == "completed"


async def test_purchase_of_8000_goes_to_frank_then_heidi_and_is_received_in_two_parts(stack):
    before = (await stack.as_("dave", "GET", "/api/stock/MOTOR-200W")).json()
    r = await stack.as_("dave", "POST", "/api/purchase-requisitions", json={
        "lines": [{"sku": "MOTOR-200W", "qty": 40, "est_unit_price": "200"}], "justification": "fan production"})
    assert r.status_code == 201, r.text
    req = r.json()["requisition_id"]
    for who in ("frank", "heidi"):
        task = await stack.open_task(who, req)
        r = await stack.as_(who, "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
        assert r.status_code == 200, r.text
    view = await wait_for(stack, "dave", f"/api/purchase-requisitions/{req}", "status", "ordered")
    po = view["purchase_order_id"]
    assert [a["decided_by"] for a in view["approvals"]] == ["frank", "heidi"]
    stock = (await stack.as_("dave", "GET", "/api/stock/MOTOR-200W")).json()
    assert float(stock["on_order"]) == float(before["on_order"]) + 40
    # The lists show what the detail routes would (domain.approvals.access.documents_visible_to): frank, who
    # approved it, sees the requisition and its order; erin, who has nothing to do with it, neither.
    for who, sees in (("frank", True), ("erin", False)):
        listed = [r["id"] for r in (await stack.as_(who, "GET", "/api/purchase-requisitions?limit=200")).json()]
        ordered = [o["id"] for o in (await stack.as_(who, "GET", "/api/purchase-orders?limit=200")).json()]
        assert (req in listed, po in ordered) == (sees, sees), who
        assert (await stack.as_(who, "GET", f"/api/purchase-orders/{po}")).status_code == (200 if sees else 404)
        for number in ordered:
            assert (await stack.as_(who, "GET", f"/api/purchase-orders/{number}")).status_code == 200
    r = await stack.as_("ivan", "POST", f"/api/purchase-orders/{po}/receipts", json={"lines": [{"sku": "MOTOR-200W", "qty": 25}]})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "partially_received"
    r = await stack.as_("ivan", "POST", f"/api/purchase-orders/{po}/receipts", json={"lines": [{"sku": "MOTOR-200W", "qty": 16}]})
    assert r.status_code == 409 and "over-receipt" in r.json()["detail"]
    r = await stack.as_("erin", "POST", f"/api/purchase-orders/{po}/receipts", json={"lines": [{"sku": "MOTOR-200W", "qty": 1}]})
    assert r.status_code in (403, 404)
    r = await stack.as_("ivan", "POST", f"/api/purchase-orders/{po}/receipts", json={"lines": [{"sku": "MOTOR-200W", "qty": 15}]})
    assert r.status_code == 201 and r.json()["status"] == "received"
    assert [ln["received_qty"] for ln in r.json()["lines"]] == ["40.00"]
    after = (await stack.as_("dave", "GET", "/api/stock/MOTOR-200W")).json()
    assert float(after["on_hand"]) == float(before["on_hand"]) + 40
    assert float(after["on_order"]) == float(before["on_order"])
    await wait_for(stack, "dave", f"/api/purchase-requisitions/{req}", "status", "received")
    tb = (await stack.as_("grace", "GET", "/api/ledger/trial-balance")).json()
    assert tb["debit_total"] == tb["credit_total"]
    assert {a["code"]: a for a in tb["accounts"]}["2100"]["credit"] == "8000.00"


async def test_cancel_a_pending_claim_through_the_process_monitor(stack):
    claim = (await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [
        {"category": "meals", "amount": 40, "currency": "USD", "date": "2026-11-02"}]})).json()
    task = await stack.open_task("frank", claim["claim_id"])
    r = await stack.as_("frank", "POST", f"/api/processes/{claim['process_id']}/cancel")
    assert r.status_code == 403, r.text
    r = await stack.as_("erin", "POST", f"/api/processes/{claim['process_id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 409
    assert (await stack.as_("frank", "GET", "/api/tasks", params={"business_key": claim["claim_id"]})).json() == []
    r = await stack.as_("erin", "POST", f"/api/expense-claims/{claim['claim_id']}/cancel")
    assert r.status_code == 409
