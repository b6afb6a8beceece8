"""Long polls (`wait=`, api.waits) answer as soon as what they wait for is there, not at their deadline: a claim
long poll once failed its cheap check and waited out its whole deadline while every test still passed (the final
read at the deadline gave the right answer). Here each wait has a 20 s deadline and must answer well before it."""

from __future__ import annotations

import asyncio
import time

import pytest

from bench.lead_to_order import CUSTOMERS, LEAD, TWENTY_FIVE
from tests.e2e.conftest import Stack
from tests.e2e.test_inbox_pages import file_claim

pytestmark = pytest.mark.e2e

DEADLINE = 20  # seconds a wait may last at most
PROMPT = 8.0  # what it may take here: the worker's steps, on a busy CI machine


async def test_a_task_wait_and_a_claim_wait_answer_once_the_state_is_there(stack: Stack) -> None:
    claim = await file_claim(stack, "120.00", "long poll")
    started = time.monotonic()
    r = await stack.as_("frank", "GET", "/api/tasks", params={"business_key": claim, "wait": DEADLINE})
    assert r.status_code == 200 and r.json(), r.text
    assert time.monotonic() - started < PROMPT
    task = r.json()[0]["id"]

    # erin waits for "approved" while frank approves: her wait ends with the approval, not at its deadline
    async def wait_for_approval() -> tuple[float, str]:
        t0 = time.monotonic()
        got = await stack.as_("erin", "GET", f"/api/expense-claims/{claim}",
                              params={"wait": DEADLINE, "until": "approved"})
        return time.monotonic() - t0, got.json()["status"]

    waiting = asyncio.create_task(wait_for_approval())
    await asyncio.sleep(0.5)  # her wait has started and found nothing yet
    r = await stack.as_("frank", "POST", f"/api/tasks/{task}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    took, status = await waiting
    assert status == "approved"
    assert took < PROMPT, f"the claim's long poll answered after {took:.1f} s"

    # a wait for a state that does not come ends at its deadline with the current state (here: 1 s)
    t0 = time.monotonic()
    r = await stack.as_("erin", "GET", f"/api/expense-claims/{claim}", params={"wait": 1, "until": "paid"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert 0.9 <= time.monotonic() - t0 < PROMPT


async def test_a_claim_wait_by_someone_who_may_not_see_it_is_not_found_at_once(stack: Stack) -> None:
    """The wait glances at the claim's status before it waits: a claim the caller may not open (nor a number that
    does not exist) is a 404 at once, not after the wait, and tells nothing of the claim's state."""
    claim = await file_claim(stack, "75.00", "not yours")
    for who, number in (("carol", claim), ("alice", claim), ("erin", "EC-99999")):
        t0 = time.monotonic()
        r = await stack.as_(who, "GET", f"/api/expense-claims/{number}", params={"wait": DEADLINE, "until": "paid"})
        assert r.status_code == 404, (who, r.text)
        assert time.monotonic() - t0 < PROMPT, f"{who} waited {time.monotonic() - t0:.1f} s for a 404"
    # and its owner, who may, still waits for it (here 1 s, a status that does not come)
    t0 = time.monotonic()
    r = await stack.as_("erin", "GET", f"/api/expense-claims/{claim}", params={"wait": 1, "until": "paid"})
    assert r.status_code == 200 and r.json()["status"] == "pending_approval", r.text
    assert time.monotonic() - t0 >= 0.9


async def test_a_task_wait_skips_nothing_it_should_see_and_shows_nothing_it_should_not(stack: Stack) -> None:
    """The task wait reads whether any task is under the key before it lists: a task that is there but not the
    caller's (carol is not erin's approver) is never listed, however long she waits, and frank's is listed at
    once when it is already there."""
    claim = await file_claim(stack, "64.00", "whose task")
    r = await stack.as_("frank", "GET", "/api/tasks", params={"business_key": claim, "wait": DEADLINE})
    assert r.status_code == 200 and len(r.json()) == 1, r.text
    t0 = time.monotonic()
    r = await stack.as_("frank", "GET", "/api/tasks", params={"business_key": claim, "wait": DEADLINE})
    assert len(r.json()) == 1 and time.monotonic() - t0 < 2  # there already: no wait at all
    t0 = time.monotonic()
    r = await stack.as_("carol", "GET", "/api/tasks", params={"business_key": claim, "wait": 1})
    assert r.status_code == 200 and r.json() == [], r.text
    assert time.monotonic() - t0 >= 0.9  # she waited her whole wait: the task under the key is not hers
    r = await stack.as_("frank", "GET", "/api/tasks", params={"business_key": "", "wait": 0})
    assert r.status_code == 200 and any(t["business_key"] == claim for t in r.json())  # an empty key: his inbox


async def test_a_process_wait_answers_once_the_process_has_the_status(stack: Stack) -> None:
    """GET /api/processes/{id}?wait=…&until=completed: the monitor's view once the process has ended, not at the
    deadline; a 404 at once for whoever may not see the process; the current view at the deadline otherwise."""
    claim = await file_claim(stack, "88.00", "process wait")
    pid = (await stack.as_("erin", "GET", f"/api/expense-claims/{claim}")).json()["process_id"]
    r = await stack.as_("frank", "GET", "/api/tasks", params={"business_key": claim, "wait": DEADLINE})
    r = await stack.as_("frank", "POST", f"/api/tasks/{r.json()[0]['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    t0 = time.monotonic()
    r = await stack.as_("carol", "GET", f"/api/processes/{pid}", params={"wait": DEADLINE, "until": "completed"})
    assert r.status_code == 404 and time.monotonic() - t0 < PROMPT, r.text
    t0 = time.monotonic()
    r = await stack.as_("erin", "GET", f"/api/processes/{pid}", params={"wait": 1, "until": "completed"})
    assert r.status_code == 200 and r.json()["status"] == "running", r.text  # not paid yet: the view at 1 s
    assert time.monotonic() - t0 >= 0.9

    async def wait_for_the_end(who: str) -> tuple[float, dict[str, object]]:
        t0 = time.monotonic()
        got = await stack.as_(who, "GET", f"/api/processes/{pid}", params={"wait": DEADLINE, "until": "completed"})
        assert got.status_code == 200, got.text
        return time.monotonic() - t0, got.json()

    waiting = [asyncio.create_task(wait_for_the_end(who)) for who in ("erin", "admin")]
    await asyncio.sleep(0.5)
    r = await stack.as_("grace", "POST", f"/api/expense-claims/{claim}/pay")
    assert r.status_code == 200, r.text
    for took, view in await asyncio.gather(*waiting):
        assert view["status"] == "completed" and view["process_id"] == pid
        assert view["temporal"] is not None and view["steps"], view
        assert took < PROMPT, f"the process's long poll answered after {took:.1f} s"


async def test_a_requisition_wait_answers_once_it_is_ordered(stack: Stack) -> None:
    """GET /api/purchase-requisitions/{n}?wait=…&until=ordered answers once the approval has placed its order; a
    404 at once for whoever may not see it; the current view at the deadline otherwise."""
    r = await stack.as_("dave", "POST", "/api/purchase-requisitions", json={
        "lines": [{"sku": "MOTOR-200W", "qty": 3, "est_unit_price": "200"}], "justification": "long poll"})
    assert r.status_code == 201, r.text
    req = r.json()["requisition_id"]
    path = f"/api/purchase-requisitions/{req}"
    t0 = time.monotonic()
    r = await stack.as_("erin", "GET", path, params={"wait": DEADLINE, "until": "ordered"})
    assert r.status_code == 404 and time.monotonic() - t0 < PROMPT, r.text
    t0 = time.monotonic()
    r = await stack.as_("dave", "GET", path, params={"wait": 1, "until": "ordered"})
    assert r.status_code == 200 and r.json()["status"] == "pending_approval", r.text
    assert time.monotonic() - t0 >= 0.9

    async def wait_until_ordered() -> tuple[float, dict[str, object]]:
        t0 = time.monotonic()
        got = await stack.as_("dave", "GET", path, params={"wait": DEADLINE, "until": "ordered"})
        assert got.status_code == 200, got.text
        return time.monotonic() - t0, got.json()

    waiting = asyncio.create_task(wait_until_ordered())
    await asyncio.sleep(0.5)
    task = await stack.open_task("frank", req)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    took, view = await waiting
    assert view["status"] == "ordered" and view["purchase_order_id"], view
    assert took < PROMPT, f"the requisition's long poll answered after {took:.1f} s"


async def test_quotation_and_order_waits_follow_the_sale(stack: Stack) -> None:
    """A quotation waits until sent (bob approves its discount meanwhile) and until accepted (its order is made once
    grace approves the credit); the order waits until in fulfilment. Each answers once its status is there; a 404 at
    once for whoever may not see the document."""
    r = await stack.as_("alice", "POST", "/api/leads", json={**LEAD, "company": CUSTOMERS[2][0]})
    assert r.status_code == 201, r.text
    r = await stack.as_("alice", "POST", f"/api/leads/{r.json()['lead_id']}/qualify", json={"decision": "qualified"})
    opp = r.json()["opportunity_id"]
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations",
                        json={"lines": [{**TWENTY_FIVE, "qty": "300"}]})
    assert r.status_code == 201 and r.json()["status"] == "pending_approval", r.text
    quotation = r.json()["quotation_id"]
    path = f"/api/quotations/{quotation}"
    t0 = time.monotonic()
    r = await stack.as_("erin", "GET", path, params={"wait": DEADLINE, "until": "sent"})
    assert r.status_code == 404 and time.monotonic() - t0 < PROMPT, r.text

    async def waited(who: str, url: str, until: str) -> tuple[float, dict[str, object]]:
        t0 = time.monotonic()
        got = await stack.as_(who, "GET", url, params={"wait": DEADLINE, "until": until})
        assert got.status_code == 200, got.text
        return time.monotonic() - t0, got.json()

    async def decide(who: str) -> None:
        task = await stack.open_task(who, quotation)
        r = await stack.as_(who, "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
        assert r.status_code == 200, r.text

    waiting = asyncio.create_task(waited("alice", path, "sent"))
    await asyncio.sleep(0.5)
    await decide("bob")
    took, view = await waiting
    assert view["status"] == "sent" and took < PROMPT, (took, view)

    r = await stack.as_("alice", "POST", f"{path}/accept")
    assert r.status_code == 200 and r.json()["status"] == "pending_credit_approval", r.text
    waiting = asyncio.create_task(waited("alice", path, "accepted"))
    await asyncio.sleep(0.5)
    await decide("grace")
    took, view = await waiting
    assert view["status"] == "accepted" and view["sales_order_id"] and took < PROMPT, (took, view)
    took, order = await waited("alice", f"/api/sales-orders/{view['sales_order_id']}", "in_fulfilment")
    assert order["status"] == "in_fulfilment" and took < PROMPT, (took, order)
    r = await stack.as_("erin", "GET", f"/api/sales-orders/{view['sales_order_id']}",
                        params={"wait": DEADLINE, "until": "completed"})
    assert r.status_code == 404, r.text


async def test_a_status_no_document_of_that_kind_has_is_a_422_naming_the_statuses(stack: Stack) -> None:
    """`until=` is one of the document's statuses: another would only make the wait run to its deadline."""
    for path, status in (("/api/expense-claims/EC-00001", "paid"), ("/api/processes/p-1", "completed"),
                         ("/api/purchase-requisitions/PR-00001", "ordered"), ("/api/quotations/QT-00001", "sent"),
                         ("/api/sales-orders/SO-00001", "in_fulfilment")):
        t0 = time.monotonic()
        r = await stack.as_("admin", "GET", path, params={"wait": DEADLINE, "until": "done-ish"})
        assert r.status_code == 422 and status in r.text and time.monotonic() - t0 < PROMPT, (path, r.text)
