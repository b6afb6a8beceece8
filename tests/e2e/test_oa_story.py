"""Issue 19's "done when", as a new user would try it, through the HTTP API with the real worker: admin designs
"IT equipment purchase" (an "all of" step for the it and finance roles, the cfo above 5,000) and registers a
webhook for every event; erin files one for 6,000 with a PDF quote; tom and grace get tasks and e-mails (a real
SMTP server on loopback: aiosmtpd), tom asks "@erin which model?" in a comment, erin gets a mention mail and
answers; both approve, then heidi; erin sees the whole trail and downloads her quote, ivan gets a 404. erin's
5-day leave goes frank → heidi (over 3 days) and lowers her balance by 5; frank's own approved leave with bob
as deputy sends erin's expense claim, filed during those days, to bob. The webhook receiver (a real HTTP
server) saw every event, each body signed with the secret."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from domain.approvals import absence
from domain.core.db import Database
from domain.forms.tables import LeaveBalance
from tests.e2e.conftest import Stack, free_port, serve_stack
from tests.helpers import assert_books_reconcile
from worker import dispatch_notifications

pytestmark = pytest.mark.e2e

DOMAIN = "demo.valueloop.dev"  # the demo users' mail domain (domain/demo.py)
SECRET = "oa-story-webhook-secret"
MAILS = Path(__file__).resolve().parents[2] / "test-artifacts" / "mails" / "oa"
EVENTS = ["task.assigned", "task.reminder", "task.escalated", "task.urged", "mention", "request.decided", "copied"]
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")
IT_EQUIPMENT: dict[str, Any] = {
    "key": "it_equipment", "name": "IT equipment purchase",
    "fields": [{"name": "item", "label": "Item", "type": "text", "required": True},
               {"name": "amount", "label": "Amount", "type": "money", "required": True, "min": "0"},
               {"name": "quote", "label": "Quote", "type": "attachment", "required": True}],
    "route": [{"name": "IT and finance", "approver": ["role:it", "role:finance"], "mode": "all"},
              {"name": "CFO", "approver": "role:cfo", "when": {"field": "amount", "op": ">", "value": "5000"}}],
}


# --- the SMTP sink and the webhook receiver (real servers on loopback) -----------------------------------

class MailSink:
    """aiosmtpd handler: keeps every message it is given, with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(([str(r).lower() for r in envelope.rcpt_tos], msg))
        return "250 Message accepted for delivery"

    def dump(self, folder: Path) -> None:
        """Every mail as text (headers and body) in `folder`, for the closing note and for a failure's reader."""
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.txt"):
            old.unlink()
        for i, (rcpts, m) in enumerate(self.messages, 1):
            head = "".join(f"{k}: {v}\n" for k, v in m.items())
            (folder / f"{i:02d}-{rcpts[0].split('@')[0]}.txt").write_text(f"{head}\n{mail_text(m)}\n")

    def to(self, user: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if f"{user}@{DOMAIN}" in rcpts]

    async def wait_for(self, user: str, *words: str, seconds: float = 20) -> EmailMessage:
        """The first mail to `user` whose subject and text hold every one of `words`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for m in self.to(user):
                if all(w.lower() in mail_text(m).lower() for w in words):
                    return m
            await asyncio.sleep(0.05)
        got = [str(m["Subject"]) for m in self.to(user)]
        raise AssertionError(f"no mail to {user} holding {words} in {seconds} s; {user} got {got}")


def mail_text(m: EmailMessage) -> str:
    body = m.get_body(preferencelist=("plain", "html"))
    return f"{m['Subject']}\n{body.get_content() if body is not None else ''}"


class Receiver:
    """An HTTP server in a thread that records every POST (headers, body) and answers 200."""

    def __init__(self) -> None:
        self.hits: list[tuple[dict[str, str], bytes]] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hits.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/valueloop"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def events(self) -> list[dict[str, Any]]:
        out = []
        for _headers, body in list(self.hits):
            try:
                out.append(json.loads(body))
            except ValueError:
                out.append({"unparsed": body[:200].decode(errors="replace")})
        return out

    def bad_signatures(self, secret: str) -> list[str]:
        bad = []
        for headers, body in list(self.hits):
            want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(headers.get("x-valueloop-signature", ""), want):
                bad.append(f"{headers.get('x-valueloop-signature')!r} for {body[:120]!r}")
        return bad

    async def wait_for(self, pred: Callable[[dict[str, Any]], bool], what: str, seconds: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for ev in self.events():
                if pred(ev):
                    return ev
            await asyncio.sleep(0.05)
        raise AssertionError(f"the webhook never got {what}; it got {[event_name(e) for e in self.events()]}")


def event_name(ev: dict[str, Any]) -> str:
    return str(ev.get("event") or ev.get("type") or "")


def mentions(ev: dict[str, Any], *words: str) -> bool:
    blob = json.dumps(ev).lower()
    return all(w.lower() in blob for w in words)


@pytest.fixture
def smtp_sink() -> Iterator[MailSink]:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()
    sink.dump(MAILS)


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest_asyncio.fixture
async def oa(dev_env: WorkflowEnvironment, db: Database, smtp_sink: MailSink, tmp_path: Path) -> AsyncIterator[Stack]:
    """The stack with the worker mailing the SMTP sink and attachments under tmp_path."""
    async with serve_stack(dev_env, db, "oa", smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                           smtp_from="valueloop@oa.test", attachments_dir=str(tmp_path / "attachments")) as served:
        queue = served.settings.task_queue
        dispatcher = asyncio.create_task(dispatch_notifications(dev_env.client, db, queue, id_prefix=f"{queue}/",
                                                                every=0.1))
        try:
            yield Stack(http=served.http, db=db, platform=served.platform)
        finally:
            dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher
            # Notify and the daily digest are no business processes: terminate_processes does not see them
            async for wf in dev_env.client.list_workflows(f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'"):
                with contextlib.suppress(Exception):
                    await dev_env.client.get_workflow_handle(wf.id).terminate("test over")
    assert_books_reconcile(db)


# --- steps ------------------------------------------------------------------------------------------------

async def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url.path} -> {r.status_code}: {r.text}"
    return r.json()


async def task_for(stack: Stack, user: str, key: str, label: str = "", tries: int = 40) -> dict[str, Any]:
    """`user`'s open task on document `key` (whose step label holds `label`), long-polling the inbox."""
    for _ in range(tries):
        rows = await ok(await stack.as_(user, "GET", "/api/tasks", params={"business_key": key, "wait": 0.5}))
        rows = [t for t in rows if label.lower() in str(t.get("step_label", "")).lower()]
        if rows:
            return rows[0]  # type: ignore[no-any-return]
    raise AssertionError(f"{user} never saw a task for {key} {label}")


async def approve(stack: Stack, user: str, task: dict[str, Any], comment: str = "ok") -> None:
    await ok(await stack.as_(user, "POST", f"/api/tasks/{task['id']}/complete",
                             json={"decision": "approve", "comment": comment}))


async def request_until(stack: Stack, user: str, request_id: str, status: str, tries: int = 40) -> dict[str, Any]:
    for _ in range(tries):
        body = await ok(await stack.as_(user, "GET", f"/api/requests/{request_id}",
                                        params={"wait": 0.5, "until": status}))
        if body["status"] == status:
            return body  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{request_id} never became {status}: {body}")


def balance(stack: Stack, user: str) -> Decimal:
    """Days of leave left to `user` this year (leave_balances: granted - taken)."""
    with stack.db.read() as s:
        row = s.execute(select(LeaveBalance).where(LeaveBalance.username == user,
                                                   LeaveBalance.year == absence.today().year)).scalar_one()
        return row.days_granted - row.days_taken


def decided_by(body: dict[str, Any]) -> list[str]:
    """Who approved, in the trail's order (approvals: the route's decisions)."""
    return [str(a["decided_by"]) for a in body["approvals"] if a["decision"] == "approve"]


async def file_request(stack: Stack, user: str, form: str, values: dict[str, Any]) -> str:
    body = await ok(await stack.as_(user, "POST", "/api/requests", json={"form": form, "values": values}), 201)
    assert body["process_id"], body
    return str(body["request_id"])


# --- the story --------------------------------------------------------------------------------------------

async def test_it_equipment_leave_and_deputy_with_mails_and_signed_webhooks(
        oa: Stack, smtp_sink: MailSink, webhook_receiver: Receiver) -> None:
    stack, today = oa, absence.today()
    started = time.monotonic()

    # admin: a webhook for every event; a URL that is not http(s) is refused
    await ok(await stack.as_("admin", "POST", "/api/webhooks",
                             json={"url": "ftp://example.com/x", "events": EVENTS, "secret": SECRET}), 422)
    await ok(await stack.as_("admin", "POST", "/api/webhooks",
                             json={"url": webhook_receiver.url, "events": EVENTS, "secret": SECRET}), 201)

    # admin designs the form: a condition on a field it lacks is refused, nothing stored; then it is saved
    broken = {**IT_EQUIPMENT, "route": [{**IT_EQUIPMENT["route"][1], "when": {"field": "price", "op": ">",
                                                                                "value": "5000"}}]}
    r = await stack.as_("admin", "POST", "/api/form-types", json=broken)
    assert r.status_code == 422 and "price" in r.text, r.text
    assert (await stack.as_("admin", "GET", "/api/form-types/it_equipment")).status_code == 404
    saved = await ok(await stack.as_("admin", "POST", "/api/form-types", json=IT_EQUIPMENT), 201)
    assert saved == {"key": "it_equipment", "version": 1}, saved
    listed = await ok(await stack.as_("erin", "GET", "/api/form-types"))
    assert "it_equipment" in {t["key"] for t in listed}, listed

    # erin uploads her PDF quote and files the request for 6,000 with it
    up = await ok(await stack.as_("erin", "POST", "/api/attachments", data={"document": "draft:erin"},
                                  files={"file": ("quote-x1.pdf", PDF, "application/pdf")}), 201)
    assert (up["filename"], up["size"], up["sha256"]) == ("quote-x1.pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    values = {"item": "ThinkPad X1 Carbon for the design team", "amount": "6000", "quote": up["attachment_id"]}
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "it_equipment",
                                                               "values": {**values, "amount": "-1"}})
    assert r.status_code == 422 and "amount" in r.text.lower(), r.text
    fr = await file_request(stack, "erin", "it_equipment", values)

    # the "all of" step: one task for it (tom), one for finance (grace), at once; both are mailed
    tom_task, grace_task = await task_for(stack, "tom", fr), await task_for(stack, "grace", fr)
    assert tom_task["id"] != grace_task["id"]
    for user in ("tom", "grace"):
        await smtp_sink.wait_for(user, fr)
    assert not [t for t in await ok(await stack.as_("heidi", "GET", "/api/tasks", params={"business_key": fr}))
                if "cfo" in str(t.get("step_label", "")).lower()], "the cfo's step opened before the first ended"

    # tom asks erin in a comment; erin gets a mention mail and answers
    await ok(await stack.as_("tom", "POST", "/api/comments", json={"document": fr, "text": "@erin which model?"}), 201)
    await smtp_sink.wait_for("erin", fr, "@erin which model?")
    await ok(await stack.as_("erin", "POST", "/api/comments",
                             json={"document": fr, "text": "The X1 Carbon Gen 12, 32 GB: see the quote."}), 201)
    comments = await ok(await stack.as_("tom", "GET", "/api/comments", params={"document": fr}))
    assert [c["text"] for c in comments][-2:] == ["@erin which model?", "The X1 Carbon Gen 12, 32 GB: see the quote."]
    assert [c.get("author") or c.get("username") for c in comments][-2:] == ["tom", "erin"], comments

    # both approve; then (6,000 > 5,000) heidi, the cfo, gets the task, and a mail, and approves
    await approve(stack, "tom", tom_task, "Model fits our standard")
    assert (await ok(await stack.as_("erin", "GET", f"/api/requests/{fr}")))["status"] == "pending_approval"
    await approve(stack, "grace", grace_task, "Budgeted")
    heidi_task = await task_for(stack, "heidi", fr)
    await smtp_sink.wait_for("heidi", fr)
    await approve(stack, "heidi", heidi_task, "Approved")

    # erin sees the whole trail, hears the decision, and can download her quote; ivan cannot
    body = await request_until(stack, "erin", fr, "approved")
    assert (body["form"], body["version"]) == ("it_equipment", 1), body
    assert sorted(decided_by(body)[:2]) == ["grace", "tom"] and decided_by(body)[2:] == ["heidi"], body["approvals"]
    assert [(st["name"], st["mode"], st["state"]) for st in body["route"]] == [
        ("IT and finance", "all", "done"), ("CFO", "any", "done")], body["route"]
    await smtp_sink.wait_for("erin", fr, "approved")
    got = await stack.as_("erin", "GET", f"/api/attachments/{up['attachment_id']}")
    assert got.status_code == 200 and got.content == PDF, got.text[:200]
    assert got.headers["content-disposition"].startswith("attachment;"), got.headers
    assert got.headers["x-content-type-options"] == "nosniff"
    assert (await stack.as_("ivan", "GET", f"/api/attachments/{up['attachment_id']}")).status_code == 404

    # erin's 5-day leave, next week: frank, then heidi (his manager, as it is over 3 days); her balance drops 5
    leave_type = await ok(await stack.as_("erin", "GET", "/api/form-types/leave"))
    kinds = next(f for f in leave_type["fields"] if f["name"] == "leave_type")["choices"]
    before = balance(stack, "erin")
    start = min(today + timedelta(days=7), date(today.year, 12, 27))  # this year's balance, after frank's leave
    leave = await file_request(stack, "erin", "leave", {
        "leave_type": kinds[0], "from": start.isoformat(), "to": (start + timedelta(days=4)).isoformat(), "days": 5,
        "deputy": "carol"})
    await approve(stack, "frank", await task_for(stack, "frank", leave))
    await approve(stack, "heidi", await task_for(stack, "heidi", leave))
    body = await request_until(stack, "erin", leave, "approved")
    assert decided_by(body) == ["frank", "heidi"], body["approvals"]
    assert balance(stack, "erin") == before - 5
    assert f"5 day(s) of leave taken, {(before - 5).normalize():f} left" in body["effect"], body["effect"]

    # frank's own leave from today, bob as deputy, approved by heidi: erin's claim filed now goes to bob
    frank_leave = await file_request(stack, "frank", "leave", {
        "leave_type": kinds[0], "from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat(), "days": 2,
        "deputy": "bob"})
    await approve(stack, "heidi", await task_for(stack, "heidi", frank_leave))
    body = await request_until(stack, "frank", frank_leave, "approved")
    assert "deputy bob" in body["effect"], body["effect"]
    away = await ok(await stack.as_("frank", "GET", "/api/me/out-of-office"))
    assert any(a.get("deputy") == "bob" for a in (away if isinstance(away, list) else [away])), away
    claim = await ok(await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [
        {"category": "travel", "amount": "300", "currency": "USD", "date": today.isoformat(),
         "description": "Taxi to the supplier"}]}), 201)
    deputy_task = await task_for(stack, "bob", claim["claim_id"])
    assert deputy_task["candidate_user"] == "bob"
    assert await ok(await stack.as_("frank", "GET", "/api/tasks", params={"business_key": claim["claim_id"]})) == []

    # the webhook saw every event of the story, each body signed with the secret
    await webhook_receiver.wait_for(lambda e: event_name(e) == "task.assigned" and mentions(e, fr), "task.assigned")
    await webhook_receiver.wait_for(lambda e: event_name(e) == "mention" and mentions(e, fr, "erin"), "mention")
    await webhook_receiver.wait_for(lambda e: event_name(e) == "request.decided" and mentions(e, fr),
                                    "request.decided")
    await webhook_receiver.wait_for(lambda e: event_name(e) == "task.assigned" and mentions(e, claim["claim_id"]),
                                    "the deputy's task.assigned")
    assert webhook_receiver.hits and not webhook_receiver.bad_signatures(SECRET), webhook_receiver.bad_signatures(SECRET)
    assert time.monotonic() - started < 60
