"""What the mails say (issue 19, the end-to-end walk): a mention names its author, quotes the comment and links the
document's page; a decided request says approved or rejected in the reader's language, its effect after; a task
routed to a deputy says whom they stand in for; titles show money as money and a leave's days as days."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from domain.approvals import services as approvals
from domain.approvals.rules import ChainStep, TaskChange, TaskSpec
from domain.comments import services as comments
from domain.core.db import Database
from domain.forms.request_rules import title_of
from domain.notifications.mail import render, render_digest
from domain.notifications.services import EventView, mark_dispatched
from domain.notifications.tables import NotificationEvent
from domain.processes.tables import Process


def _event(event: str, title: str, detail: str = "", document: str = "FR-00001", link: str = "") -> EventView:
    return EventView(id=1, event=event, document=document, title=title, detail=detail, link=link,
                     created_at=datetime(2026, 12, 6, tzinfo=UTC))


def test_a_mention_names_its_author_and_quotes_the_comment() -> None:
    text = "@frank please check the quote\n\n" + "x" * 600
    e = _event("mention", "tom", text, link="/requests/FR-00001")
    subject, body = render("en", "Frank", e, "https://erp.example.com")
    assert subject == "tom mentioned you on FR-00001"
    assert "> @frank please check the quote" in body and "x" * 300 in body and "x" * 500 not in body
    assert "Open it: https://erp.example.com/requests/FR-00001" in body
    subject, body = render("zh_Hans", "Frank", e)
    assert subject == "tom 在 FR-00001 中提到了您" and "> @frank please check the quote" in body
    # an event written before (title "tom on FR-00001") says the same
    assert render("en", "Frank", _event("mention", "tom on FR-00001", text))[0] == "tom mentioned you on FR-00001"
    assert "tom mentioned you on FR-00001" in render_digest("en", "Frank", [e])[1]


def test_a_decided_request_says_approved_or_rejected_then_its_effect() -> None:
    effect = "5 day(s) of leave taken, 10 left; out of office 2026-12-07 to 2026-12-11, deputy frank"
    e = _event("request.decided", "Leave request FR-00001 by erin: 5 days: approved", effect, link="/requests/FR-00001")
    subject, body = render("en", "Erin", e)
    assert subject == "Your request FR-00001 was approved"
    lines = body.splitlines()
    assert lines[2] == subject and body.index(subject) < body.index(effect)
    subject, body = render("zh_Hans", "Erin", e.model_copy(update={"title": "Leave request FR-00001: rejected"}))
    assert subject == "您的申请 FR-00001 已被驳回" and body.splitlines()[2] == subject
    assert render("zh_Hans", "Erin", e)[0] == "您的申请 FR-00001 已获批准"
    assert render("en", "Erin", _event("request.decided", "FR-00001"))[0] == "Your request FR-00001 was decided"


def test_titles_show_money_as_money_and_days_as_days() -> None:
    assert title_of("Leave request", "FR-00002", "erin", {"days": "5"}, {"days": "number"}) == \
        "Leave request FR-00002 by erin: 5 days"
    assert title_of("Leave request", "FR-00002", "erin", {"days": "1"}).endswith(": 1 day")
    assert title_of("Leave request", "FR-00002", "erin", {"days": "0.5"}).endswith(": 0.5 days")
    assert title_of("Purchase", "FR-00003", "erin", {"amount": "6000"}, {"amount": "money"}) == \
        "Purchase FR-00003 by erin: 6,000.00"
    assert title_of("Purchase", "FR-00003", "erin", {"amount": "6000", "currency": "EUR"}).endswith(
        ": 6,000.00 EUR")
    assert title_of("Trip", "FR-00004", "erin", {"destination": "Lyon", "advance": "1200.5"}).endswith(
        ": Lyon, 1,200.50")


def _routed_task(db: Database, task_id: str, *, dispatched: bool) -> list[NotificationEvent]:
    spec = TaskSpec(task_id=task_id, workflow_id="wf", process_id="p", process_type="form_request",
                    title="Leave request FR-00001 by erin: 5 days", business_key="FR-00001", requester="erin",
                    step=ChainStep(index=1, label="manager", candidate_user="grace"))
    reason = "frank is out of office until 2026-12-11: routed to deputy grace"
    with db.write() as s:
        approvals.open_task(s, spec)
        if dispatched:
            mark_dispatched(s, [e.id for e in s.execute(select(NotificationEvent)).scalars()])
    for _ in range(2):  # a retried activity
        with db.write() as s:
            approvals.apply_change(s, TaskChange(task_id=task_id, event="routed to deputy", seq=1, detail=reason))
    with db.read() as s:
        return list(s.execute(select(NotificationEvent).where(NotificationEvent.link == f"/tasks/{task_id}")
                              .order_by(NotificationEvent.id)).scalars())


def test_a_task_routed_to_a_deputy_says_whom_they_stand_in_for(fresh_db: Database) -> None:
    [e] = _routed_task(fresh_db, "t-1", dispatched=False)  # not sent yet: the one mail says it
    assert (e.event, e.users) == ("task.assigned", ["grace"]) and e.detail.startswith("standing in for frank: ")
    first, again = _routed_task(fresh_db, "t-2", dispatched=True)  # sent already: a second one says it
    assert first.detail == "" and (again.event, again.users) == ("task.assigned", ["grace"])
    assert again.detail.startswith("standing in for frank")
    view = EventView(id=e.id, event=e.event, document=e.document, title=e.title, detail=e.detail, link=e.link,
                     created_at=datetime(2026, 12, 6, tzinfo=UTC))
    subject, body = render("en", "Grace", view)
    assert subject == "New task: Leave request FR-00001 by erin: 5 days, standing in for frank"
    assert "frank is out of office until 2026-12-11" in body
    subject, _body = render("zh_Hans", "Grace", view)
    assert subject == "新任务：Leave request FR-00001 by erin: 5 days（代 frank 处理）"


def test_a_mention_links_the_documents_page(fresh_db: Database) -> None:
    pages = {"FR-00001": ("form_request", "/requests/FR-00001"),
             "EC-00001": ("expense_claim", "/requests/expense-claims/EC-00001"),
             "SO-00001": ("sales_order", "/sales-orders/SO-00001"),
             "INV-00001": ("customer_invoice", "/invoices/INV-00001"),
             "BILL-00001": ("supplier_invoice", "/bills/BILL-00001"),
             "PR-00001": ("purchase", "/processes/purchase-PR-00001")}
    with fresh_db.write() as s:
        for key, (kind, _page) in pages.items():
            s.add(Process(process_id=f"{kind.replace('_', '-')}-{key}" if kind != "purchase" else f"purchase-{key}",
                          type=kind, business_key=key))
        s.flush()
        for key, (_kind, page) in pages.items():
            assert comments.page_of(s, key) == page, key
        assert comments.page_of(s, "XX-1") == ""
