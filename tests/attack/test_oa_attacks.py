"""Issue 19 attacked end to end (helper H8): each test failed before its fix, or pins what was found sound."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from domain.forms.request_tables import FormRequest
from tests.e2e.test_idempotency import form_token
from tests.e2e.test_sales_pages import Browser, text

pytestmark = pytest.mark.e2e


def _count(stack, requester: str) -> int:
    with stack.db.read() as s:
        return int(s.execute(select(func.count()).select_from(FormRequest)
                             .where(FormRequest.requester == requester)).scalar_one())


def _trip() -> dict[str, str]:
    first = datetime.now(UTC).date() + timedelta(days=5)
    return {"destination": "Lyon", "from": first.isoformat(), "to": (first + timedelta(days=2)).isoformat(),
            "purpose": "a fair"}


async def test_a_double_click_on_new_request_files_one_request(stack):
    """The New request form carried no one-time form token: a double click (or a second tab) filed two requests,
    two approvals for the same trip."""
    erin = await Browser(stack, "erin").start()
    page = await erin.get("/requests/new/business_trip")
    token = form_token(page)
    before = _count(stack, "erin")
    answers = await asyncio.gather(*(erin.post("/requests/new/business_trip", {**_trip(), "form_token": token})
                                     for _ in range(3)))
    assert [r.status_code for r in answers] == [303] * 3, [text(r)[:300] for r in answers]
    assert len({r.headers["location"] for r in answers}) == 1
    assert re.fullmatch(r"/requests/FR-\d+", answers[0].headers["location"])
    assert _count(stack, "erin") == before + 1


async def test_oa_actions_by_the_wrong_person_are_refused(stack):
    """add approver naming the requester or an inactive user; resubmit, urge or cancel by someone not the
    requester; a comment or the request page by an outsider: refused, nothing changed."""
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "business_trip", "values": _trip()})
    assert r.status_code == 201, r.text
    number, pid = r.json()["request_id"], r.json()["process_id"]
    task = await stack.open_task("frank", number)
    r = await stack.as_("admin", "POST", "/api/users", json={
        "username": "gone", "password": "gone-password", "roles": ["employee"], "manager": "frank"})
    assert r.status_code == 201, r.text
    r = await stack.as_("admin", "PATCH", "/api/users/gone", json={"active": False})
    assert r.status_code == 200, r.text
    for target in ("erin", "frank", "gone", "nobody"):  # the requester; the approver; inactive; unknown
        r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/add-approver", json={"username": target})
        assert r.status_code in (403, 404, 409, 422), (target, r.text)
    # by someone who is not the approver
    r = await stack.as_("grace", "POST", f"/api/tasks/{task['id']}/add-approver", json={"username": "heidi"})
    assert r.status_code in (403, 404), r.text
    r = await stack.as_("frank", "POST", f"/api/processes/{pid}/urge")
    assert r.status_code in (403, 404), r.text
    for who in ("frank", "alice"):
        r = await stack.as_(who, "POST", f"/api/requests/{number}/cancel")
        assert r.status_code in (403, 404), (who, r.text)
    r = await stack.as_("alice", "POST", "/api/comments", json={"document": number, "text": "hi"})
    assert r.status_code == 404, r.text
    assert (await stack.as_("alice", "GET", "/api/comments", params={"document": number})).status_code == 404
    alice = await Browser(stack, "alice").start()
    assert (await alice.get(f"/requests/{number}")).status_code == 404
    got = (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()
    assert got["status"] == "pending_approval"
    # urge: once, then 409 saying when next
    assert (await stack.as_("erin", "POST", f"/api/processes/{pid}/urge")).status_code == 200
    r = await stack.as_("erin", "POST", f"/api/processes/{pid}/urge")
    assert r.status_code == 409 and "next urge" in r.json()["detail"], r.text
