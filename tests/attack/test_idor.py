"""Object-level authorization: another user's document, asked for by its id, is 404 (or 403), never 200."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.crm.tables import Lead
from domain.expenses.tables import ExpenseClaim
from domain.purchasing.tables import PurchaseRequisition
from tests.attack.conftest import route_table

pytestmark = pytest.mark.e2e

LINE = {"category": "travel", "amount": "100.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}
LEAD = {"company": "Initech", "contact": "Bill Lumbergh", "email": "bill@initech.example", "source": "website",
        "estimated_value": "5000"}

# Every id-taking route of a per-owner document, by the kind of document its id names. Shared master data
# (items, stock, BOMs, customers, policies, MRP runs) and the role-gated production orders are not per owner:
# their routes are covered by the role checks in test_authz.
ROUTES = {
    "expense_claim": ["GET /api/expense-claims/{id}", "POST /api/expense-claims/{id}/cancel",
                      "POST /api/expense-claims/{id}/pay"],
    "requisition": ["GET /api/purchase-requisitions/{id}", "POST /api/purchase-requisitions/{id}/cancel"],
    "purchase_order": ["GET /api/purchase-orders/{id}", "POST /api/purchase-orders/{id}/receipts",
                       "GET /api/purchase-orders/{id}/pdf"],
    "lead": ["GET /api/leads/{id}", "POST /api/leads/{id}/activities", "POST /api/leads/{id}/qualify"],
    "opportunity": ["GET /api/opportunities/{id}", "POST /api/opportunities/{id}/stage",
                    "POST /api/opportunities/{id}/lose", "POST /api/opportunities/{id}/quotations"],
    "quotation": ["GET /api/quotations/{id}", "POST /api/quotations/{id}/accept",
                  "POST /api/quotations/{id}/reject", "GET /api/quotations/{id}/pdf"],
    "sales_order": ["GET /api/sales-orders/{id}", "GET /api/sales-orders/{id}/kitting",
                    "POST /api/sales-orders/{id}/deliver", "GET /api/sales-orders/{id}/returns",
                    "POST /api/sales-orders/{id}/returns"],
    "invoice": ["GET /api/invoices/{id}", "GET /api/invoices/{id}/pdf", "POST /api/invoices/{id}/write-off"],
    "task": ["GET /api/tasks/{id}", "POST /api/tasks/{id}/claim", "POST /api/tasks/{id}/reassign",
             "POST /api/tasks/{id}/complete", "POST /api/tasks/{id}/send-back", "POST /api/tasks/{id}/add-approver",
             "POST /api/tasks/{id}/copy-to", "POST /api/tasks/{id}/resubmit"],  # unclaim: see its test below
    "process": ["GET /api/processes/{id}", "POST /api/processes/{id}/cancel", "POST /api/processes/{id}/urge"],
    "form_request": ["GET /api/requests/{id}", "POST /api/requests/{id}/cancel", "POST /api/requests/{id}/resubmit"],
    "attachment": ["GET /api/attachments/{id}"],
}
SHARED = {"/api/items/{sku}", "/api/stock/{sku}", "/api/boms/{sku}", "/api/customers/{customer_id}",
          "/api/approval-policies/{kind}", "/api/planning/mrp-runs/{number}", "/api/production-orders/{number}",
          "/api/planning/mrp-runs/{number}/release", "/api/planning/mrp-releases/{release_id}",  # planners' (authz)
          "/api/production-orders/{number}/progress", "/api/production-orders/{number}/change-requests",
          # finance's and the buyers' documents, gated by role (test_authz): payments, periods, supplier bills
          "/api/payments/{number}", "/api/periods/{period}", "/api/periods/{period}/close",
          "/api/periods/{period}/reopen", "/api/supplier-invoices/{ref}",
          "/api/supplier-invoices/to-bill/{purchase_order_id}", "/api/supplier-invoices/{ref}/credit-note",
          # the back office's records, admin's only (test_authz): users, roles, changes waiting for approval
          "/api/users/{username}", "/api/users/{username}/password", "/api/roles/{role}",
          "/api/changes/{change_id}",
          # form types: everyone reads every one; only admin publishes (test_authz)
          "/api/form-types/{key}",
          # webhooks: admin's only (test_authz)
          "/api/webhooks/{webhook_id}",
          # issue 20: shared planning and quality records, gated by role (test_authz; test_planning_attacks: who
          # may not is 403 and nothing changes): calendars, routings, forecasts, moves, inspection lots and NCRs
          "/api/work-centres/{code}/calendar", "/api/routings/{sku}", "/api/production-orders/{number}/reschedule",
          "/api/planning/forecasts/{forecast_id}", "/api/inspections/{number}", "/api/inspections/{number}/result",
          "/api/nonconformances/{number}", "/api/items/{sku}/inspection"}
# Id routes with an object-level test of their own (below): no GET by id to use as the control.
OWN_TESTS = {"/api/tasks/{task_id}/unclaim",  # test_unclaim_of_an_unseen_task_is_404
             "/api/saved-filters/{filter_id}",  # test_another_users_saved_filter_or_absence_is_not_found
             "/api/me/out-of-office/{absence_id}",
             "/api/delivery-notes/{number}/pdf"}  # e2e/test_workspace_pages.py: another's delivery note is 404
BODIES = {"activities": {"kind": "call", "note": "x"}, "qualify": {"decision": "qualified"},
          "stage": {"stage": "proposal"}, "lose": {"reason": "x"}, "reject": {"reason": "x"},
          "quotations": {"lines": [{"sku": "FAN-200", "qty": 1, "unit_price": "500", "discount_pct": "0"}]},
          "receipts": {"lines": [{"sku": "MOTOR-200W", "qty": 1}]}, "reassign": {"to": "mallory"},
          "returns": {"lines": [{"sku": "BOLT-M8", "qty": 1}], "reason": "damaged"},
          "write-off": {"reason": "insolvent"},
          "complete": {"decision": "approve"}, "send-back": {"comment": "fix it"},
          "add-approver": {"username": "grace"}, "copy-to": {"usernames": ["mallory"]}, "resubmit": {}}


def test_every_id_route_of_the_app_is_in_the_table():
    """Built from the app: a new route taking an id fails here until it is given an object-level test."""
    covered = {re.sub(r"\{id\}", "*", r.split(" ", 1)[1]) for rs in ROUTES.values() for r in rs}
    missing = []
    for r in route_table():
        path = getattr(r, "path", "") or ""
        if (path.startswith("/api/") and "{" in path and path not in SHARED | OWN_TESTS
                and re.sub(r"\{[^}]+\}", "*", path) not in covered):
            missing.append(path)
    assert missing == []


async def _poll(stack, who: str, url: str, ready, tries: int = 300) -> dict:
    for _ in range(tries):
        r = await stack.as_(who, "GET", url)
        if r.status_code == 200 and ready(r.json()):
            return r.json()  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never got ready")


async def _documents(stack, kind: str) -> tuple[str, str]:
    """A document of `kind` and its owner (who may see it)."""
    if kind == "form_request":
        first = datetime.now(UTC).date() + timedelta(days=5)
        r = await stack.as_("erin", "POST", "/api/requests", json={"form": "business_trip", "values": {
            "destination": "Lyon", "from": first.isoformat(), "to": (first + timedelta(days=2)).isoformat(),
            "purpose": "a fair"}})
        assert r.status_code == 201, r.text
        await stack.open_task("frank", r.json()["request_id"])
        return r.json()["request_id"], "erin"
    if kind == "attachment":
        r = await stack.as_("erin", "POST", "/api/attachments", files={"file": ("quote.txt", b"a quote\n", "text/plain")})
        assert r.status_code == 201, r.text
        return r.json()["attachment_id"], "erin"
    if kind in ("expense_claim", "task", "process"):
        r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [LINE]})
        assert r.status_code == 201, r.text
        if kind == "expense_claim":
            return r.json()["claim_id"], "erin"
        task = await stack.open_task("frank", r.json()["claim_id"])  # the process has settled at its wait
        if kind == "process":
            return r.json()["process_id"], "erin"
        return str(task["id"]), "frank"
    if kind in ("requisition", "purchase_order"):
        r = await stack.as_("erin", "POST", "/api/purchase-requisitions", json={
            "lines": [{"sku": "MOTOR-200W", "qty": 2, "est_unit_price": "200"}], "justification": "spares"})
        assert r.status_code == 201, r.text
        req = r.json()["requisition_id"]
        if kind == "requisition":
            return req, "erin"
        task = await stack.open_task("frank", req)
        assert (await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete",
                                json={"decision": "approve"})).status_code == 200
        view = await _poll(stack, "erin", f"/api/purchase-requisitions/{req}", lambda v: v["purchase_order_id"])
        return view["purchase_order_id"], "erin"
    if kind in ("sales_order", "invoice"):
        customer = (await stack.as_("admin", "GET", "/api/customers")).json()[0]["id"]
        r = await stack.as_("alice", "POST", "/api/sales-orders", json={
            "customer_id": customer, "lines": [{"sku": "BOLT-M8", "qty": 1, "unit_price": "1"}]})
        assert r.status_code == 201, r.text
        so = r.json()["sales_order_id"]
        await _poll(stack, "alice", f"/api/sales-orders/{so}", lambda v: v["status"] != "pending_credit")
        if kind == "sales_order":
            return so, "alice"
        await _poll(stack, "alice", f"/api/processes/{r.json()['process_id']}",
                    lambda v: v["stage"] == "ready to deliver")
        r = await stack.as_("alice", "POST", f"/api/sales-orders/{so}/deliver")  # her own order: she may
        assert r.status_code == 200, r.text
        view = await _poll(stack, "alice", f"/api/sales-orders/{so}", lambda v: v["invoices"])
        return view["invoices"][0]["invoice_id"], "alice"
    r = await stack.as_("alice", "POST", "/api/leads", json=LEAD)
    assert r.status_code == 201, r.text
    lead = r.json()["lead_id"]
    if kind == "lead":
        return lead, "alice"
    r = await stack.as_("alice", "POST", f"/api/leads/{lead}/qualify", json={"decision": "qualified"})
    opp = r.json()["opportunity_id"]
    if kind == "opportunity":
        return opp, "alice"
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json=BODIES["quotations"])
    assert r.status_code == 201, r.text
    return r.json()["quotation_id"], "alice"


@pytest.mark.parametrize("kind", sorted(ROUTES))
async def test_another_users_document_is_not_found(stack, kind):
    r = await stack.as_("admin", "POST", "/api/users", json={
        "username": "mallory", "password": "mallory-pass", "roles": ["sales", "employee"], "manager": "bob"})
    assert r.status_code == 201, r.text
    doc, owner = await _documents(stack, kind)
    get_url = ROUTES[kind][0].split(" ", 1)[1].replace("{id}", doc)
    def state(r):  # a document's JSON; a file's bytes
        return r.json() if r.headers.get("content-type", "").startswith("application/json") else {"status": r.content}
    before = state(await stack.as_(owner, "GET", get_url))
    assert (await stack.as_(owner, "GET", get_url)).status_code == 200  # the control: the owner sees it
    # mallory holds the same roles as alice (sales) and erin (employee), yet owns none of it
    for intruder in ("mallory", "alice" if owner == "erin" else "erin"):
        await stack.login(intruder, "mallory-pass" if intruder == "mallory" else "demo")
        for route in ROUTES[kind]:
            method, url = route.split(" ", 1)
            if intruder == "erin" and route.endswith("/copy-to"):
                continue  # erin made the claim of frank's task: its requester may copy it to others (抄送)
            url = url.replace("{id}", doc)
            body = BODIES.get(url.rsplit("/", 1)[-1]) if method == "POST" else None
            r = await stack.as_(intruder, method, url, json=body)
            assert r.status_code in (403, 404), (intruder, route, r.status_code, r.text)
            assert doc not in r.text or "no " in r.json()["detail"] or r.status_code == 403, r.text
    after = state(await stack.as_(owner, "GET", get_url))
    for key in ("status", "stage", "assignee", "score", "decision"):
        assert before.get(key) == after.get(key), (key, before.get(key), after.get(key))


async def test_mass_assignment_is_refused_and_changes_nothing(stack):
    """Fields a caller may not set are refused with a 422 naming them; the stored documents carry the
    server's values."""
    attempts = [
        ("erin", "/api/expense-claims", {"lines": [LINE]}, ["status", "requester", "id", "approved_by", "total",
                                                             "process_id", "number"]),
        ("erin", "/api/purchase-requisitions", {"lines": [{"sku": "MOTOR-200W", "qty": 1, "est_unit_price": "5"}]},
         ["status", "requester", "id", "approved_by", "purchase_order_id", "total"]),
        ("alice", "/api/leads", LEAD, ["status", "score", "id", "created_by", "process_id", "customer_id"]),
        ("admin", "/api/customers", {"name": "Evil Corp"}, ["id", "lifetime_revenue", "balance"]),
        ("admin", "/api/users", {"username": "eve", "password": "eve-password", "roles": ["employee"]},
         ["active", "id", "password_hash"]),
    ]
    for who, url, body, fields in attempts:
        for f in fields:
            r = await stack.as_(who, "POST", url, json={**body, f: "approved" if f == "status" else "x"})
            assert r.status_code == 422, (url, f, r.status_code, r.text)
            assert f in r.json()["detail"], r.text
        if url == "/api/expense-claims":  # also inside a line
            r = await stack.as_(who, "POST", url, json={"lines": [{**LINE, "status": "paid"}]})
            assert r.status_code == 422
    with stack.db.read() as s:
        assert s.execute(select(ExpenseClaim)).first() is None
        assert s.execute(select(PurchaseRequisition)).first() is None
        assert s.execute(select(Lead)).first() is None
    # what a caller may name, the server still checks: a lead's owner must hold the sales role
    r = await stack.as_("alice", "POST", "/api/leads", json={**LEAD, "owner": "erin"})
    assert r.status_code == 422
    # and the document made from a clean body carries the server's values
    r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [LINE]})
    claim = (await stack.as_("erin", "GET", f"/api/expense-claims/{r.json()['claim_id']}")).json()
    assert claim["requester"] == "erin" and claim["status"] == "pending_approval" and claim["approvals"] == []
    r = await stack.as_("alice", "POST", "/api/leads", json=LEAD)
    lead = (await stack.as_("alice", "GET", f"/api/leads/{r.json()['lead_id']}")).json()
    assert lead["owner"] == "alice" and lead["status"] == "assigned"


async def test_unclaim_of_an_unseen_task_is_404(stack):
    task, _ = await _documents(stack, "task")
    r = await stack.as_("alice", "POST", f"/api/tasks/{task}/unclaim")
    assert r.status_code in (403, 404), r.text


async def test_another_users_saved_filter_or_absence_is_not_found(stack):
    """erin's saved filter and her absence, deleted by id by alice and by an admin-less colleague: 404, and both
    are still there for erin."""
    r = await stack.as_("erin", "POST", "/api/saved-filters", json={"page": "inbox", "name": "late",
                                                                     "query": "overdue=true"})
    assert r.status_code == 201, r.text
    filter_id = r.json()["id"]
    r = await stack.as_("erin", "POST", "/api/me/out-of-office", json={
        "deputy": "alice", "starts_on": "2099-01-01", "ends_on": "2099-01-05", "note": "away"})
    assert r.status_code in (200, 201), r.text
    absence_id = r.json()["id"]
    for intruder in ("alice", "frank"):
        r = await stack.as_(intruder, "DELETE", f"/api/saved-filters/{filter_id}")
        assert r.status_code == 404, (intruder, r.text)
        r = await stack.as_(intruder, "DELETE", f"/api/me/out-of-office/{absence_id}")
        assert r.status_code in (403, 404), (intruder, r.text)
    assert [f["id"] for f in (await stack.as_("erin", "GET", "/api/saved-filters?page=inbox")).json()] == [filter_id]
    assert [a["id"] for a in (await stack.as_("erin", "GET", "/api/me/out-of-office")).json()] == [absence_id]
