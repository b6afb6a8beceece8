"""The notifications outbox: one event per key (a retried activity emits nothing new), the approval engine's
tasks tell their holder when they open and when they are reminded, escalated or urged."""

from __future__ import annotations

from sqlalchemy import select

from domain.approvals import services as approvals
from domain.approvals.rules import ChainStep, TaskChange, TaskSpec
from domain.core.db import Database
from domain.notifications import services as notifications
from domain.notifications.tables import NotificationEvent


def _events(db: Database) -> list[NotificationEvent]:
    with db.read() as s:
        return list(s.execute(select(NotificationEvent).order_by(NotificationEvent.id)).scalars())


def test_emit_once_per_key(fresh_db: Database) -> None:
    for _ in range(2):
        with fresh_db.write() as s:
            notifications.emit(s, "mention", key="comment-1-erin", users=["erin", "erin", ""], document="EC-00001",
                               title="a comment", link="/expenses/EC-00001")
    [e] = _events(fresh_db)
    assert (e.event, e.users, e.roles, e.document, e.dispatched_at) == ("mention", ["erin"], [], "EC-00001", None)


def test_a_task_tells_its_holder_when_it_opens_and_when_reminded_escalated_or_urged(fresh_db: Database) -> None:
    spec = TaskSpec(task_id="t-1", workflow_id="wf", process_id="p", process_type="expense_claim",
                    title="Approve EC-00001", business_key="EC-00001", requester="erin",
                    step=ChainStep(index=1, label="manager", candidate_user="frank"))
    for _ in range(2):  # a retried activity
        with fresh_db.write() as s:
            approvals.open_task(s, spec)
            approvals.apply_change(s, TaskChange(task_id="t-1", event="reminded", seq=1))
            approvals.apply_change(s, TaskChange(task_id="t-1", event="escalated", seq=2, candidate_role="cfo"))
            approvals.apply_change(s, TaskChange(task_id="t-1", event="claimed", seq=3, assignee="carol"))
            approvals.apply_change(s, TaskChange(task_id="t-1", event="urged", seq=4, actor="erin"))
            approvals.apply_change(s, TaskChange(task_id="t-1", event="copied", seq=5, notify=["grace"]))
            approvals.apply_change(s, TaskChange(task_id="t-1", event="something new", seq=6))
    told = [(e.event, e.users, e.roles, e.exclude, e.link) for e in _events(fresh_db)]
    assert told == [
        ("task.assigned", ["frank"], [], ["erin"], "/tasks/t-1"),
        ("task.reminder", ["frank"], [], ["erin"], "/tasks/t-1"),
        ("task.escalated", [], ["cfo"], ["erin"], "/tasks/t-1"),
        ("task.urged", ["carol"], [], ["erin"], "/tasks/t-1"),
        ("copied", ["grace"], [], ["erin"], "/tasks/t-1"),
    ]


def test_mentions_are_usernames_after_an_at_sign_not_addresses() -> None:
    from domain.comments.services import mentions

    assert mentions("@erin which model? cc @grace, @erin again; mail erin@example.com or @heidi.") == [
        "erin", "grace", "heidi"]
    assert mentions("no one (a@b) and @ alone") == []
    assert mentions("@first.last-name and @under_score") == ["first.last-name", "under_score"]


def test_mails_are_in_the_readers_language() -> None:
    from datetime import UTC, datetime

    from domain.notifications.mail import render, render_digest
    from domain.notifications.services import EventView

    e = EventView(id=1, event="task.assigned", document="EC-00001", title="Approve EC-00001", detail="",
                  link="/tasks/t-1", created_at=datetime(2026, 12, 6, tzinfo=UTC))
    subject, body = render("zh_Hans", "Frank", e, "https://erp.example.com")
    assert subject == "新任务：Approve EC-00001"
    assert body.startswith("Frank，您好：") and "https://erp.example.com/tasks/t-1" in body
    subject, body = render("en", "Frank", e.model_copy(update={"event": "something new"}))
    assert subject == "Notification: Approve EC-00001" and "Open it: /tasks/t-1" in body
    subject, body = render_digest("en", "Grace", [e, e.model_copy(update={"event": "mention", "title": "tom"})])
    assert subject == "Your daily digest: 2 notifications" and "tom mentioned you on EC-00001" in body


def test_webhooks_are_checked() -> None:
    import pytest

    from domain.core.errors import Invalid
    from domain.notifications.services import WebhookIn, check_webhook, sign

    check_webhook(WebhookIn(url="https://example.com/hook", events=["mention"], secret="x" * 16))
    for url, events, secret in (("file:///etc/passwd", ["mention"], "x" * 16), ("http://", ["mention"], "x" * 16),
                                ("https://example.com", ["task.done"], "x" * 16),
                                ("https://example.com", ["mention"], "x" * 15)):
        with pytest.raises(Invalid):
            check_webhook(WebhookIn(url=url, events=events, secret=secret))
    assert sign("key", b"{}") == "sha256=" + "".join(
        __import__("hmac").new(b"key", b"{}", "sha256").hexdigest())


def test_recipients_by_their_choice(db: Database) -> None:
    from domain.notifications.tables import NotificationDelivery

    with db.write() as s:
        notifications.set_mode(s, "grace", "digest")
        notifications.set_mode(s, "heidi", "off")
        notifications.emit(s, "task.escalated", key="k", users=["grace"], roles=["cfo", "manager"],
                           exclude=["bob"])
        [event_id] = notifications.undispatched(s)
        plan = notifications.plan(s, event_id, email_on=True)
        again = notifications.plan(s, event_id, email_on=True)  # a retried activity: the same deliveries
        rows = {(d.channel, d.target, d.status) for d in s.execute(select(NotificationDelivery)).scalars()}
    assert plan == again and len(plan.emails) == 1
    assert rows == {("digest", "grace", "pending"), ("email", "heidi", "skipped"), ("email", "frank", "pending")}


def test_a_requester_is_told_of_a_task_named_to_them_not_of_one_for_their_role(db: Database) -> None:
    from domain.notifications.tables import NotificationDelivery

    with db.write() as s:
        notifications.emit(s, "task.assigned", key="a", users=["erin"], exclude=["erin"])  # resubmit: hers
        notifications.emit(s, "task.assigned", key="b", roles=["finance"], exclude=["grace"])  # grace's own claim
        first, second = notifications.undispatched(s)
        assert notifications.plan(s, first, email_on=True).emails
        assert not notifications.plan(s, second, email_on=True).emails
        assert s.execute(select(NotificationDelivery.target).where(NotificationDelivery.event_id == first)
                         ).scalars().all() == ["erin"]
