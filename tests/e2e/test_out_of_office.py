"""Out of office end to end: frank (erin's manager) is away with bob as his deputy, so erin's expense claim
opens for bob, the task's trail says why, bob approves it and frank's inbox never shows it. An absence
outside today, or a deputy without frank's authority, routes nothing. Bad input to the API is a 422 (or
403/404/409) and stores nothing; the page escapes the note and refuses a form without its CSRF token."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.approvals import absence
from domain.approvals.tables import OutOfOffice
from tests.e2e.conftest import Stack
from tests.e2e.test_inbox_pages import XSS, file_claim
from tests.e2e.test_sales_pages import Browser
from tests.e2e.test_sales_pages import text as page_text

pytestmark = pytest.mark.e2e

TODAY = absence.today()
URL = "/api/me/out-of-office"


def stored(stack: Stack) -> int:
    with stack.db.read() as s:
        return int(s.execute(select(func.count()).select_from(OutOfOffice)).scalar_one())


async def away(stack: Stack, user: str, deputy: str, start: int = 0, end: int = 3, **kw: Any) -> dict[str, Any]:
    r = await stack.as_(user, "POST", URL, json={"deputy": deputy, "starts_on": (TODAY + timedelta(days=start)).isoformat(),
                                                 "ends_on": (TODAY + timedelta(days=end)).isoformat(), **kw})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def events(stack: Stack, user: str, task_id: str, want: str, tries: int = 200) -> list[dict[str, Any]]:
    for _ in range(tries):
        r = await stack.as_(user, "GET", f"/api/tasks/{task_id}")
        assert r.status_code == 200, r.text
        evs: list[dict[str, Any]] = r.json()["events"]
        if any(e["event"] == want for e in evs):
            return evs
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {task_id} never had a {want!r} event: {evs}")


async def test_a_task_named_for_someone_away_goes_to_the_deputy_and_the_trail_says_so(stack: Stack) -> None:
    rec = await away(stack, "frank", "bob", note="Skiing")
    assert (rec["username"], rec["deputy"], rec["note"]) == ("frank", "bob", "Skiing")
    until = rec["ends_on"]

    claim = await file_claim(stack, "300")
    task = await stack.open_task("bob", claim)
    assert task["candidate_user"] == "bob"
    evs = await events(stack, "bob", str(task["id"]), "routed to deputy")
    routed = next(e for e in evs if e["event"] == "routed to deputy")
    assert routed["detail"] == f"frank is out of office until {until}: routed to deputy bob"
    assert [e["event"] for e in evs][:2] == ["created", "routed to deputy"]

    # frank's inbox does not show it; he cannot decide it either
    r = await stack.as_("frank", "GET", "/api/tasks", params={"business_key": claim})
    assert r.status_code == 200 and r.json() == []
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code in (403, 404), r.text

    # the task page shows the routing in the trail
    bob = await Browser(stack, "bob").start()
    page = page_text(await bob.get(f"/tasks/{task['id']}"))
    assert f"routed to deputy system frank is out of office until {until}: routed to deputy bob" in page

    # the deputy decides, and the claim is approved
    r = await stack.as_("bob", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    r = await stack.as_("erin", "GET", f"/api/expense-claims/{claim}", params={"wait": 10, "until": "approved"})
    assert r.json()["status"] == "approved", r.text


async def test_no_routing_outside_the_range_or_to_a_deputy_without_the_authority(stack: Stack) -> None:
    await away(stack, "frank", "bob", start=1, end=5)  # from tomorrow
    claim = await file_claim(stack, "300")
    task = await stack.open_task("frank", claim)
    assert task["candidate_user"] == "frank"
    r = await stack.as_("bob", "GET", "/api/tasks", params={"business_key": claim})
    assert r.json() == []

    # today, but ivan (warehouse) holds no manager role: he could not take it by delegation either
    await away(stack, "frank", "ivan", start=0, end=0)
    claim = await file_claim(stack, "310")
    task = await stack.open_task("frank", claim)
    assert task["candidate_user"] == "frank"
    evs = (await stack.as_("frank", "GET", f"/api/tasks/{task['id']}")).json()["events"]
    assert "routed to deputy" not in [e["event"] for e in evs]
    assert (await stack.as_("ivan", "GET", "/api/tasks", params={"business_key": claim})).json() == []


async def test_bad_input_is_refused_and_stores_nothing(stack: Stack) -> None:
    day = TODAY.isoformat()
    later = (TODAY + timedelta(days=2)).isoformat()
    past = (TODAY - timedelta(days=1)).isoformat()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"deputy": "frank", "starts_on": day, "ends_on": later}, 422, "own deputy"),
        ({"deputy": "nobody", "starts_on": day, "ends_on": later}, 422, "not a user"),
        ({"deputy": "", "starts_on": day, "ends_on": later}, 422, "deputy"),
        ({"deputy": "bob", "starts_on": later, "ends_on": day}, 422, "ends before it starts"),
        ({"deputy": "bob", "starts_on": past, "ends_on": past}, 422, "in the past"),
        ({"deputy": "bob", "starts_on": "next monday", "ends_on": later}, 422, "starts_on"),
        ({"deputy": "bob", "starts_on": day}, 422, "ends_on"),
        ({"deputy": "bob", "starts_on": day, "ends_on": later, "note": "x" * 301}, 422, "note"),
        ({"deputy": "bob", "starts_on": day, "ends_on": later, "id": 7}, 422, "id"),
        ({"deputy": "bob", "starts_on": day, "ends_on": later, "username": "grace"}, 403, "only an admin"),
    ]
    for body, code, said in cases:
        r = await stack.as_("frank", "POST", URL, json=body)
        assert r.status_code == code, (body, r.text)
        assert said in r.json()["detail"], (body, r.text)
    assert stored(stack) == 0

    with stack.db.write() as s:
        from domain.org import services as org
        org.user_by_name(s, "carol").active = False
    r = await stack.as_("frank", "POST", URL, json={"deputy": "carol", "starts_on": day, "ends_on": later})
    assert r.status_code == 422 and "not active" in r.json()["detail"]
    assert stored(stack) == 0

    mine = await away(stack, "frank", "bob", start=0, end=4)
    r = await stack.as_("frank", "POST", URL, json={"deputy": "heidi", "starts_on": later, "ends_on": later})
    assert r.status_code == 409 and "already out of office" in r.json()["detail"]
    assert stored(stack) == 1

    # someone else's absence is not found, not deleted; an admin sees and removes anyone's
    assert (await stack.as_("bob", "DELETE", f"{URL}/{mine['id']}")).status_code == 404
    assert (await stack.as_("frank", "DELETE", f"{URL}/0")).status_code == 422
    assert (await stack.as_("bob", "GET", URL)).json() == []
    assert (await stack.as_("bob", "GET", URL, params={"everyone": "true"})).status_code == 403
    assert [a["id"] for a in (await stack.as_("frank", "GET", URL)).json()] == [mine["id"]]
    assert [a["username"] for a in (await stack.as_("admin", "GET", URL, params={"everyone": "true"})).json()] == [
        "frank"]
    made = await away(stack, "admin", "frank", username="erin")
    assert made["username"] == "erin"
    assert (await stack.as_("admin", "DELETE", f"{URL}/{mine['id']}")).status_code == 200
    assert (await stack.as_("erin", "DELETE", f"{URL}/{made['id']}")).status_code == 200
    assert stored(stack) == 0


async def test_the_page_lists_escapes_and_needs_its_csrf_token(stack: Stack) -> None:
    frank = await Browser(stack, "frank").start()
    r = await frank.get("/out-of-office")
    assert r.status_code == 200
    assert 'href="/out-of-office" aria-current="page"' in r.text
    assert '<option value="bob">' in r.text and '<option value="frank">' not in r.text  # not his own deputy
    assert "You have not recorded an absence." in page_text(r)

    first, last = TODAY.isoformat(), (TODAY + timedelta(days=2)).isoformat()
    form = {"deputy": "bob", "starts_on": first, "ends_on": last, "note": XSS}
    r = await frank.post("/out-of-office", form, csrf=False)
    assert r.status_code == 403 and "security token" in page_text(r)
    assert stored(stack) == 0

    r = await frank.post("/out-of-office", form)
    assert r.status_code == 303, page_text(r)
    r = await frank.get(r.headers["location"])
    assert "Recorded: frank is out of office" in page_text(r)
    assert "<script>window.__xss" not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in r.text
    assert XSS in page_text(r)
    with stack.db.read() as s:
        row = s.execute(select(OutOfOffice)).scalar_one()

    # bad input on the page: the reason, the form kept, nothing stored
    r = await frank.post("/out-of-office", {**form, "deputy": "frank"})
    assert r.status_code == 422 and "The absence was not recorded: frank cannot be their own deputy" in page_text(r)
    r = await frank.post("/out-of-office", {**form, "ends_on": "soon"})
    assert r.status_code == 422 and "is not a date" in page_text(r)
    r = await frank.post("/out-of-office", {**form, "starts_on": last, "ends_on": last})
    assert r.status_code == 409 and "already out of office" in page_text(r)
    assert stored(stack) == 1

    # delete: not without the token, not someone else's, then for real
    r = await frank.post(f"/out-of-office/{row.id}/delete", csrf=False)
    assert r.status_code == 403 and stored(stack) == 1
    bob = await Browser(stack, "bob").start()
    await bob.get("/out-of-office")
    r = await bob.post(f"/out-of-office/{row.id}/delete")
    assert r.status_code == 404 and stored(stack) == 1
    r = await frank.post(f"/out-of-office/{row.id}/delete")
    assert r.status_code == 303 and stored(stack) == 0
