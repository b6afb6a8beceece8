"""Notifications end to end: a real SMTP server on loopback (aiosmtpd) and a real HTTP receiver that checks the
webhook signatures, with the worker's dispatcher starting a Notify process per event.

A task assigned → a mail to the approver in his language (Chinese for frank, who chose it); a mention → a mail to
the one mentioned; digest readers get no mail at once (a digest line waits), those who chose none get nothing;
each webhook receives each event it asked for, signed; a receiver failing twice then answering gets each
delivery once, after Temporal's retries; a URL that is not http(s) is refused with 422."""

from __future__ import annotations

import asyncio
import contextlib
import email
import hashlib
import hmac
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from domain.core.db import Database
from domain.notifications.tables import NotificationDelivery
from tests.e2e.conftest import Stack, free_port, serve_stack
from worker import dispatch_notifications

pytestmark = pytest.mark.e2e

SECRET = "s3cret-of-sixteen-chars"
CLAIM = {"lines": [{"category": "travel", "amount": "120.00", "currency": "USD", "date": "2026-11-02",
                    "description": "Taxi to the fair"}]}


class Sink:
    """An SMTP server's handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email_policy)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@dataclass
class Receiver:
    """Webhook posts received, by path; `/flaky` answers 500 to its first `fail` posts."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    fail: int = 2
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, path: str) -> list[dict[str, Any]]:
        return [p for p in self.posts if p["path"] == path and p["status"] == 200]


def receiver_server(rec: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            with rec.lock:
                status = 200
                if self.path == "/flaky" and rec.fail > 0:
                    rec.fail -= 1
                    status = 500
                rec.posts.append({"path": self.path, "status": status, "body": json.loads(body),
                                  "signed": hmac.compare_digest(want, self.headers["X-Valueloop-Signature"]),
                                  "event": self.headers["X-Valueloop-Event"],
                                  "delivery": self.headers["X-Valueloop-Delivery"]})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)


@dataclass
class Notified:
    stack: Stack
    sink: Sink
    rec: Receiver
    hook_url: str


@pytest_asyncio.fixture
async def notified(dev_env: WorkflowEnvironment, db: Database) -> AsyncIterator[Notified]:
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    rec = Receiver()
    http = receiver_server(rec)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        async with serve_stack(dev_env, db, "notify", smtp_host="127.0.0.1", smtp_port=smtp.port,
                               smtp_from="valueloop@test.invalid") as served:
            queue = served.settings.task_queue
            dispatcher = asyncio.create_task(dispatch_notifications(dev_env.client, db, queue, id_prefix=f"{queue}/",
                                                                    every=0.2))
            try:
                yield Notified(Stack(http=served.http, db=db, platform=served.platform), sink, rec,
                               f"http://127.0.0.1:{http.server_port}")
            finally:
                dispatcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await dispatcher
                await _terminate_notify(dev_env, queue)
    finally:
        http.shutdown()
        smtp.stop()


async def _terminate_notify(dev_env: WorkflowEnvironment, queue: str) -> None:
    async for wf in dev_env.client.list_workflows(f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'"):
        with contextlib.suppress(Exception):
            await dev_env.client.get_workflow_handle(wf.id).terminate("test over")


async def until(check: Any, what: str, seconds: float = 30) -> Any:
    for _ in range(int(seconds / 0.1)):
        found = check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


async def test_mails_and_webhooks_for_a_task_and_a_mention(notified: Notified) -> None:
    st, sink, rec = notified.stack, notified.sink, notified.rec
    r = await st.as_("admin", "POST", "/api/webhooks", json={"url": notified.hook_url + "/all", "secret": SECRET,
                                                            "events": ["task.assigned", "mention"]})
    assert r.status_code == 201, r.text
    r = await st.as_("admin", "POST", "/api/webhooks", json={"url": notified.hook_url + "/flaky", "secret": SECRET,
                                                            "events": ["mention"]})
    assert r.status_code == 201, r.text
    assert [h["url"] for h in (await st.as_("admin", "GET", "/api/webhooks")).json()] == [
        notified.hook_url + "/all", notified.hook_url + "/flaky"]
    for user, settings in (("frank", {"locale": "zh_Hans"}), ("grace", {"notify": "digest"}),
                           ("heidi", {"notify": "off"})):
        r = await st.as_(user, "PUT", "/api/me/settings", json=settings)
        assert r.status_code == 200, r.text
    assert r.json()["notify"] == "off"
    # grace's choice left her language alone; frank's language is Chinese
    assert (await st.as_("grace", "PUT", "/api/me/settings", json={"notify": "digest"})).json()["locale"] is None

    r = await st.as_("erin", "POST", "/api/expense-claims", json=CLAIM)
    assert r.status_code == 201, r.text
    claim = r.json()["claim_id"]
    task = await st.open_task("frank", claim)

    # frank's task: a mail in Chinese, and the webhook told, signed
    [mail] = await until(lambda: sink.to("frank@demo.valueloop.dev"), "frank's mail")
    assert mail["Subject"].startswith("新任务："), mail["Subject"]
    assert mail["From"] == "valueloop@test.invalid"
    body = mail.get_content()
    assert "Frank Fischer，您好" in body and f"/tasks/{task['id']}" in body
    assigned = await until(lambda: [p for p in rec.on("/all") if p["event"] == "task.assigned"], "task.assigned")
    assert assigned[0]["signed"] and assigned[0]["body"]["document"] == claim
    assert assigned[0]["body"]["users"] == ["frank"]

    # frank asks erin, grace (digest), heidi (none) and someone unknown
    r = await st.as_("frank", "POST", "/api/comments", json={
        "document": claim, "text": "@erin which taxi? cc @grace @heidi @nobody"})
    assert r.status_code == 201, r.text
    assert r.json()["mentions"] == ["erin", "grace", "heidi"]
    [mention] = await until(lambda: sink.to("erin@demo.valueloop.dev"), "erin's mention mail")
    assert mention["Subject"] == f"frank mentioned you on {claim}"  # who, and a link to the claim's own page
    assert "> @erin which taxi?" in mention.get_content()
    assert f"/requests/expense-claims/{claim}" in mention.get_content()
    # each webhook: one delivery per mention, signed; the flaky one after two failures, each delivered once
    mentions = await until(lambda: len(rec.on("/all")) >= 4 and [p for p in rec.on("/all")
                                                                 if p["event"] == "mention"], "mentions posted")
    assert sorted(u for p in mentions for u in p["body"]["users"]) == ["erin", "grace", "heidi"]
    flaky = await until(lambda: len(rec.on("/flaky")) >= 3 and rec.on("/flaky"), "flaky receiver's deliveries",
                        seconds=60)
    assert all(p["signed"] for p in rec.posts)
    await asyncio.sleep(1.5)  # nothing more comes
    assert len(rec.on("/flaky")) == 3 and len({p["delivery"] for p in flaky}) == 3
    assert len([p for p in rec.posts if p["path"] == "/flaky" and p["status"] == 500]) == 2

    # grace reads it tomorrow, heidi never, nobody else was mailed
    assert sink.to("grace@demo.valueloop.dev") == [] and sink.to("heidi@demo.valueloop.dev") == []
    assert sorted(m["To"] for m in sink.messages) == ["erin@demo.valueloop.dev", "frank@demo.valueloop.dev"]
    with st.db.read() as s:
        rows = s.execute(select(NotificationDelivery.channel, NotificationDelivery.target,
                                NotificationDelivery.status, NotificationDelivery.attempts)).all()
    assert ("digest", "grace", "pending", 0) in rows
    assert ("email", "heidi", "skipped", 0) in rows
    retried = [r for r in rows if r.channel == "webhook" and r.attempts > 1]
    assert retried and all(r.status == "delivered" for r in rows if r.channel == "webhook")

    # the comment is on the document's timeline; someone who may not see the claim can neither read nor comment
    r = await st.as_("erin", "GET", "/api/comments", params={"document": claim})
    assert [c["author"] for c in r.json()] == ["frank"]
    assert (await st.as_("alice", "GET", "/api/comments", params={"document": claim})).status_code == 404
    r = await st.as_("alice", "POST", "/api/comments", json={"document": claim, "text": "hi"})
    assert r.status_code == 404


async def test_webhook_registration_is_checked(notified: Notified) -> None:
    st = notified.stack
    for bad, word in (({"url": "ftp://example.com/x", "events": ["mention"], "secret": SECRET}, "http"),
                      ({"url": "javascript:alert(1)", "events": ["mention"], "secret": SECRET}, "http"),
                      ({"url": "https://example.com/x", "events": ["nope"], "secret": SECRET}, "nope"),
                      ({"url": "https://example.com/x", "events": ["mention"], "secret": "short"}, "16")):
        r = await st.as_("admin", "POST", "/api/webhooks", json=bad)
        assert r.status_code == 422 and word in r.json()["detail"], r.text
    r = await st.as_("erin", "POST", "/api/webhooks", json={"url": "https://example.com/x", "events": ["mention"],
                                                           "secret": SECRET})
    assert r.status_code == 403
    assert (await st.as_("admin", "GET", "/api/webhooks")).json() == []
    r = await st.as_("admin", "POST", "/api/webhooks", json={"url": "https://example.com/x", "events": ["mention"],
                                                            "secret": SECRET})
    hook = r.json()["id"]
    assert (await st.as_("admin", "DELETE", f"/api/webhooks/{hook}")).status_code == 204
    assert (await st.as_("admin", "DELETE", f"/api/webhooks/{hook}")).status_code == 404
    assert (await st.as_("admin", "GET", "/api/webhooks")).json() == []
