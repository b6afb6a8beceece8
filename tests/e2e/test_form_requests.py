"""Form requests over HTTP: filed on a demo form (201), read by the requester and the approver, decided; the values
that break the form refused with a sentence naming the field and nothing stored; the pages render, file a request
(with a file on an attachment field) and show it with its route."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.forms.request_tables import FormRequest
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, flash, text

pytestmark = pytest.mark.e2e

TODAY = datetime.now(UTC).date()


def leave(days: int = 2, **changes: Any) -> dict[str, Any]:
    first = TODAY + timedelta(days=3)
    return {"leave_type": "annual", "from": first.isoformat(), "to": (first + timedelta(days=days - 1)).isoformat(),
            "days": str(days), "deputy": "grace", **changes}


def got_pid(stack: Stack, number: str) -> str:
    with stack.db.read() as s:
        return str(s.execute(select(FormRequest.process_id).where(FormRequest.number == number)).scalar_one())


def stored(stack: Stack) -> int:
    with stack.db.read() as s:
        return int(s.execute(select(func.count()).select_from(FormRequest)).scalar_one())


async def test_a_leave_request_is_filed_read_and_approved(stack: Stack) -> None:
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "leave", "values": leave(2)})
    assert r.status_code == 201, r.text
    number, pid = r.json()["request_id"], r.json()["process_id"]
    assert number.startswith("FR-") and pid.endswith(f"form-request-{number}")
    got = (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()
    assert got["status"] == "pending_approval" and got["form"] == "leave" and got["version"] == 1
    assert got["values"]["days"] == "2" and got["approvals"] == []
    assert (await stack.as_("alice", "GET", f"/api/requests/{number}")).status_code == 404  # not hers to see
    task = await stack.open_task("frank", number)
    assert (await stack.as_("frank", "GET", f"/api/requests/{number}")).status_code == 200  # the approver reads it
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve", "comment": "ok"})
    assert r.status_code == 200, r.text
    for _ in range(200):
        got = (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()
        if got["status"] == "approved":
            break
    assert got["status"] == "approved" and [a["decided_by"] for a in got["approvals"]] == ["frank"]
    mine = (await stack.as_("erin", "GET", "/api/requests", params={"mine": True})).json()
    assert [m["request_id"] for m in mine] == [number]


@pytest.mark.parametrize(("form", "values", "says"), [
    ("leave", {k: v for k, v in leave().items() if k != "deputy"}, "'deputy'"),
    ("leave", leave(days=2, days_="x") | {"days": "100"}, "'days'"),
    ("leave", leave(leave_type="sabbatical"), "'leave_type'"),
    ("leave", leave() | {"to": (TODAY - timedelta(days=5)).isoformat()}, "is before"),
    ("leave", leave(12) | {"days": "12"}, "days left"),
    ("nope", {}, "no form type"),
])
async def test_values_that_break_the_form_are_refused_and_nothing_is_stored(stack: Stack, form: str,
                                                                            values: dict[str, Any], says: str) -> None:
    values.pop("days_", None)
    with stack.db.write() as s:  # erin has 15 days; 12 more than 10 left after this
        from domain.forms import services as forms
        forms.grant_leave(s, "erin", (TODAY + timedelta(days=3)).year, __import__("decimal").Decimal(10), "admin")
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": form, "values": values})
    assert r.status_code in (404, 422) and says in r.json()["detail"], r.text
    assert stored(stack) == 0


async def test_the_pages_file_a_request_with_a_file_and_show_its_route(stack: Stack) -> None:
    erin = await Browser(stack, "erin").start()
    page = await erin.get("/requests/new")
    assert page.status_code == 200 and "Leave request" in text(page) and "Contract approval" in text(page)
    form = await erin.get("/requests/new/contract")
    assert form.status_code == 200 and 'type="file"' in form.text and 'name="counterparty"' in form.text
    files = {"contract_file": ("contract.pdf", b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
                               "application/pdf")}
    data = {"counterparty": "Globex", "amount": "12,500.00", "csrf": erin.csrf}
    r = await stack.http.post("/requests/new/contract", data=data, files=files, headers={"Cookie": erin.cookie})
    assert r.status_code == 303, text(r)
    found = re.fullmatch(r"/requests/(FR-\d+)", r.headers["location"])
    assert found, r.headers["location"]
    number = found.group(1)
    assert "filed" in flash(r)["msg"]
    shown = await erin.get(f"/requests/{number}")
    assert shown.status_code == 200, text(shown)
    assert "Globex" in text(shown) and "contract.pdf" in text(shown) and "Manager" in text(shown)
    assert "Legal" in text(shown) and "Add a comment" in text(shown)
    r = await erin.post("/comments", {"document": number, "text": "@frank the signed copy follows",
                                      "back": f"/requests/{number}"})
    assert r.status_code == 303, text(r)
    assert "the signed copy follows" in text(await erin.get(f"/requests/{number}"))
    monitor = await erin.get(f"/processes/{got_pid(stack, number)}")
    assert monitor.status_code == 200 and "approval: Manager" in text(monitor) and "approval: Legal" in text(monitor)
    got = (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()
    assert got["values"]["amount"] == "12500.00" and len(got["values"]["contract_file"]) == 1
    listed = await erin.get("/requests")
    assert number in text(listed)
    # a bad value: the form again, 422, with the sentence; nothing stored
    before = stored(stack)
    bad = await stack.http.post("/requests/new/leave", data={**leave(), "leave_type": "sabbatical",
                                                              "csrf": erin.csrf}, headers={"Cookie": erin.cookie})
    assert bad.status_code == 422 and "leave_type" in text(bad)
    assert stored(stack) == before
    # cancel from the page
    r = await erin.post(f"/requests/{number}/cancel")
    assert r.status_code == 303, text(r)
    for _ in range(100):
        if (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()["status"] == "cancelled":
            break
    assert (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()["status"] == "cancelled"


async def test_a_trips_advance_is_named_by_the_claim_filed_on_my_requests_and_settled_when_it_is_paid(
        stack: Stack) -> None:
    trip = (await stack.as_("erin", "POST", "/api/requests", json={"form": "business_trip", "values": {
        "destination": "Shanghai", "from": (TODAY + timedelta(days=2)).isoformat(),
        "to": (TODAY + timedelta(days=4)).isoformat(), "purpose": "supplier visit", "advance": "600.00"}})).json()
    number = trip["request_id"]
    task = await stack.open_task("frank", number)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    for _ in range(200):
        got = (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()
        if got["advance"]:
            break
    assert got["status"] == "approved" and got["advance"]["amount"] == "600.00", got
    erin = await Browser(stack, "erin").start()
    page = await erin.get("/requests")
    assert "Settles the advance of trip" in text(page) and f"{number} (600.00)" in text(page)
    r = await erin.post("/requests/expense-claims", {"category": "travel", "amount": "900", "currency": "USD",
                                                     "date": (TODAY - timedelta(days=1)).isoformat(),
                                                     "description": "hotel", "trip": number})
    assert r.status_code == 303, text(r)
    claims = (await stack.as_("erin", "GET", "/api/expense-claims", params={"mine": True})).json()
    claim = claims[0]["claim_id"]
    assert (await stack.as_("erin", "GET", f"/api/expense-claims/{claim}")).json()["trip"] == number
    refused = await stack.as_("bob", "POST", "/api/expense-claims", json={"trip": number, "lines": [
        {"category": "travel", "amount": "10.00", "currency": "USD", "date": (TODAY - timedelta(days=1)).isoformat()}]})
    assert refused.status_code == 422 and "no cash advance of yours" in refused.json()["detail"]
    task = await stack.open_task("frank", claim)
    await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    for _ in range(200):
        if (await stack.as_("erin", "GET", f"/api/expense-claims/{claim}")).json()["status"] == "approved":
            break
    r = await stack.as_("grace", "POST", f"/api/expense-claims/{claim}/pay")
    assert r.status_code == 200, r.text
    for _ in range(200):
        got = (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()
        if got["advance"]["settled"]:
            break
    assert got["advance"]["settled"] and got["advance"]["claim"] == claim


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def test_an_attachment_field_takes_only_the_requesters_own_draft_uploads(stack: Stack) -> None:
    async def upload(who: str) -> str:
        r = await stack.as_(who, "POST", "/api/attachments", files={"file": ("c.pdf", PDF, "application/pdf")})
        assert r.status_code == 201, r.text
        return str(r.json()["attachment_id"])

    bobs, erins = await upload("bob"), await upload("erin")
    values = {"counterparty": "Globex", "amount": "900.00"}
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "contract",
                                                               "values": {**values, "contract_file": [bobs]}})
    assert r.status_code == 422 and "is not a file erin uploaded" in r.json()["detail"], r.text
    assert stored(stack) == 0
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "contract",
                                                               "values": {**values, "contract_file": [erins]}})
    assert r.status_code == 201, r.text
    number = r.json()["request_id"]
    listed = (await stack.as_("erin", "GET", "/api/attachments", params={"document": number})).json()
    assert [a["attachment_id"] for a in listed] == [erins]
