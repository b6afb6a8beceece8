"""Issue 16, a button is shown only when the action is allowed: over HTTP, each page offers a button to
exactly those whose command its process would take, because the page asks the process's own rule. Each test
names a user for whom the page and the process used to disagree, shows what the page offers them now, and
shows the process refusing them the command (or taking it) all the same."""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql

from domain.approvals.tables import Task
from domain.crm.tables import Opportunity
from domain.expenses.tables import ExpenseClaim
from domain.org import services as org
from domain.production.tables import ProductionOrder
from domain.sales.tables import Quotation
from tests.e2e.conftest import Stack
from tests.e2e.test_inbox_pages import file_claim
from tests.e2e.test_production_pages import short_order
from tests.e2e.test_sales_pages import Browser, count, flash, new_lead, text
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

QUOTE = {"sku": ["FAN-200"], "qty": ["1"], "unit_price": ["500"], "discount_pct": [""], "valid_days": "30",
         "tax_rate": "0"}


async def test_the_opportunity_page_offers_its_buttons_to_exactly_those_the_process_lets_work_it(
        stack: Stack) -> None:
    """Move, Mark lost and New quotation go to the opportunity's process (LeadToOrder), which takes them from
    the salesperson, their manager and an admin (crm.may_work_lead). Another sales manager, sam, used to get all
    three (opportunity.work_any, quotation.create) and was then refused; the cfo sees the page, no button."""
    with stack.db.write() as s:
        org.create_user(s, "sam", "demo", ["sales_manager", "employee"], full_name="Sam Stone", manager="heidi")
    alice, bob, sam, heidi, admin = [await Browser(stack, u).start() for u in ("alice", "bob", "sam", "heidi",
                                                                                "admin")]
    lead = await new_lead(alice)
    r = await alice.post(f"/leads/{lead}/qualify", {"decision": "qualified"})
    assert r.status_code == 303, text(r)
    opp = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    for user, works in ((alice, True), (bob, True), (admin, True), (sam, False), (heidi, False)):
        page = await user.get(f"/opportunities/{opp}")
        assert page.status_code == 200, user.username
        body = text(page)
        assert ("Mark lost" in body) is works, user.username
        assert ('action="/opportunities/' + opp + '/stage"' in page.text) is works, user.username
        assert ("New quotation" in body) is works, user.username

    # the process refuses sam each of them, and nothing changes
    r = await sam.post(f"/opportunities/{opp}/stage", {"stage": "proposal"})
    assert r.status_code == 403 and "their manager or an admin" in text(r), text(r)[:300]
    r = await sam.post(f"/opportunities/{opp}/lose", {"reason": "not for us"})
    assert r.status_code == 403, r.status_code
    r = await sam.post(f"/opportunities/{opp}/quotations", QUOTE)
    assert r.status_code == 403 and "The quotation was not created" in text(r), r.status_code
    with stack.db.read() as s:
        assert s.execute(select(Opportunity.stage).where(Opportunity.number == opp)).scalar_one() == "qualification"
    assert count(stack, Quotation) == 0

    # and takes them from bob, alice's manager
    r = await bob.post(f"/opportunities/{opp}/quotations", QUOTE)
    assert r.status_code == 303, text(r)
    r = await bob.post(f"/opportunities/{opp}/stage", {"stage": "negotiation"})
    assert r.status_code == 303, text(r)


async def test_the_production_order_page_offers_a_change_only_when_the_process_takes_one(stack: Stack) -> None:
    """The order's process (ProductionOrder.request_change) takes one change at a time, from a planner or an
    admin whose change has someone to approve it (their manager). The page used to offer the form while a
    change waited for approval (carol, refused 409) and to admin, who has no manager (refused 422)."""
    carol, frank, admin = [await Browser(stack, u).start() for u in ("carol", "frank", "admin")]
    _so, housing, fan = await short_order(stack)
    url = f"/production-orders/{housing}"
    assert "Request a change" in text(await carol.get(url))

    # admin has no manager, so no approval chain: the page offers him nothing, and his change is refused before the
    # process takes it (the process would refuse it too, once it has taken it)
    assert "Request a change" not in text(await admin.get(f"/production-orders/{fan}"))
    before = (await eventually(stack.db, lambda s: s.execute(select(ProductionOrder.due_date).where(
        ProductionOrder.number == fan)).scalar_one()))
    r = await admin.post(f"/production-orders/{fan}/change-requests",
                         {"due_date": (before + timedelta(days=9)).isoformat(), "reason": "admin says so"})
    assert r.status_code == 422 and "has no manager, so the approval chain cannot start" in text(r), text(r)[:300]
    with stack.db.read() as s:
        assert s.execute(select(ProductionOrder.due_date).where(ProductionOrder.number == fan)).scalar_one() == before

    # carol asks; while her change waits for frank, the page offers no second one, which the process refuses
    due = (date.today() + timedelta(days=40)).isoformat()
    r = await carol.post(f"{url}/change-requests", {"due_date": due, "reason": "the customer moved the date"})
    assert r.status_code == 303, text(r)
    task = await stack.open_task("frank", housing)
    page = text(await carol.get(url))
    assert "Request a change" not in page and "waiting" in page.lower()
    r = await carol.post(f"{url}/change-requests", {"qty": "4", "reason": "and more"})
    assert r.status_code == 409 and "already has a change waiting for approval" in text(r)

    # once it is decided the page offers a change again, and the process takes it
    r = await frank.post(f"/inbox/{task['id']}/decide", {"decision": "approve", "comment": "fine"})
    assert r.status_code == 303, text(r)
    await eventually(stack.db, lambda s: s.execute(select(ProductionOrder.id).where(
        ProductionOrder.number == housing, ProductionOrder.due_date == date.fromisoformat(due))).scalar_one_or_none())
    await eventually(stack.db, lambda s: s.execute(select(Task.id).where(
        Task.business_key == housing, Task.status == "open")).first() is None or None)
    assert "Request a change" in text(await carol.get(url))


async def test_delegate_offers_the_approver_of_an_earlier_change_of_the_same_order(stack: Stack) -> None:
    """Who may take a task is judged against the deciders of its own approval chain (the Approval process's
    rule), not of every approval of the document: bob, who approved the order's first change for frank, may
    take its second one, and the page now offers him (it used to leave him out)."""
    carol, frank, bob = [await Browser(stack, u).start() for u in ("carol", "frank", "bob")]
    _so, housing, _fan = await short_order(stack)
    url = f"/production-orders/{housing}"
    first = (date.today() + timedelta(days=40)).isoformat()
    assert (await carol.post(f"{url}/change-requests", {"due_date": first, "reason": "one"})).status_code == 303
    task = await stack.open_task("frank", housing)
    r = await frank.post(f"/inbox/{task['id']}/delegate", {"to": "bob"})
    assert r.status_code == 303, text(r)
    r = await bob.post(f"/inbox/{task['id']}/decide", {"decision": "approve", "comment": "for frank"})
    assert r.status_code == 303, text(r)
    await eventually(stack.db, lambda s: s.execute(select(ProductionOrder.id).where(
        ProductionOrder.number == housing, ProductionOrder.due_date == date.fromisoformat(first))).scalar_one_or_none())

    second = (date.today() + timedelta(days=50)).isoformat()
    for _ in range(100):  # the first change is applied a moment after its task closes
        r = await carol.post(f"{url}/change-requests", {"due_date": second, "reason": "two"})
        if r.status_code != 409:
            break
        await asyncio.sleep(0.05)
    assert r.status_code == 303, text(r)
    task = await eventually(stack.db, lambda s: s.execute(select(Task.id).where(
        Task.business_key == housing, Task.status == "open", Task.kind == "approval")).scalar_one_or_none())
    page = await frank.get(f"/tasks/{task}")
    options = re.findall(r'<option value="(\w+)">', page.text.split(f'action="/inbox/{task}/delegate"')[1])
    assert "bob" in options, options
    r = await frank.post(f"/inbox/{task}/delegate", {"to": "bob"})  # and the process takes it
    assert r.status_code == 303, text(r)


async def test_an_approver_of_an_earlier_step_is_offered_no_later_step_of_the_same_chain(stack: Stack) -> None:
    """The Approval process refuses a decision (and a claim) by someone who decided an earlier step of the same
    chain. fay holds both finance and cfo: she approves erin's 12,000 claim as finance, and the cfo step then
    sits among her roles' tasks. The inbox and the task page used to offer her Approve, Reject and Claim there;
    now only heidi, the other cfo, gets them, and fay may still hand the task on."""
    with stack.db.write() as s:
        org.create_user(s, "fay", "demo", ["finance", "cfo", "employee"], full_name="Fay Fox", manager="heidi")
    fay, heidi = [await Browser(stack, u).start() for u in ("fay", "heidi")]
    claim = await file_claim(stack, "12000")  # frank, then finance, then the cfo
    for who in ("frank", "fay"):
        task = await stack.open_task(who, claim)
        r = await stack.as_(who, "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve", "comment": "ok"})
        assert r.status_code == 200, r.text
    last = str((await stack.open_task("heidi", claim))["id"])
    with stack.db.read() as s:
        row = s.get(Task, last)
        assert row is not None and row.candidate_role == "cfo" and row.status == "open"

    inbox = await fay.get("/inbox?view=roles")
    row_html = inbox.text.split(f'id="task-{last}"')[1].split("</tr>")[0]
    assert f'/inbox/{last}/decide' not in row_html and f'/inbox/{last}/claim' not in row_html
    assert 'name="task"' not in row_html  # not offered for "approve selected" either
    page = await fay.get(f"/tasks/{last}")
    assert page.status_code == 200
    assert f'/inbox/{last}/decide' not in page.text and f'/inbox/{last}/claim' not in page.text
    assert "already decided an earlier step" in text(page)
    assert f'/inbox/{last}/delegate' in page.text  # the process lets her hand it on
    for user in (heidi,):
        row_html = (await user.get("/inbox?view=roles")).text.split(f'id="task-{last}"')[1].split("</tr>")[0]
        assert f'/inbox/{last}/decide' in row_html and f'/inbox/{last}/claim' in row_html
        assert f'/inbox/{last}/decide' in (await user.get(f"/tasks/{last}")).text

    # the process refuses fay the decision and the claim: nothing changes
    r = await fay.post(f"/inbox/{last}/decide", {"decision": "approve", "comment": "me again", "back": "task"})
    assert r.status_code == 403 and "fay already decided an earlier step of this chain" in text(r)
    r = await fay.post(f"/inbox/{last}/claim", {"back": "task"})
    assert r.status_code == 403
    with stack.db.read() as s:
        row = s.get(Task, last)
        assert row is not None and row.status == "open" and row.assignee is None
    r = await heidi.post(f"/inbox/{last}/decide", {"decision": "approve", "comment": "ok"})
    assert r.status_code == 303, text(r)


def ledger_down(stack: Stack, down: bool) -> None:
    """Every journal entry refused by the database (a trigger), on SQLite or PostgreSQL, or no longer."""
    with stack.db.write() as s:
        if stack.db.is_sqlite:
            s.execute(sql("CREATE TRIGGER test_ledger_down BEFORE INSERT ON journal_entries "
                          "BEGIN SELECT RAISE(ABORT, 'the ledger is down for this test'); END" if down
                          else "DROP TRIGGER IF EXISTS test_ledger_down"))
        elif down:
            s.execute(sql("CREATE FUNCTION test_ledger_down() RETURNS trigger LANGUAGE plpgsql AS "
                          "$$ BEGIN RAISE EXCEPTION 'the ledger is down for this test'; END $$"))
            s.execute(sql("CREATE TRIGGER test_ledger_down BEFORE INSERT ON journal_entries "
                          "FOR EACH ROW EXECUTE FUNCTION test_ledger_down()"))
        else:
            s.execute(sql("DROP TRIGGER IF EXISTS test_ledger_down ON journal_entries"))
            s.execute(sql("DROP FUNCTION IF EXISTS test_ledger_down()"))


async def test_the_incidents_page_offers_cancel_only_where_the_process_would_take_it(stack: Stack) -> None:
    """Cancel process goes to the process's own cancel Update, which takes a claim's withdrawal only while it awaits
    approval. An approved claim whose accrual keeps failing (the ledger refuses it: an incident) was offered to
    admin for cancelling, and to erin on her requests page, and the process refused them (409); both pages now ask
    the process's rule on the state the process holds (its row still says pending approval: the activity that would
    say approved is the one failing)."""
    admin = await Browser(stack, "admin").start()
    ledger_down(stack, True)
    try:
        claim = await file_claim(stack, "300")
        pending = await file_claim(stack, "200")  # awaits frank: the process takes its cancel
        task = await stack.open_task("frank", claim)
        r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve", "comment": "ok"})
        assert r.status_code == 200, r.text
        with stack.db.read() as s:
            wid = s.execute(select(ExpenseClaim.process_id).where(ExpenseClaim.number == claim)).scalar_one()
            other = s.execute(select(ExpenseClaim.process_id).where(ExpenseClaim.number == pending)).scalar_one()
        for _ in range(200):  # the accrual is retried: an incident once it has failed
            page = await admin.get("/incidents")
            if f'action="/incidents/retry/{wid}"' in page.text:
                break
            await asyncio.sleep(0.1)
        assert f'action="/incidents/retry/{wid}"' in page.text, text(page)[:500]
        assert f'action="/incidents/cancel/{wid}"' not in page.text
        r = await admin.post(f"/incidents/cancel/{wid}")  # the process refuses it all the same
        assert r.status_code == 303 and "only a claim pending approval" in flash(r)["error"], r.headers
        assert other not in page.text  # not failing: no incident, nothing to offer

        # erin's own requests page asks the same: no Cancel on the approved claim (its row still says pending
        # approval), which the process refuses her too; Cancel on the one awaiting frank, which it takes
        erin = await Browser(stack, "erin").start()
        mine = await erin.get("/requests")
        assert f"/requests/expense-claims/{claim}/cancel" not in mine.text
        assert f"/requests/expense-claims/{pending}/cancel" in mine.text
        r = await erin.post(f"/requests/expense-claims/{claim}/cancel")
        assert r.status_code == 409 and "only a claim pending approval can be cancelled" in text(r), text(r)[:300]
        r = await erin.post(f"/requests/expense-claims/{pending}/cancel")
        assert r.status_code == 303, text(r)
    finally:
        ledger_down(stack, False)
    await eventually(stack.db, lambda s: s.execute(select(ExpenseClaim.status).where(
        ExpenseClaim.number == claim)).scalar_one() == "approved", limit=40)
