"""The pages of comments, notifications and webhooks over HTTP, without a browser: the comments timeline on a task
page (a mention tells who may see the document), the notification choice on /me, admin's /webhooks page (register,
refuse a URL that is not http(s), remove, the deliveries still not made after a day)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.core.types import utcnow
from domain.notifications import services as notifications
from domain.notifications.tables import NotificationDelivery, NotificationEvent
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, flash, text

pytestmark = pytest.mark.e2e

CLAIM = {"lines": [{"category": "travel", "amount": "120.00", "currency": "USD", "date": "2026-11-02",
                    "description": "Taxi"}]}


async def test_comments_on_a_task_page_tell_who_is_mentioned(stack: Stack) -> None:
    r = await stack.as_("erin", "POST", "/api/expense-claims", json=CLAIM)
    claim = r.json()["claim_id"]
    task = await stack.open_task("frank", claim)
    frank = await Browser(stack, "frank").start()
    page = await frank.get(f"/tasks/{task['id']}")
    assert page.status_code == 200 and "No comment yet." in text(page)
    assert f'<label for="comment-text-{claim}"' in page.text
    r = await frank.post("/comments", {"document": claim, "text": "@erin which taxi? @alice @ghost",
                                       "back": f"/tasks/{task['id']}"})
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task['id']}#comments"
    assert flash(r) == {"msg": "Comment posted; erin told."}  # alice may not see the claim, ghost is nobody
    page = await frank.get(f"/tasks/{task['id']}")
    assert "@erin which taxi?" in text(page) and "told: erin" in text(page)
    with stack.db.read() as s:
        [event] = s.execute(select(NotificationEvent).where(NotificationEvent.event == "mention")).scalars()
    assert (event.users, event.document) == (["erin"], claim)
    r = await frank.post("/comments", {"document": claim, "text": "   ", "back": "https://evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    assert flash(r)["error"].startswith("The comment was not posted: a comment needs some text")
    erin = await Browser(stack, "erin").start()
    page = await erin.get(f"/requests/expense-claims/{claim}")
    assert page.status_code == 200 and "@erin which taxi?" in text(page)
    r = await erin.post("/comments", {"document": claim, "text": "@frank the one to the fair",
                                      "back": f"/requests/expense-claims/{claim}"})
    assert r.headers["location"] == f"/requests/expense-claims/{claim}#comments"
    assert flash(r) == {"msg": "Comment posted; frank told."}
    alice = await Browser(stack, "alice").start()
    r = await alice.post("/comments", {"document": claim, "text": "hello", "back": "/inbox"})
    assert "not posted" in flash(r)["error"]


async def test_my_notification_choice(stack: Stack) -> None:
    grace = await Browser(stack, "grace").start()
    page = await grace.get("/me")
    assert '<label for="notify"' in page.text and '<option value="now" selected>' in page.text
    r = await grace.post("/me", {"locale": "", "time_zone": "", "notify": "digest"})
    assert r.status_code == 303
    assert '<option value="digest" selected>' in (await grace.get("/me")).text
    with stack.db.read() as s:
        assert notifications.mode_of(s, "grace") == "digest"
    r = await stack.as_("grace", "PUT", "/api/me/settings", json={"notify": "sometimes"})
    assert r.status_code == 422


async def test_admin_registers_and_removes_webhooks(stack: Stack) -> None:
    assert (await (await Browser(stack, "erin").start()).get("/webhooks")).status_code == 403
    admin = await Browser(stack, "admin").start()
    page = await admin.get("/webhooks")
    assert page.status_code == 200 and "No webhook is registered." in text(page)
    for field in ("url", "secret"):
        assert f'<label for="{field}"' in page.text
    bad = await admin.post("/webhooks", {"url": "ftp://example.com/x", "events": ["mention"],
                                         "secret": "0123456789abcdef"})
    assert bad.status_code == 422 and "http:// or https://" in text(bad) and 'value="ftp://example.com/x"' in bad.text
    r = await admin.post("/webhooks", {"url": "https://example.com/x", "events": ["mention", "task.assigned"],
                                       "secret": "0123456789abcdef"})
    assert r.status_code == 303 and flash(r)["msg"].startswith("Webhook ")
    page = await admin.get("/webhooks")
    assert "https://example.com/x" in text(page) and "mention, task.assigned" in text(page)
    with stack.db.write() as s:
        [hook] = notifications.webhooks(s)
        notifications.emit(s, "mention", key="old", users=["erin"], document="EC-00042", title="an old one")
        [event_id] = notifications.undispatched(s)
        s.add(NotificationDelivery(event_id=event_id, channel="webhook", target=str(hook.id), status="failed",
                                   attempts=17, last_error="HTTP 503", created_at=utcnow() - timedelta(days=2)))
    page = await admin.get("/webhooks")
    assert "Not delivered after a day" in text(page) and "HTTP 503" in text(page) and "EC-00042" in text(page)
    r = await admin.post(f"/webhooks/{hook.id}/delete")
    assert r.status_code == 303
    assert "No webhook is registered." in text(await admin.get("/webhooks"))
