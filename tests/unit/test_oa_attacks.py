"""Issue 19's holes found by attacking it (helper H8): each test failed before its fix."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

from domain.notifications.services import EventView


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
