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
