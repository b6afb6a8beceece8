"""Issue 19's holes found by attacking it (helper H8): each test failed before its fix."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from domain.core.db import Database
from domain.core.errors import Invalid
from domain.notifications.services import EventView, WebhookIn, check_webhook


def test_a_title_with_a_line_break_still_makes_a_mail_that_can_be_sent() -> None:
    """A form's text value (a business trip's destination) with a line break is in the request's title, so in its
    tasks' and its decision's mail subjects: the subject was refused by the mail library (ValueError, not an SMTP
    error), and the Notify activity was retried without end, never delivered."""
    from domain.notifications.mail import render, render_digest

    e = EventView(id=1, event="task.assigned", document="FR-00001", title="Trip FR-00001 by erin: Paris\r\nBcc: x",
                  detail="line one\nline two", link="/tasks/t-1", created_at=datetime(2026, 12, 6, tzinfo=UTC))
    for event in ("task.assigned", "request.decided", "copied", "something new"):
        subject, body = render("en", "Frank", e.model_copy(update={"event": event}))
        assert "\n" not in subject and "\r" not in subject
        msg = EmailMessage()
        msg["Subject"] = subject  # raised ValueError before
        msg.set_content(body)
        assert "line one\nline two" in body  # the body keeps its lines
    subject, body = render_digest("en", "Frank", [e])
    assert "Paris Bcc: x" in body


def test_a_webhook_url_is_refused_with_credentials_spaces_or_a_bad_port_never_a_500() -> None:
    """user:password@ in the URL was stored and shown back by GET /api/webhooks (and the audit); an unclosed IPv6
    address raised ValueError (a 500); a line break or a port out of range was stored and could never be posted."""
    ok = WebhookIn(url="http://127.0.0.1:8080/hook", events=["mention"], secret="x" * 16)
    check_webhook(ok)
    for url in ("https://user:pass@example.com/hook", "https://token@example.com/hook", "http://[::1/hook",
                "http://example.com/a\r\nb", "http://exa mple.com/", "http://example.com:99999/",
                "http://example.com:x/", "http://example.com/\x7f"):
        with pytest.raises(Invalid) as e:
            check_webhook(ok.model_copy(update={"url": url}))
        assert "user:pass@" not in e.value.message and "token@" not in e.value.message


def test_a_mention_storm_is_refused_and_tells_nobody(db: Database) -> None:
    """A comment @-mentioning hundreds of names sent one mail each (and read each one's access): at most 20."""
    from domain.comments import services as comments
    from domain.comments.tables import Comment
    from domain.notifications.tables import NotificationEvent

    text = " ".join(f"@user{i}" for i in range(300))
    with pytest.raises(Invalid) as e, db.write() as s:
        comments.add(s, "erin", {"employee"}, "draft:erin", text)
    assert "at most 20" in e.value.message
    with db.read() as s:
        assert s.execute(select(Comment)).first() is None
        assert s.execute(select(NotificationEvent)).first() is None


def test_every_webhook_body_the_api_takes_is_judged_by_the_domain_not_a_500() -> None:
    """The API took up to 20 events, the domain's model 7: 8 to 20 events (an unknown one, or a duplicate) raised
    a pydantic ValidationError inside the handler, a 500 (found by schemathesis on POST /api/webhooks)."""
    from api.routes.notifications import WebhookIn as WebhookBody

    for events, ok in ((["mention"] * 20, True), (["mention", "x"] * 10, False)):
        body = WebhookBody(url="http://127.0.0.1:9/hook", events=events, secret="s" * 16)
        w = WebhookIn(url=body.url, events=body.events, secret=body.secret)
        if ok:
            check_webhook(w)
        else:
            with pytest.raises(Invalid):
                check_webhook(w)


async def test_a_mail_that_cannot_be_written_is_skipped_and_holds_back_no_other_digest(db: Database) -> None:
    """An address with a line break (admin typed it so) made a mail the library refuses (ValueError): the e-mail
    activity was retried without end; in the daily digest, that one reader stopped every reader after them, every
    day. A reader whose server refuses held the others back the same way."""
    import aiosmtplib
    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from activities.notify import NotifyActivities
    from domain.notifications import services as notifications
    from domain.notifications.tables import NotificationDelivery
    from domain.org.tables import User
    from settings import Settings

    with db.write() as s:
        for name, email in (("alice", "alice@example.com\r\nBcc: everyone@example.com"),
                            ("bob", "bob@refused.example"), ("carol", "carol@example.com"),
                            ("dave", "dave@example.com\nX: y")):
            s.execute(select(User).where(User.username == name)).scalar_one().email = email
        for name in ("alice", "bob", "carol"):
            notifications.set_mode(s, name, "digest")
        notifications.emit(s, "mention", key="m-1", users=["alice", "bob", "carol", "dave"], document="EC-00001",
                           title="a mention")
        [event_id] = notifications.undispatched(s)
    acts = NotifyActivities(db, Settings(secret_key="x" * 32, smtp_host="mail.example"))
    sent: list[str] = []

    async def send(msg: EmailMessage) -> None:
        if "refused" in msg["To"]:
            raise aiosmtplib.SMTPRecipientsRefused([])
        sent.append(msg["To"])
    acts._send_mail = send  # type: ignore[method-assign]
    env = ActivityEnvironment()
    plan = env.run(acts.plan_deliveries, event_id)
    assert [await env.run(acts.send_email, d) for d in plan.emails] == ["skipped"]  # dave's, not retried
    with pytest.raises(ApplicationError) as e:
        await env.run(acts.send_digests)
    assert "bob@refused.example" in str(e.value)
    assert sent == ["carol@example.com"]  # carol's digest went although alice's and bob's did not
    with db.read() as s:
        rows = {d.target: (d.status, d.last_error[:30]) for d in s.execute(select(NotificationDelivery)).scalars()}
    assert rows["alice"][0] == "skipped" and rows["dave"][0] == "skipped" and rows["carol"][0] == "delivered"
    assert rows["bob"][0] in ("pending", "failed")


def test_a_request_title_is_one_line_of_at_most_300_characters() -> None:
    """A trip's destination (a text value of up to 2,000 characters, several lines) went whole into the request's
    title, so into its tasks' and process's titles (columns of 300: PostgreSQL refuses the row, and the task never
    opens) and the mails' subjects."""
    from domain.forms.request_rules import title_of

    title = title_of("Business trip", "FR-00001", "erin", {"destination": "Lyon\n" + "x" * 1995, "advance": "100"})
    assert len(title) <= 300 and "\n" not in title
    assert title.startswith("Business trip FR-00001 by erin: Lyon xxx") and title.endswith("\u2026, 100.00")
    assert title_of("Leave request", "FR-00002", "erin", {"days": "5"}) == "Leave request FR-00002 by erin: 5 days"
