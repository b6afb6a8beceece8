"""Idempotency-Key over HTTP, on the real stack: for each create endpoint, the same key and body twice make one
document and the same answer (replayed); another user's same key makes their own document; another body under a
used key is 422 and stores nothing; concurrent posts with one key make one document; without a key two posts still
make two. Pages: one form's token, sent several times at once, makes one document, and each render has a fresh one."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from domain.core import idempotency as keys
from domain.core.tables import IdempotencyKey
from domain.core.types import utcnow
from domain.crm.tables import Lead, Opportunity
from domain.expenses.tables import ExpenseClaim
from domain.inventory.tables import StockLedgerEntry
from domain.parties.tables import Customer
from domain.purchasing.tables import PurchaseRequisition
from domain.sales.tables import Quotation
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import LEAD as LEAD_FORM
from tests.e2e.test_sales_pages import Browser, text

pytestmark = pytest.mark.e2e

FORM_TOKEN = re.compile(r'name="form_token" value="([A-Za-z0-9_-]{16,100})"')


def count(stack: Stack, table: type, *where: object) -> int:
    with stack.db.read() as s:
        return int(s.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    user: str
    other: str  # another user who may post here too
    body: Callable[[int], dict[str, Any]]
    count: Callable[[Stack], int]


def claim(n: int) -> dict[str, Any]:
    return {"lines": [{"category": "travel", "amount": f"{100 + n}.00", "currency": "USD", "date": "2026-11-02",
                       "description": f"taxi {n}"}]}


ENDPOINTS = [
    Endpoint("expense claims", "/api/expense-claims", "erin", "dave", claim, lambda s: count(s, ExpenseClaim)),
    Endpoint("requisitions", "/api/purchase-requisitions", "dave", "carol",
             lambda n: {"lines": [{"sku": "MOTOR-200W", "qty": n, "est_unit_price": "200"}], "justification": f"j{n}"},
             lambda s: count(s, PurchaseRequisition)),
    Endpoint("leads", "/api/leads", "alice", "bob",
             lambda n: {"company": f"Initech {n}", "contact": "Bill Lumbergh", "email": "bill@initech.example",
                        "source": "website", "estimated_value": "5000"}, lambda s: count(s, Lead)),
    Endpoint("customers", "/api/customers", "admin", "grace",
             lambda n: {"name": f"Idem Customer {n}", "credit_limit": "1000", "currency": "USD"},
             lambda s: count(s, Customer)),
    Endpoint("stock adjustments", "/api/stock/adjustments", "ivan", "admin",
             lambda n: {"sku": "BOLT-M8", "qty": n, "reason": f"count {n}"},
             lambda s: count(s, StockLedgerEntry, StockLedgerEntry.voucher_type == "stock_adjustment")),
]


async def post(stack: Stack, who: str, path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    return await stack.as_(who, "POST", path, json=body, headers={"Idempotency-Key": key} if key else {})


@pytest.mark.parametrize("ep", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_a_key_makes_one_document_per_caller_and_endpoint(stack: Stack, ep: Endpoint) -> None:
    base = ep.count(stack)
    key = f"retry-{uuid.uuid4()}"

    first = await post(stack, ep.user, ep.path, ep.body(1), key)
    assert first.status_code == 201, first.text
    again = await post(stack, ep.user, ep.path, ep.body(1), key)
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert ep.count(stack) == base + 1

    # another user's same key is their own request: their own new document, never the first user's answer
    theirs = await post(stack, ep.other, ep.path, ep.body(4), key)
    assert theirs.status_code == 201, theirs.text
    assert "Idempotent-Replayed" not in theirs.headers and theirs.json() != first.json()
    assert ep.count(stack) == base + 2

    # the same key with another body: 422, nothing stored
    r = await post(stack, ep.user, ep.path, ep.body(2), key)
    assert r.status_code == 422 and "different request" in r.json()["detail"]
    assert ep.count(stack) == base + 2

    # several at once with one new key: one document, one answer for all
    key2 = f"burst-{uuid.uuid4()}"
    answers = await asyncio.gather(*(post(stack, ep.user, ep.path, ep.body(3), key2) for _ in range(4)))
    assert [r.status_code for r in answers] == [201] * 4, [r.text for r in answers]
    assert len({r.content for r in answers}) == 1
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in answers) == ["", "true", "true", "true"]
    assert ep.count(stack) == base + 3

    # no key: each post is a new request, as before (customers: two names, a name is unique)
    unique = ep.name == "customers"
    for n in (5, 6):
        r = await post(stack, ep.user, ep.path, ep.body(n if unique else 5))
        assert r.status_code == 201, r.text
    assert ep.count(stack) == base + 5


def first_run_died(stack: Stack, key: str, died: str) -> None:
    """As if the first run under `key` had started its process and then its API process died before the answer was
    kept (its claim left pending, abandoned by now), or it had answered a 5xx (its claim released)."""
    with stack.db.write() as s:
        row = s.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).scalar_one()
        if died == "api process died":
            row.state, row.status_code, row.response_body = "pending", None, None
            row.created_at = utcnow() - keys.ABANDONED * 2
        else:
            s.delete(row)


STARTERS = [e for e in ENDPOINTS if e.name in ("expense claims", "requisitions", "leads")]


@pytest.mark.parametrize("died", ["api process died", "failed with a 5xx"])
@pytest.mark.parametrize("ep", STARTERS, ids=[e.name for e in STARTERS])
async def test_a_request_run_again_after_its_first_run_died_makes_no_second_document(stack: Stack, ep: Endpoint,
                                                                                     died: str) -> None:
    """The first run numbered the document and started its process, then its API process died before the answer
    was kept (its claim is left pending, and is taken over once ABANDONED), or it answered a 5xx (the claim is
    released). The retry with the same key runs again: it takes the same number, finds the process already
    running under it and answers with the same document; nothing is made twice."""
    base = ep.count(stack)
    key = f"died-{uuid.uuid4()}"
    first = await post(stack, ep.user, ep.path, ep.body(7), key)
    assert first.status_code == 201, first.text
    first_run_died(stack, key, died)
    again = await post(stack, ep.user, ep.path, ep.body(7), key)
    assert again.status_code == 201, again.text
    assert "Idempotent-Replayed" not in again.headers  # it ran again, and found what the first run made
    document = next(k for k in first.json() if k.endswith("_id") and k != "process_id")
    assert again.json()[document] == first.json()[document]
    assert ep.count(stack) == base + 1
    # a new key is a new document, with the next number
    other = await post(stack, ep.user, ep.path, ep.body(7), f"new-{uuid.uuid4()}")
    assert other.status_code == 201 and other.json()[document] != first.json()[document]
    assert ep.count(stack) == base + 2


@pytest.mark.parametrize("died", ["api process died", "failed with a 5xx"])
async def test_a_quotation_run_again_gets_its_first_runs_update_answered_not_sent_twice(stack: Stack,
                                                                                        died: str) -> None:
    """A quotation is made by an Update on the opportunity's process (`quote`), which starts the quotation's own
    process. Run again after the first run's Update took effect, the request sends its Updates under the same ids
    (derived from the key), and Temporal answers them with the first outcomes: the same quotation, no refusal."""
    lead = (await stack.as_("alice", "POST", "/api/leads", json={
        "company": "Re-run Ltd", "contact": "Ann", "email": "ann@rerun.example", "source": "referral",
        "estimated_value": "4000"})).json()["lead_id"]
    opp = (await stack.as_("alice", "POST", f"/api/leads/{lead}/qualify",
                           json={"decision": "qualified"})).json()["opportunity_id"]
    body = {"lines": [{"sku": "FAN-200", "qty": 2, "unit_price": "500", "discount_pct": "0"}]}
    key = f"quote-{uuid.uuid4()}"
    path = f"/api/opportunities/{opp}/quotations"
    first = await post(stack, "alice", path, body, key)
    assert first.status_code == 201, first.text
    first_run_died(stack, key, died)
    again = await post(stack, "alice", path, body, key)
    assert again.status_code == 201, again.text
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["quotation_id"] == first.json()["quotation_id"]
    assert again.json()["process_id"] == first.json()["process_id"]
    with stack.db.read() as s:
        assert s.execute(select(func.count()).select_from(Quotation)
                         .where(Quotation.opportunity_id == opp_id(s, opp))).scalar_one() == 1


def opp_id(s: Any, number: str) -> Any:
    return s.execute(select(Opportunity.id).where(Opportunity.number == number)).scalar_one()


async def test_one_key_on_two_endpoints_is_two_requests(stack: Stack) -> None:
    key = f"shared-{uuid.uuid4()}"
    r1 = await post(stack, "erin", "/api/expense-claims", claim(1), key)
    r2 = await post(stack, "erin", "/api/purchase-requisitions",
                    {"lines": [{"sku": "MOTOR-200W", "qty": 1, "est_unit_price": "200"}], "justification": "x"}, key)
    r3 = await post(stack, "erin", "/api/saved-filters", {"page": "inbox", "name": "Mine", "query": "view=mine"}, key)
    assert [r.status_code for r in (r1, r2, r3)] == [201, 201, 201], [r.text for r in (r1, r2, r3)]
    assert not any("Idempotent-Replayed" in r.headers for r in (r1, r2, r3))
    assert "claim_id" in r1.json() and "requisition_id" in r2.json() and r3.json()["name"] == "Mine"
    # and the stock adjustment, now scoped: ivan's key does not reach admin's adjustment
    a = await post(stack, "ivan", "/api/stock/adjustments", {"sku": "BOLT-M8", "qty": 3, "reason": "found"}, key)
    b = await post(stack, "admin", "/api/stock/adjustments", {"sku": "BOLT-M8", "qty": 3, "reason": "found"}, key)
    assert a.status_code == b.status_code == 201
    assert a.json()["ledger_entry_id"] != b.json()["ledger_entry_id"]


async def test_a_bad_key_is_422_and_creates_nothing(stack: Stack) -> None:
    before = count(stack, ExpenseClaim)
    for bad in (b"x" * 201, "café".encode(), b"in\tside"):
        r = await stack.as_("erin", "POST", "/api/expense-claims", json=claim(1), headers={"Idempotency-Key": bad})
        assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"], (bad, r.text)
    assert count(stack, ExpenseClaim) == before
    r = await stack.http.post("/api/expense-claims", json=claim(1), headers={"Idempotency-Key": "k"})
    assert r.status_code == 401


# --- the pages' one-time form token -----------------------------------------------------------------

def form_token(r: httpx.Response) -> str:
    found = FORM_TOKEN.findall(r.text)
    assert found, "no form_token on the page"
    return str(found[0])


async def test_concurrent_submits_of_one_expense_claim_form_make_one_claim(stack: Stack) -> None:
    erin = await Browser(stack, "erin").start()
    first, second = await erin.get("/requests"), await erin.get("/requests")
    token = form_token(first)
    assert token != form_token(second)  # each render its own token
    before = count(stack, ExpenseClaim, ExpenseClaim.requester == "erin")
    form: dict[str, object] = {"category": "travel", "amount": "42.50", "currency": "USD", "date": "2026-11-02",
            "description": "Double click", "form_token": token}
    answers = await asyncio.gather(*(erin.post("/requests/expense-claims", form) for _ in range(4)))
    assert [r.status_code for r in answers] == [303] * 4, [text(r)[:300] for r in answers]
    assert len({r.headers["location"] for r in answers}) == 1
    assert count(stack, ExpenseClaim, ExpenseClaim.requester == "erin") == before + 1
    page = await erin.get(answers[0].headers["location"])
    assert "filed for 42.50" in text(page)
    # later, the same token once more (the back button, a resend): still the one claim, the same notice
    r = await erin.post("/requests/expense-claims", form)
    assert r.status_code == 303 and r.headers["location"] == answers[0].headers["location"]
    assert count(stack, ExpenseClaim, ExpenseClaim.requester == "erin") == before + 1
    # a fresh token is a new claim
    r = await erin.post("/requests/expense-claims", {**form, "form_token": form_token(await erin.get("/requests"))})
    assert r.status_code == 303 and count(stack, ExpenseClaim, ExpenseClaim.requester == "erin") == before + 2


async def test_a_refused_form_keeps_its_token_usable_and_a_double_click_on_a_lead_makes_one(stack: Stack) -> None:
    alice = await Browser(stack, "alice").start()
    token = form_token(await alice.get("/pipeline"))
    before = count(stack, Lead)
    r = await alice.post("/pipeline/leads", {**LEAD_FORM, "email": "not an e-mail", "owner": "alice",
                                             "form_token": token})
    assert r.status_code == 422 and count(stack, Lead) == before
    answers = await asyncio.gather(*(alice.post("/pipeline/leads", {**LEAD_FORM, "owner": "alice",
                                                                    "form_token": token}) for _ in range(3)))
    assert [r.status_code for r in answers] == [303] * 3, [text(r)[:300] for r in answers]
    assert len({r.headers["location"] for r in answers}) == 1
    assert re.fullmatch(r"/leads/LD-\d+", answers[0].headers["location"])
    assert count(stack, Lead) == before + 1


async def test_every_form_that_creates_a_document_carries_a_form_token(stack: Stack) -> None:
    erin, alice = await Browser(stack, "erin").start(), await Browser(stack, "alice").start()
    for who, url, action in ((erin, "/requests", "/requests/expense-claims"),
                             (alice, "/pipeline", "/pipeline/leads"),
                             (erin, "/out-of-office", "/out-of-office")):
        r = await who.get(url)
        assert r.status_code == 200
        form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', r.text, re.S)
        assert form and FORM_TOKEN.search(form.group(0)), (url, action)


@pytest.mark.parametrize("died", ["api process died", "failed with a 5xx"])
async def test_a_decision_run_again_after_it_took_effect_answers_the_task_as_it_left_it(stack: Stack,
                                                                                        died: str) -> None:
    """An approval sent under a key, run again after its API process died (or it answered a 5xx) once the decision
    had taken effect: the answer is the completed task, not "this task is already completed"; nothing is decided
    twice. Without a key, a second decision is still refused."""
    claim_id = (await post(stack, "erin", "/api/expense-claims", claim(9))).json()["claim_id"]
    task = await stack.open_task("frank", claim_id)
    key = f"decide-{uuid.uuid4()}"
    path = f"/api/tasks/{task['id']}/complete"
    first = await post(stack, "frank", path, {"decision": "approve", "comment": "ok"}, key)
    assert first.status_code == 200, first.text
    first_run_died(stack, key, died)
    again = await post(stack, "frank", path, {"decision": "approve", "comment": "ok"}, key)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "completed" and again.json()["decided_by"] == "frank"
    unkeyed = await post(stack, "frank", path, {"decision": "approve", "comment": "ok"})
    assert unkeyed.status_code == 409, unkeyed.text
    r = await stack.as_("erin", "GET", f"/api/expense-claims/{claim_id}", params={"wait": 10, "until": "approved"})
    assert r.json()["status"] == "approved"
