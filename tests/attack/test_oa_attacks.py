"""Issue 19 attacked end to end (helper H8): each test failed before its fix, or pins what was found sound."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

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


LONG = "A" * 100_000


async def test_bad_input_to_the_oa_endpoints_is_4xx_never_500_and_stores_nothing(stack):
    """Form values, form definitions, comments and webhooks thrown at with the wrong shapes and sizes."""
    trip = _trip()
    bad_values = [
        {**trip, "destination": LONG}, {**trip, "advance": "NaN"}, {**trip, "advance": "Infinity"},
        {**trip, "advance": "1e400"}, {**trip, "advance": "-0.001"}, {**trip, "advance": ["1"]},
        {**trip, "advance": {"a": 1}}, {**trip, "advance": True}, {**trip, "from": "9999-12-31"},
        {**trip, "from": "0001-01-01"}, {**trip, "from": 20261212}, {**trip, "unknown": "x"},
        {**trip, "destination": {"nested": {"deep": 1}}}, {**trip, "destination": ["Lyon"]},
        {**trip, "destination": "Ly\x00on"}, {**trip, "destination": None, "purpose": None},
        {**trip, "advance": "1" * 5000}, {**trip, "advance": "١٢"}, {**trip, "advance": "1,000.00.00"},
        {str(i): "x" for i in range(50)},
    ]
    for values in bad_values:
        r = await stack.as_("erin", "POST", "/api/requests", json={"form": "business_trip", "values": values})
        assert r.status_code in (413, 422), (str(values)[:100], r.status_code, r.text[:300])
    raw = '{"form": "business_trip", "values": {"destination": "x", "advance": 1e400, "from": "2026-12-20", ' \
          '"to": "2026-12-21", "purpose": "p"}}'
    r = await stack.http.post("/api/requests", content=raw.encode(),
                              headers={**await stack.login("erin"), "content-type": "application/json"})
    assert r.status_code == 422, r.text
    for form in ("", "nope", "../leave", LONG[:41], "leave\x00"):
        r = await stack.as_("erin", "POST", "/api/requests", json={"form": form, "values": trip})
        assert r.status_code in (404, 422), (form[:20], r.status_code, r.text[:200])
    assert _count(stack, "erin") == 0

    field = {"name": "f", "label": "F", "type": "text"}
    step = {"name": "S", "approver": "manager"}
    good = {"key": "probe", "name": "Probe", "fields": [field], "route": [step]}
    bad_types = [
        {**good, "fields": [{**field, "name": f"f{i}"} for i in range(51)]},
        {**good, "route": [step] * 21},
        {**good, "fields": [{**field, "name": "a" * 5000}]},
        {**good, "fields": [{**field, "name": "a.b.c"}]},
        {**good, "fields": [field, field]},
        {**good, "fields": [{**field, "type": "number"}], "route": [{**step, "when": {"field": "f", "op": ">",
                                                                                       "value": "soon"}}]},
        {**good, "fields": [{**field, "type": "number"}], "route": [{**step, "when": {"field": "f", "op": ">",
                                                                                       "value": [1, 2]}}]},
        {**good, "fields": [{**field, "type": "date"}], "route": [{**step, "when": {"field": "f", "op": ">",
                                                                                     "value": "2026-13-45"}}]},
        {**good, "route": [{**step, "when": {"field": "missing", "op": "==", "value": "x"}}]},
        {**good, "route": [{**step, "approver": ["user:nobody"]}]},
        {**good, "route": [{**step, "approver": ["role:nope"]}]},
        {**good, "route": [{**step, "approver": "sudo"}]},
        {**good, "route": [{**step, "approver": ["user:frank"] * 11}]},
        {**good, "fields": [{**field, "type": "number", "min": "NaN"}]},
        {**good, "fields": [{**field, "type": "number", "min": "5", "max": "1"}]},
        {**good, "fields": [{**field, "type": "choice", "choices": []}]},
        {**good, "sla_hours": 10**20}, {**good, "key": "../x"}, {**good, "name": LONG},
    ]
    for defn in bad_types:
        r = await stack.as_("admin", "POST", "/api/form-types", json=defn)
        assert r.status_code in (409, 413, 422), (str(defn)[:120], r.status_code, r.text[:300])
    # duplicates in one step's approver list: refused, or one part each person (never two parts for one)
    r = await stack.as_("admin", "POST", "/api/form-types", json={
        **good, "key": "dupes", "route": [{**step, "approver": ["user:frank", "user:frank"], "mode": "all"}]})
    if r.status_code == 201:
        r = await stack.as_("erin", "POST", "/api/requests", json={"form": "dupes", "values": {"f": "x"}})
        assert r.status_code in (201, 422), r.text
        if r.status_code == 201:
            got = (await stack.as_("erin", "GET", f"/api/requests/{r.json()['request_id']}")).json()
            step0 = got["route"][0]
            assert step0["approver"].count("frank") == 1, step0
    else:
        assert r.status_code == 422, r.text

    for body in ({"document": "EC-00001", "text": LONG}, {"document": "x" * 61, "text": "hi"},
                 {"document": "draft:erin", "text": "   "}, {"document": "draft:erin", "text": "a\x00b"},
                 {"document": "draft:erin", "text": "x" * 4001}, {"document": ["EC-1"], "text": "hi"}):
        r = await stack.as_("erin", "POST", "/api/comments", json=body)
        assert r.status_code in (404, 422), (str(body)[:80], r.status_code, r.text[:200])
    for url in ("javascript:alert(1)", "ftp://x/", "http://" + "a" * 600, "http://[::1", "http://u:p@h/",
                "http://h:70000/", " ", "http://h/\r\nX: y"):
        r = await stack.as_("admin", "POST", "/api/webhooks", json={"url": url, "events": ["mention"],
                                                                    "secret": "s" * 20})
        assert r.status_code == 422, (url[:40], r.status_code, r.text[:200])
    r = await stack.as_("admin", "POST", "/api/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                                                "events": ["mention"], "secret": "the-secret-1234567"})
    assert r.status_code == 201 and "the-secret" not in r.text
    assert "the-secret" not in (await stack.as_("admin", "GET", "/api/webhooks")).text
    admin = await Browser(stack, "admin").start()
    assert "the-secret" not in (await admin.get("/webhooks")).text


async def test_hostile_files_and_comments_are_served_harmlessly(stack):
    """A filename with directories, a right-to-left override and a line break; a PDF that is HTML after its
    header; HTML itself; a comment with a script: stored as data, served as a download (nosniff, sandboxed),
    escaped on the pages."""
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "business_trip", "values": _trip()})
    number = r.json()["request_id"]
    task = await stack.open_task("frank", number)
    polyglot = b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n%%EOF\n"
    name = "../../etc/passwd\r\nX-Evil: 1\u202egpj.exe"
    r = await stack.as_("erin", "POST", "/api/attachments", data={"document": number},
                        files={"file": (name, polyglot, "text/html")})
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["content_type"] == "application/pdf" and "/" not in a["filename"] and "\n" not in a["filename"]
    assert "\u202e" not in a["filename"]
    got = await stack.as_("frank", "GET", f"/api/attachments/{a['attachment_id']}")
    assert got.status_code == 200 and got.content == polyglot
    assert got.headers["content-type"].startswith("application/pdf")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "\r" not in got.headers["content-disposition"] and "X-Evil" not in got.headers
    assert "sandbox" in got.headers["content-security-policy"]
    for content in (b"<html><script>alert(1)</script></html>", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                    b"\x00\x01binary", b"MZ\x90\x00"):
        r = await stack.as_("erin", "POST", "/api/attachments", data={"document": number},
                            files={"file": ("x.pdf", content, "application/pdf")})
        assert r.status_code == 415, (content[:10], r.status_code, r.text)
    # another's draft, or a document one cannot see: 404 (nothing stored)
    for doc in ("draft:frank", "EC-99999", number):
        r = await stack.as_("alice", "POST", "/api/attachments", data={"document": doc},
                            files={"file": ("a.txt", b"hello\n", "text/plain")})
        assert r.status_code in (403, 404), (doc, r.status_code, r.text)
    assert (await stack.as_("alice", "GET", f"/api/attachments/{a['attachment_id']}")).status_code == 404
    assert (await stack.as_("alice", "GET", "/api/attachments", params={"document": number})).status_code == 404

    script = "<script>alert('x')</script><img src=x onerror=alert(1)> @frank"
    r = await stack.as_("erin", "POST", "/api/comments", json={"document": number, "text": script})
    assert r.status_code == 201, r.text
    for who, url in (("erin", f"/requests/{number}"), ("frank", f"/tasks/{task['id']}")):
        page = await (await Browser(stack, who).start()).get(url)
        assert page.status_code == 200, (url, page.status_code)
        assert "<script>alert('x')" not in page.text and "<img src=x" not in page.text, url
        assert "&lt;script&gt;" in page.text, url


async def _poll_request(stack, number: str, done) -> dict:
    for _ in range(300):
        got = (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()
        if done(got):
            return got  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{number}: {got}")


async def test_races_file_once_decide_once_and_never_500(stack):
    """The same request POSTed at once under one Idempotency-Key; both approvers of an all-of step deciding at the
    same instant; an urge racing the decision; a resubmit racing another."""
    key = {"Idempotency-Key": "trip-lyon-1"}
    answers = await asyncio.gather(*(stack.as_("erin", "POST", "/api/requests", headers=key,
                                                json={"form": "business_trip", "values": _trip()}) for _ in range(4)))
    assert [r.status_code for r in answers] == [201] * 4, [r.text[:200] for r in answers]
    assert len({r.json()["request_id"] for r in answers}) == 1 and _count(stack, "erin") == 1

    r = await stack.as_("admin", "POST", "/api/form-types", json={
        "key": "both", "name": "Both of them", "fields": [{"name": "what", "label": "What", "type": "text"}],
        "route": [{"name": "Both", "approver": ["user:frank", "user:grace"], "mode": "all"},
                  {"name": "CFO", "approver": "user:heidi"}]})
    assert r.status_code == 201, r.text
    for decisions in (("approve", "approve"), ("approve", "reject")):
        r = await stack.as_("erin", "POST", "/api/requests", json={"form": "both", "values": {"what": "x"}})
        assert r.status_code == 201, r.text
        number, pid = r.json()["request_id"], r.json()["process_id"]
        tf, tg = await stack.open_task("frank", number), await stack.open_task("grace", number)
        answers = await asyncio.gather(
            stack.as_("frank", "POST", f"/api/tasks/{tf['id']}/complete", json={"decision": decisions[0]}),
            stack.as_("grace", "POST", f"/api/tasks/{tg['id']}/complete", json={"decision": decisions[1],
                                                                                 "comment": "no"}),
            stack.as_("erin", "POST", f"/api/processes/{pid}/urge"))
        assert all(a.status_code < 500 for a in answers), [a.text[:200] for a in answers]
        if decisions[1] == "reject":  # one rejection ends the step: an approval after it is refused (409)
            assert answers[1].status_code == 200 and answers[0].status_code in (200, 409), [a.text for a in answers]
            got = await _poll_request(stack, number, lambda g: g["status"] == "rejected")
            assert "grace" in [a["decided_by"] for a in got["approvals"]]
            continue
        assert [a.status_code for a in answers[:2]] == [200, 200], [a.text[:200] for a in answers]
        got = await _poll_request(stack, number, lambda g: g["route"][1]["state"] == "current")
        assert got["status"] == "pending_approval"
        assert sorted(a["decided_by"] for a in got["approvals"]) == ["frank", "grace"]

    # sent back, then resubmitted twice at once: one restart, the other refused
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "both", "values": {"what": "y"}})
    number = r.json()["request_id"]
    tf = await stack.open_task("frank", number)
    r = await stack.as_("frank", "POST", f"/api/tasks/{tf['id']}/send-back", json={"comment": "say more"})
    assert r.status_code == 200, r.text
    await _poll_request(stack, number, lambda g: g["status"] == "sent_back")
    answers = await asyncio.gather(*(stack.as_("erin", "POST", f"/api/requests/{number}/resubmit",
                                               json={"values": {"what": "more"}}) for _ in range(3)))
    codes = sorted(a.status_code for a in answers)
    assert codes[0] == 200 and all(c in (200, 409) for c in codes), [a.text[:200] for a in answers]
    got = await _poll_request(stack, number, lambda g: g["status"] == "pending_approval")
    with stack.db.read() as s:
        from domain.approvals.tables import Task
        open_ = s.execute(select(Task.candidate_user).where(Task.process_id == got["process_id"],
                                                            Task.status == "open")).scalars().all()
    for _ in range(100):
        with stack.db.read() as s:
            open_ = sorted(s.execute(select(Task.candidate_user).where(Task.process_id == got["process_id"],
                                                                       Task.status == "open")).scalars().all())
        if len(open_) >= 2:
            break
        await asyncio.sleep(0.05)
    assert open_ == ["frank", "grace"], open_  # one restart: one task each, not two


async def test_the_task_page_copies_to_at_most_twenty_people_at_once(stack):
    """The API took 20 names, the task page's field 1000 characters: some 300 names, a mail each (a copy storm)."""
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "business_trip", "values": _trip()})
    number = r.json()["request_id"]
    task = await stack.open_task("frank", number)
    frank = await Browser(stack, "frank").start()
    await frank.get(f"/tasks/{task['id']}")
    many = " ".join(["grace", "heidi", "ivan", "alice", "bob"] * 4 + [f"u{i}" for i in range(300)])[:1000]
    r = await frank.post(f"/inbox/{task['id']}/copy-to", {"usernames": many})
    assert r.status_code == 422 and "at most 20" in text(r), (r.status_code, text(r)[:300])
    with stack.db.read() as s:
        from domain.approvals.tables import ApprovalCopy
        assert s.execute(select(ApprovalCopy)).first() is None
    r = await frank.post(f"/inbox/{task['id']}/copy-to", {"usernames": "grace, grace heidi"})
    assert r.status_code == 303, text(r)[:300]
    with stack.db.read() as s:
        assert sorted(s.execute(select(ApprovalCopy.username)).scalars()) == ["grace", "heidi"]


async def test_the_urge_button_never_redirects_off_the_site(stack):
    """Its `back` field was checked for "/" but not "//" only: "/\\evil.example" is another site to a browser."""
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "business_trip", "values": _trip()})
    number, pid = r.json()["request_id"], r.json()["process_id"]
    await stack.open_task("frank", number)
    erin = await Browser(stack, "erin").start()
    await erin.get(f"/requests/{number}")
    for back in ("/\\evil.example", "/\\/evil.example", "//evil.example", "https://evil.example"):
        r = await erin.post(f"/processes/{pid}/urge", {"back": back})
        assert r.status_code == 303 and r.headers["location"].split("?")[0] == "/requests", (back, r.headers)


async def test_the_new_request_page_refuses_bad_values_with_its_form_never_a_500(stack):
    erin = await Browser(stack, "erin").start()
    await erin.get("/requests/new/business_trip")
    trip = _trip()
    for changes in ({"advance": "NaN"}, {"advance": "Infinity"}, {"advance": "1e400"}, {"advance": "9" * 400},
                    {"advance": "-1"}, {"advance": "1.001"}, {"from": "9999-12-31"}, {"from": "2026-02-30"},
                    {"destination": "x" * 5000}, {"destination": ""}, {"to": "2000-01-01"}):
        r = await erin.post("/requests/new/business_trip", {**trip, **changes})
        assert 400 <= r.status_code < 500, (changes, r.status_code, text(r)[:300])
        assert "was not filed" in text(r) or r.status_code == 413, (changes, text(r)[:300])
    leave = {"leave_type": "annual", "from": trip["from"], "to": trip["to"], "days": "3", "deputy": "erin"}
    await erin.get("/requests/new/leave")
    for changes in ({"days": "٣"}, {"days": "0"}, {"days": "500"}, {"deputy": "nobody"}, {"leave_type": "forever"},
                    {"days": "3", "to": trip["from"]}):
        r = await erin.post("/requests/new/leave", {**leave, **changes})
        assert 400 <= r.status_code < 500, (changes, r.status_code, text(r)[:300])
    for url in ("/requests/new/nope", "/requests/new/" + "x" * 300, "/requests/FR-99999", "/requests/" + "F" * 400):
        r = await erin.get(url)
        assert r.status_code in (404, 422), (url[:40], r.status_code)
    assert _count(stack, "erin") == 0


async def test_a_leave_naming_its_requester_as_deputy_is_refused_when_filed(stack):
    """It was filed and approved, then its effect said "not marked out of office: erin cannot be their own
    deputy": the requester's tasks went nowhere while away."""
    first = datetime.now(UTC).date() + timedelta(days=10)
    leave = {"leave_type": "annual", "from": first.isoformat(), "to": (first + timedelta(days=1)).isoformat(),
             "days": "2", "deputy": "erin"}
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "leave", "values": leave})
    assert r.status_code == 422 and "deputy" in r.json()["detail"], r.text
    assert _count(stack, "erin") == 0
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "leave", "values": {**leave, "deputy": "grace"}})
    assert r.status_code == 201, r.text


async def test_urges_and_copies_at_the_same_instant_count_once(stack):
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "business_trip", "values": _trip()})
    number, pid = r.json()["request_id"], r.json()["process_id"]
    task = await stack.open_task("frank", number)
    answers = await asyncio.gather(*(stack.as_("erin", "POST", f"/api/processes/{pid}/urge") for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.text[:200] for a in answers]
    answers = await asyncio.gather(*(stack.as_("frank", "POST", f"/api/tasks/{task['id']}/copy-to",
                                               json={"usernames": ["grace"]}) for _ in range(3)))
    assert all(a.status_code in (200, 409) for a in answers), [a.text[:200] for a in answers]
    assert sum(a.json().get("copied") == ["grace"] for a in answers if a.status_code == 200) == 1
    events = (await stack.as_("frank", "GET", f"/api/tasks/{task['id']}")).json()["events"]
    assert [e["event"] for e in events].count("urged") == 1
    assert [e["detail"] for e in events if e["event"] == "copied"] == ["copied to grace"], events


async def test_a_resubmission_cannot_take_its_request_past_a_step_its_new_values_need(stack):
    """The route is resolved from the values as filed: a trip filed with a 100 advance (manager only), sent back,
    resubmitted with a 50,000 advance was approved by the manager alone and paid 50,000, the finance step (advance
    over 2,000) skipped."""
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "business_trip",
                                                               "values": {**_trip(), "advance": "100"}})
    assert r.status_code == 201, r.text
    number = r.json()["request_id"]
    task = await stack.open_task("frank", number)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/send-back", json={"comment": "which fair?"})
    assert r.status_code == 200, r.text
    await _poll_request(stack, number, lambda g: g["status"] == "sent_back")
    r = await stack.as_("erin", "POST", f"/api/requests/{number}/resubmit",
                        json={"values": {**_trip(), "advance": "50000", "purpose": "the Lyon fair"}})
    assert r.status_code == 422 and "Finance" in r.json()["detail"], r.text
    got = (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()
    assert got["values"]["advance"] == "100.00" or got["values"]["advance"] == "100", got["values"]
    r = await stack.as_("erin", "POST", f"/api/requests/{number}/resubmit",
                        json={"values": {**_trip(), "advance": "150", "purpose": "the Lyon fair"}})
    assert r.status_code == 200, r.text


async def test_leave_requests_waiting_together_cannot_exceed_the_balance(stack):
    """Each leave was checked against the balance alone: with 15 days, two 10-day leaves were filed and both
    approved, the second "not taken off the balance"."""
    first = date(datetime.now(UTC).year + 1, 1, 5)  # next year's 15 days (the demo grants them): both in one year

    def leave(offset: int, days: int) -> dict[str, str]:
        start = first + timedelta(days=offset)
        return {"leave_type": "annual", "from": start.isoformat(),
                "to": (start + timedelta(days=days - 1)).isoformat(), "days": str(days), "deputy": "grace"}
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "leave", "values": leave(0, 10)})
    assert r.status_code == 201, r.text
    number = r.json()["request_id"]
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "leave", "values": leave(20, 10)})
    assert r.status_code == 422 and "waiting for approval (10 days)" in r.json()["detail"], r.text
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "leave", "values": leave(20, 5)})
    assert r.status_code == 201, r.text  # 10 + 5 = 15: fits
    # resubmitting the first is judged without itself: 10 again still fits beside the 5
    task = await stack.open_task("frank", number)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/send-back", json={"comment": "dates?"})
    assert r.status_code == 200, r.text
    await _poll_request(stack, number, lambda g: g["status"] == "sent_back")
    r = await stack.as_("erin", "POST", f"/api/requests/{number}/resubmit",
                        json={"values": {**leave(0, 10), "reason": "family"}})
    assert r.status_code == 200, r.text


async def test_a_new_version_of_leave_or_trip_keeps_the_fields_its_approval_reads(stack):
    """Admin published a leave whose `days` was text: filing one was a 500 (text compared with a number), and a
    `from` of free text would have failed the approved leave's effect without end."""
    leave = (await stack.as_("admin", "GET", "/api/form-types/leave")).json()
    fields = leave["definition"]["fields"] if "definition" in leave else leave["fields"]
    route = leave["definition"]["route"] if "definition" in leave else leave["route"]
    for name, kind in (("days", "text"), ("from", "text"), ("deputy", "text"), ("days", None)):
        changed = [({**f, "type": kind, "min": None, "max": None} if kind else None) if f["name"] == name else f
                   for f in fields]
        body = {"key": "leave", "name": "Leave request", "fields": [f for f in changed if f], "route": route}
        r = await stack.as_("admin", "PUT", "/api/form-types/leave", json=body)
        assert r.status_code == 422 and name in r.json()["detail"], (name, kind, r.text)
    trip = (await stack.as_("admin", "GET", "/api/form-types/business_trip")).json()
    tfields = trip["definition"]["fields"] if "definition" in trip else trip["fields"]
    troute = trip["definition"]["route"] if "definition" in trip else trip["route"]
    body = {"key": "business_trip", "name": "Business trip", "route": [s for s in troute if not s.get("when")],
            "fields": [{**f, "type": "text", "min": None} if f["name"] == "advance" else f for f in tfields]}
    r = await stack.as_("admin", "PUT", "/api/form-types/business_trip", json=body)
    assert r.status_code == 422 and "advance" in r.json()["detail"], r.text
    first = datetime.now(UTC).date() + timedelta(days=3)
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "leave", "values": {
        "leave_type": "annual", "from": first.isoformat(), "to": (first + timedelta(days=1)).isoformat(),
        "days": "2", "deputy": "grace"}})
    assert r.status_code == 201, r.text
