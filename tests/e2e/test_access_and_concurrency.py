"""401/403/409 answers, concurrency, and bad input: a clear 4xx and nothing stored."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from domain.expenses.tables import ExpenseClaim
from domain.inventory.tables import StockLedgerEntry
from domain.purchasing.tables import PurchaseRequisition

pytestmark = pytest.mark.e2e

LINE = {"category": "travel", "amount": "100.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}


async def test_auth_answers(stack):
    assert (await stack.http.get("/api/tasks")).status_code == 401
    assert (await stack.http.get("/api/tasks", headers={"Authorization": "Bearer nonsense"})).status_code == 401
    r = await stack.http.post("/api/auth/token", data={"username": "erin", "password": "wrong"})
    assert r.status_code == 401 and r.json()["detail"]
    assert (await stack.as_("erin", "GET", "/api/ledger/trial-balance")).status_code == 403
    assert (await stack.as_("erin", "POST", "/api/stock/adjustments",
                            json={"sku": "BOLT-M8", "qty": 5, "reason": "x"})).status_code == 403
    assert (await stack.as_("erin", "PUT", "/api/approval-policies/expense_claim",
                            json={"tiers": [{"above": 0, "steps": [{"kind": "role", "value": "cfo"}]}]})
            ).status_code == 403
    me = (await stack.as_("erin", "GET", "/api/auth/me")).json()
    assert me["username"] == "erin" and me["roles"] == ["employee"]


async def test_task_decisions_403_and_409_change_nothing(stack):
    claim = (await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [LINE]})).json()["claim_id"]
    task = await stack.open_task("frank", claim)
    for who in ("grace", "erin", "admin"):
        r = await stack.as_(who, "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
        assert r.status_code == 403, (who, r.text)
        assert r.json()["detail"]
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "reject"})
    assert r.status_code == 422 and "comment" in r.json()["detail"]
    trail = (await stack.as_("erin", "GET", f"/api/expense-claims/{claim}")).json()["approvals"]
    assert trail == []
    assert (await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve"})).status_code == 200
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "reject",
                                                                                     "comment": "changed my mind"})
    assert r.status_code == 409
    trail = (await stack.as_("erin", "GET", f"/api/expense-claims/{claim}")).json()["approvals"]
    assert [(a["decided_by"], a["decision"]) for a in trail] == [("frank", "approve")]
    assert (await stack.as_("frank", "POST", "/api/tasks/no-such-task/complete",
                            json={"decision": "approve"})).status_code == 404


async def test_claim_unclaim_and_delegate(stack):
    claim = (await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [
        {**LINE, "amount": "2500"}]})).json()["claim_id"]
    task = await stack.open_task("frank", claim)
    assert (await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve"})).status_code == 200
    task = await stack.open_task("grace", claim)
    assert task["candidate_role"] == "finance"
    r = await stack.as_("grace", "POST", f"/api/tasks/{task['id']}/claim")
    assert r.status_code == 200 and r.json()["assignee"] == "grace"
    # a delegate must be eligible: frank already decided step 1, erin is the requester
    for to in ("frank", "erin"):
        r = await stack.as_("grace", "POST", f"/api/tasks/{task['id']}/reassign", json={"to": to})
        assert r.status_code == 403, (to, r.text)
    r = await stack.as_("grace", "POST", f"/api/tasks/{task['id']}/unclaim")
    assert r.status_code == 200 and r.json()["assignee"] is None


async def test_fifty_concurrent_issues_of_thirty_on_hand(stack):
    await stack.login("ivan")
    r = await stack.as_("ivan", "POST", "/api/stock/adjustments", json={"sku": "MOTOR-200W", "qty": 0 - 30 + 30,
                                                                        "reason": "noop"})
    assert r.status_code == 422  # zero quantity
    on_hand = (await stack.as_("ivan", "GET", "/api/stock/MOTOR-200W")).json()["on_hand"]
    assert on_hand == "30.00"
    results = await asyncio.gather(*[
        stack.as_("ivan", "POST", "/api/stock/adjustments", json={"sku": "MOTOR-200W", "qty": -1,
                                                                  "reason": f"issue {i}"})
        for i in range(50)])
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 30 and codes.count(409) == 20, codes
    assert (await stack.as_("ivan", "GET", "/api/stock/MOTOR-200W")).json()["on_hand"] == "0.00"
    with stack.db.read() as s:
        sku_moves = s.execute(select(func.count()).select_from(StockLedgerEntry)
                              .where(StockLedgerEntry.voucher_type == "stock_adjustment")).scalar_one()
        assert sku_moves == 30
        assert min(s.execute(select(StockLedgerEntry.on_hand_after)).scalars()) >= 0
    tb = (await stack.as_("grace", "GET", "/api/ledger/trial-balance")).json()
    assert tb["debit_total"] == tb["credit_total"]


async def test_twenty_concurrent_completes_of_one_task(stack):
    claim = (await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [LINE]})).json()["claim_id"]
    task = await stack.open_task("frank", claim)
    results = await asyncio.gather(*[
        stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
        for _ in range(20)])
    codes = [r.status_code for r in results]
    assert codes.count(200) == 1 and codes.count(409) == 19, codes
    trail = (await stack.as_("erin", "GET", f"/api/expense-claims/{claim}")).json()["approvals"]
    assert len(trail) == 1


BAD_CLAIMS = [
    {"lines": []},
    {"lines": [{**LINE, "amount": 0}]},
    {"lines": [{**LINE, "amount": "-5"}]},
    {"lines": [{**LINE, "amount": "abc"}]},
    {"lines": [{**LINE, "amount": "1e12"}]},
    {"lines": [{**LINE, "amount": "10.123"}]},
    {"lines": [{**LINE, "category": "yacht"}]},
    {"lines": [{**LINE, "currency": "usd"}]},
    {"lines": [{**LINE, "date": "yesterday"}]},
    {"lines": [LINE, {**LINE, "currency": "EUR"}]},
    {"lines": [LINE] * 201},
    {"lines": "many"},
    {"lines": [{**LINE, "status": "approved"}]},
    {"lines": [LINE], "status": "approved"},
    {},
]


async def test_bad_expense_claims_get_a_sentence_and_store_nothing(stack):
    for body in BAD_CLAIMS:
        r = await stack.as_("erin", "POST", "/api/expense-claims", json=body)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str) and r.json()["detail"], r.text
    r = await stack.as_("erin", "POST", "/api/expense-claims", content=b"{not json",
                        headers={"content-type": "application/json"})
    assert r.status_code == 422
    r = await stack.as_("erin", "POST", "/api/expense-claims", content=b"x" * 2_000_000,
                        headers={"content-type": "application/json"})
    assert r.status_code == 413
    # heidi has no manager: a chain that cannot start is refused before anything is stored
    r = await stack.as_("heidi", "POST", "/api/expense-claims", json={"lines": [LINE]})
    assert r.status_code == 422 and "manager" in r.json()["detail"]
    with stack.db.read() as s:
        assert s.execute(select(func.count()).select_from(ExpenseClaim)).scalar_one() == 0


async def test_bad_requisitions_and_unknown_ids(stack):
    line = {"sku": "MOTOR-200W", "qty": 1, "est_unit_price": "200"}
    for body, code in [({"lines": [{**line, "sku": "NOPE"}]}, 404), ({"lines": [{**line, "qty": 0}]}, 422),
                       ({"lines": [{**line, "qty": -3}]}, 422), ({"lines": [{**line, "est_unit_price": -1}]}, 422),
                       ({"lines": [line, line]}, 422),
                       ({"lines": [line, {"sku": "STEEL-SHEET", "qty": 1, "est_unit_price": 1}]}, 409),
                       ({"lines": [line], "supplier_id": 999}, 404), ({"lines": []}, 422)]:
        r = await stack.as_("dave", "POST", "/api/purchase-requisitions", json=body)
        assert r.status_code == code, (body, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str)
    with stack.db.read() as s:
        assert s.execute(select(func.count()).select_from(PurchaseRequisition)).scalar_one() == 0
    for url in ("/api/expense-claims/EC-99999", "/api/purchase-requisitions/PR-404", "/api/purchase-orders/PO-1",
                "/api/tasks/nope", "/api/processes/nope", "/api/stock/NOPE", "/api/items/NOPE"):
        r = await stack.as_("admin", "GET", url)
        assert r.status_code == 404, (url, r.status_code)
    r = await stack.as_("admin", "GET", "/api/tasks", params={"limit": 100000})
    assert r.status_code == 422
    r = await stack.as_("admin", "POST", "/api/items", json={"sku": "X 1", "name": "", "kind": "gadget"})
    assert r.status_code == 422
    r = await stack.as_("admin", "POST", "/api/items", json={"sku": "MOTOR-200W", "name": "dup", "kind": "purchased"})
    assert r.status_code == 409
    r = await stack.as_("admin", "GET", "/api/customers/notanumber")
    assert r.status_code == 422


async def test_healthz(stack):
    r = await stack.http.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "temporal": "ok", "database": "ok"}


async def test_reviewer_found_inputs_get_4xx_not_500(stack):
    assert (await stack.as_("frank", "GET", "/api/tasks", params={"due_before": "2026-01-01T00:00:00"})
            ).status_code == 200
    assert (await stack.as_("admin", "GET", "/api/processes", params={"started_after": "2026-01-01T00:00"})
            ).status_code == 200
    assert (await stack.as_("admin", "GET", "/api/customers/99999999999999999999")).status_code == 422
    r = await stack.as_("admin", "POST", "/api/items", json={"sku": "BIG-1", "name": "x", "kind": "purchased",
                                                             "default_supplier_id": 10**20})
    assert r.status_code == 422
    r = await stack.as_("dave", "POST", "/api/purchase-requisitions", json={
        "lines": [{"sku": "MOTOR-200W", "qty": 1000000, "est_unit_price": 1000000000}]})
    assert r.status_code == 422 and "limit" in r.json()["detail"]
    r = await stack.as_("ivan", "POST", "/api/stock/adjustments", json={"sku": "BOLT-M8", "qty": 1000000,
                                                                        "unit_cost": 1000000000, "reason": "x"})
    assert r.status_code == 422 and "limit" in r.json()["detail"]
    r = await stack.as_("admin", "PUT", "/api/approval-policies/expense_claim",
                        json={"tiers": [{"above": "1e20", "steps": [{"kind": "manager"}]}]})
    assert r.status_code == 422


async def test_admin_cannot_delegate_a_step_to_himself_and_heidi_is_kept_for_cfo(stack):
    claim = (await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [
        {**LINE, "amount": "20000"}]})).json()["claim_id"]
    task = await stack.open_task("frank", claim)
    r = await stack.as_("admin", "POST", f"/api/tasks/{task['id']}/reassign", json={"to": "admin", "delegate": True})
    assert r.status_code == 403, r.text
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/reassign", json={"to": "heidi", "delegate": True})
    assert r.status_code == 403 and "later step" in r.json()["detail"]
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/reassign", json={"to": "alice"})
    assert r.status_code == 403  # alice is no manager: she cannot stand in for frank
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/reassign", json={"to": "bob"})
    assert r.status_code == 200 and r.json()["candidate_user"] == "bob"
    assert (await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve"})).status_code == 403
    assert (await stack.as_("bob", "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve"})).status_code == 200


async def test_long_polls_answer_as_soon_as_there_is_something(stack):
    import time

    claim = (await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [LINE]})).json()["claim_id"]
    rows = (await stack.as_("frank", "GET", "/api/tasks", params={"business_key": claim, "wait": 10})).json()
    assert [r["business_key"] for r in rows] == [claim]
    t0 = time.monotonic()
    r = await stack.as_("frank", "GET", "/api/tasks", params={"business_key": "EC-NONE", "wait": 0.5})
    assert r.json() == [] and 0.45 <= time.monotonic() - t0 < 5
    await stack.as_("frank", "POST", f"/api/tasks/{rows[0]['id']}/complete", json={"decision": "approve"})
    view = (await stack.as_("erin", "GET", f"/api/expense-claims/{claim}",
                            params={"wait": 10, "until": "approved"})).json()
    assert view["status"] == "approved"
    assert (await stack.as_("frank", "GET", "/api/tasks", params={"wait": 31})).status_code == 422
