"""The inbox as people use it all day, over HTTP without a browser: the views (mine, my roles', all I may see)
with their counts, the filters (kind, business key prefix, customer, amount range, due before, overdue), the
sorting, bad filter input (a 422 from the API, a friendly message on the page), the rows fragment the page's
script polls, and the task page's actions (reject needs a comment, delegate, unclaim, approve selected)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update

from domain.approvals.tables import Task, TaskEvent
from domain.core.types import utcnow
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, flash
from tests.e2e.test_sales_pages import text as page_text

pytestmark = pytest.mark.e2e

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


async def file_claim(stack: Stack, amount: str, description: str = "Trip") -> str:
    r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [
        {"category": "travel", "amount": amount, "currency": "USD", "date": "2026-11-02", "description": description}]})
    assert r.status_code == 201, r.text
    return str(r.json()["claim_id"])


async def keys(stack: Stack, user: str, **params: Any) -> list[str]:
    r = await stack.as_(user, "GET", "/api/tasks", params={"business_key_prefix": "EC-", **params})
    assert r.status_code == 200, r.text
    return [t["business_key"] for t in r.json()]


async def test_views_filters_sorting_and_counts_of_the_api(stack: Stack) -> None:
    small, middle, big = [await file_claim(stack, a) for a in ("300", "2000", "20000")]
    tasks = {k: await stack.open_task("frank", k) for k in (small, middle, big)}

    # frank is named on all three: they are his, none is his roles', all of them he may see
    assert sorted(await keys(stack, "frank", view="mine")) == sorted([small, middle, big])
    assert await keys(stack, "frank", view="roles") == []
    assert sorted(await keys(stack, "frank")) == sorted([small, middle, big])
    assert await keys(stack, "grace") == []  # not grace's (yet), and never erin's own
    assert await keys(stack, "erin") == []

    # amount range, inclusive
    assert sorted(await keys(stack, "frank", min_amount="2000")) == sorted([middle, big])
    assert await keys(stack, "frank", max_amount="300") == [small]
    assert await keys(stack, "frank", min_amount="1000", max_amount="5000") == [middle]
    # the business key as a prefix, and exact as before
    assert await keys(stack, "frank", business_key_prefix=small) == [small]
    assert await keys(stack, "frank", business_key=middle) == [middle]
    assert await keys(stack, "frank", business_key_prefix="PR-") == []
    assert await keys(stack, "frank", kind="alert") == []
    # sorting: created, both ways
    assert await keys(stack, "frank", sort="created", direction="asc") == [small, middle, big]
    assert await keys(stack, "frank", sort="created") == [big, middle, small]  # newest first by default
    # a customer filter names quotations' and orders' customers; an expense claim has none
    assert await keys(stack, "frank", customer="Globex") == []

    # overdue: one task's SLA has passed
    with stack.db.write() as s:
        s.execute(update(Task).where(Task.id == tasks[middle]["id"]).values(due_at=utcnow() - timedelta(hours=3)))
    assert await keys(stack, "frank", overdue="true") == [middle]
    due_first = await keys(stack, "frank", sort="due")
    assert due_first[0] == middle
    assert (await keys(stack, "frank", sort="due", direction="desc"))[-1] == middle
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    assert await keys(stack, "frank", due_before=soon) == [middle]

    r = await stack.as_("frank", "GET", "/api/tasks/counts")
    assert r.status_code == 200, r.text
    assert r.json() == {"mine": 3, "roles": 0, "all": 3, "open": 3, "overdue": 1}
    r = await stack.as_("frank", "GET", "/api/tasks/counts", params={"min_amount": "1000"})
    assert r.json()["mine"] == 2 and r.json()["all"] == 2

    # frank approves the middle claim: its finance step is grace's roles' task, and no longer frank's
    r = await stack.as_("frank", "POST", f"/api/tasks/{tasks[middle]['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    await stack.open_task("grace", middle)
    assert await keys(stack, "grace", view="roles") == [middle]
    assert await keys(stack, "grace", view="mine") == []
    assert (await stack.as_("grace", "GET", "/api/tasks/counts")).json()["roles"] == 1
    assert sorted(await keys(stack, "frank")) == sorted([small, big])
    # the old `assigned` filter still answers as before
    assert await keys(stack, "grace", assigned="roles") == [middle]


async def test_bad_filters_are_a_422_from_the_api_and_a_message_on_the_page(stack: Stack) -> None:
    claim = await file_claim(stack, "300")
    await stack.open_task("frank", claim)
    for params, said in (({"min_amount": "-1"}, "greater than or equal to 0"),
                         ({"sort": "amount"}, "due"),
                         ({"direction": "sideways"}, "asc"),
                         ({"due_before": "tomorrow"}, "datetime"),
                         ({"view": "everything"}, "mine"),
                         ({"min_amount": "500", "max_amount": "100"}, "above the highest")):
        r = await stack.as_("frank", "GET", "/api/tasks", params=params)
        assert r.status_code == 422, (params, r.text)
        assert said in r.text, (params, r.text)
    r = await stack.as_("frank", "GET", "/api/tasks/counts", params={"max_amount": "-5"})
    assert r.status_code == 422

    frank = await Browser(stack, "frank").start()
    for query, said in (("min_amount=-5", "The lowest amount cannot be negative"),
                        ("max_amount=lots", "The highest amount must be a number"),
                        ("sort=amount", "cannot be sorted by “amount”"),
                        ("due_before=31.12.2026", "is not a date"),
                        ("min_amount=500&max_amount=100", "the lowest amount is above the highest"),
                        ("max_amount=981520938350250", "The highest amount cannot be over 100,000,000,000,000")):
        r = await frank.get(f"/inbox?{query}")
        assert r.status_code == 422, query
        assert said in page_text(r) and "The list is unchanged" in page_text(r), query
        assert claim in r.text  # the unfiltered list is still there
        assert (await frank.get(f"/inbox/rows?{query}")).status_code == 422


async def test_the_inbox_page_has_views_with_counts_filters_and_a_live_rows_fragment(stack: Stack) -> None:
    small, big = await file_claim(stack, "300"), await file_claim(stack, "20000")
    await stack.open_task("frank", small)
    await stack.open_task("frank", big)
    frank = await Browser(stack, "frank").start()
    r = await frank.get("/inbox")
    assert r.status_code == 200
    page = page_text(r)
    assert "My tasks 2" in page and "My roles' tasks 0" in page and "All I may see 2" in page
    assert small in r.text and big in r.text
    # only the inbox runs a script: its own, allowed by its policy
    assert '<script src="/static/inbox.js" defer></script>' in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "script-src" not in (await frank.get(f"/tasks/{(await stack.open_task('frank', small))['id']}")
                                ).headers["content-security-policy"]

    r = await frank.get("/inbox?min_amount=1000&view=mine")
    assert big in r.text and small not in r.text
    assert 'value="1000"' in r.text
    assert re.search(r'href="/inbox\?view=roles&amp;min_amount=1000"', r.text), "the tabs keep the filter"
    r = await frank.get(f"/inbox?business_key={small[:4]}&overdue=1")
    assert small not in r.text and "No open task matches this filter" in page_text(r)
    r = await frank.get("/inbox?view=roles")
    assert small not in r.text and "Nothing waits for you here" in page_text(r)

    r = await frank.get("/inbox/rows?view=mine&sort=created&dir=asc")
    assert r.status_code == 200 and r.text.lstrip().startswith("<tr")
    assert r.text.index(small) < r.text.index(big)
    assert "<html" not in r.text and 'name="csrf"' in r.text
    assert r.headers["x-inbox-counts"] == '{"mine": 2, "roles": 0, "all": 2}'
    assert (await stack.http.get("/inbox/rows")).status_code in (303, 307)  # no session: to the login


async def test_approve_selected_reports_each_task_and_refuses_mixed_kinds(stack: Stack) -> None:
    claims = [await file_claim(stack, a) for a in ("100", "200", "300")]
    tasks = [await stack.open_task("frank", c) for c in claims]
    # the last one was decided elsewhere meanwhile
    r = await stack.as_("frank", "POST", f"/api/tasks/{tasks[2]['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    frank = await Browser(stack, "frank").start()
    await frank.get("/inbox")
    r = await frank.post("/inbox/approve-selected", {"task": [t["id"] for t in tasks], "comment": "fine"})
    assert r.status_code == 200, page_text(r)
    page = page_text(r)
    assert "Approved 2 of 3 selected tasks" in page
    assert f"Approved Expense claim {claims[0]} by erin" in page
    assert f"Approved Expense claim {claims[1]} by erin" in page
    assert f"Not approved Expense claim {claims[2]} by erin: 300.00 USD: this task is already completed" in page
    with stack.db.read() as s:
        decided = {t.business_key: (t.status, t.decided_by, t.comment) for t in s.execute(select(Task).where(
            Task.business_key.in_(claims), Task.kind == "approval")).scalars()}
    assert decided == {c: ("completed", "frank", "fine" if c != claims[2] else "") for c in claims}

    # tasks of two kinds (an expense claim and a purchase) are not approved together: nothing changes
    claim = await file_claim(stack, "150")
    r = await stack.as_("dave", "POST", "/api/purchase-requisitions", json={
        "lines": [{"sku": "MOTOR-200W", "qty": 1, "est_unit_price": "200"}], "justification": "spare"})
    assert r.status_code == 201, r.text
    mixed = [await stack.open_task("frank", claim), await stack.open_task("frank", r.json()["requisition_id"])]
    r = await frank.post("/inbox/approve-selected", {"task": [t["id"] for t in mixed]})
    assert r.status_code == 422 and "Select tasks of one kind" in page_text(r)
    with stack.db.read() as s:
        assert [s.get(Task, t["id"]).status for t in mixed] == ["open", "open"]  # type: ignore[union-attr]
    r = await frank.post("/inbox/approve-selected", {})
    assert r.status_code == 422 and "Select the tasks to approve first" in page_text(r)
    r = await frank.post("/inbox/approve-selected", {"task": [mixed[0]["id"]]}, csrf=False)
    assert r.status_code == 403
    with stack.db.read() as s:
        assert s.get(Task, mixed[0]["id"]).status == "open"  # type: ignore[union-attr]


async def test_a_rejection_needs_a_comment_on_the_task_page(stack: Stack) -> None:
    claim = await file_claim(stack, "300")
    task = await stack.open_task("frank", claim)
    frank = await Browser(stack, "frank").start()
    r = await frank.get(f"/tasks/{task['id']}")
    assert "Due in" in page_text(r) and 'action="/inbox/' + str(task["id"]) + '/decide"' in r.text
    r = await frank.post(f"/inbox/{task['id']}/decide", {"decision": "reject", "comment": "  ", "back": "task"})
    assert r.status_code == 422
    page = page_text(r)
    assert "a rejection needs a comment" in page and "Your decision" in page and claim in page
    with stack.db.read() as s:
        row = s.get(Task, task["id"])
        assert row is not None and row.status == "open" and row.decision is None
    r = await frank.post(f"/inbox/{task['id']}/decide", {"decision": "reject", "comment": "No receipt"})
    assert r.status_code == 303 and "Rejected" in flash(r)["msg"]


async def test_delegate_hands_the_task_to_an_eligible_colleague_and_the_trail_says_so(stack: Stack) -> None:
    claim = await file_claim(stack, "300")
    task = await stack.open_task("frank", claim)
    frank = await Browser(stack, "frank").start()
    r = await frank.get(f"/tasks/{task['id']}")
    options = re.findall(r'<option value="(\w+)">', r.text.split('action="/inbox/' + str(task["id"]) + '/delegate"')[1])
    assert "bob" in options and "heidi" in options  # managers like frank
    assert not {"erin", "frank", "grace", "alice"} & set(options)  # the requester, frank himself, no manager role

    # the requester is refused (as by the API's reassign): nothing changes
    r = await frank.post(f"/inbox/{task['id']}/delegate", {"to": "erin"})
    assert r.status_code == 403 and "erin made this request" in page_text(r)
    r = await frank.post(f"/inbox/{task['id']}/delegate", {"to": ""})
    assert r.status_code == 422 and "choose the colleague" in page_text(r)
    with stack.db.read() as s:
        assert s.get(Task, task["id"]).candidate_user == "frank"  # type: ignore[union-attr]

    r = await frank.post(f"/inbox/{task['id']}/delegate", {"to": "bob"})
    assert r.status_code == 303, page_text(r)
    assert "now with bob" in flash(r)["msg"]
    assert claim not in await keys(stack, "frank")
    assert await keys(stack, "bob", view="mine") == [claim]
    with stack.db.read() as s:
        events = [(e.event, e.actor, e.detail) for e in s.execute(
            select(TaskEvent).where(TaskEvent.task_id == task["id"]).order_by(TaskEvent.id)).scalars()]
    assert ("delegated", "frank", "delegated to bob") in events
    bob = await Browser(stack, "bob").start()
    r = await bob.get(f"/tasks/{task['id']}")
    assert "delegated frank delegated to bob" in page_text(r)
    r = await bob.post(f"/inbox/{task['id']}/decide", {"decision": "approve", "comment": "for frank"})
    assert r.status_code == 303


async def test_claim_and_unclaim_a_roles_task(stack: Stack) -> None:
    claim = await file_claim(stack, "2000")
    first = await stack.open_task("frank", claim)
    r = await stack.as_("frank", "POST", f"/api/tasks/{first['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    task = await stack.open_task("grace", claim)
    grace = await Browser(stack, "grace").start()
    r = await grace.post(f"/inbox/{task['id']}/claim", {"back": "task"})
    assert r.status_code == 303
    r = await grace.get(f"/tasks/{task['id']}")
    assert "Unclaim" in r.text and "(claimed)" in page_text(r)
    assert await keys(stack, "grace", view="mine") == [claim]
    r = await grace.post(f"/inbox/{task['id']}/unclaim", {"back": "task"})
    assert r.status_code == 303
    with stack.db.read() as s:
        assert s.get(Task, task["id"]).assignee is None  # type: ignore[union-attr]
    assert await keys(stack, "grace", view="roles") == [claim]
    r = await grace.post(f"/inbox/{task['id']}/unclaim", {"back": "task"})
    assert r.status_code == 409 and "not claimed" in page_text(r)


async def test_markup_in_a_description_is_escaped_in_the_inbox_and_on_the_task_page(stack: Stack) -> None:
    claim = await file_claim(stack, "45", XSS)
    task = await stack.open_task("frank", claim)
    frank = await Browser(stack, "frank").start()
    for url in ("/inbox", "/inbox/rows", f"/tasks/{task['id']}"):
        r = await frank.get(url)
        assert r.status_code == 200
        assert "<script>window.__xss" not in r.text and "<img src=x" not in r.text, url
    r = await frank.get(f"/tasks/{task['id']}")
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=" in r.text
    r = await frank.get(f"/inbox?customer={XSS}&business_key={XSS[:60]}")
    assert r.status_code == 200 and "<script>window.__xss" not in r.text


async def test_the_default_views_walk_an_index(stack: Stack) -> None:
    """EXPLAIN on SQLite: the inbox's list of each view uses one of the ix_tasks_* indexes, not a table scan."""
    if not stack.db.url.startswith("sqlite"):
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    from api.routes.tasks import InboxFilter, inbox_query
    from domain.approvals import services as approvals

    class Frank:
        username, roles = "frank", frozenset({"manager", "employee"})
    for view in approvals.VIEWS:
        for sort in approvals.SORT_KEYS:
            q = inbox_query(Frank, InboxFilter(view=view, sort=sort), listing=True, window=50).order_by(
                *approvals.ordering(sort)).limit(50)
            sql = str(q.compile(stack.db.write_engine, compile_kwargs={"literal_binds": True}))
            with stack.db.read() as s:
                plan = " ".join(str(row[-1]) for row in s.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "ix_tasks_" in plan and "SCAN tasks" not in plan, (view, sort, plan)
