"""The approvals context's SQL tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.approvals.rules import TaskStatus
from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class ApprovalPolicyTier(Base):
    """For documents of `process_kind` whose amount is above `above_amount`, these steps apply
    (the tier with the highest threshold below the amount wins)."""

    __tablename__ = "approval_policy_tiers"
    __table_args__ = (UniqueConstraint("process_kind", "above_amount"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_kind: Mapped[str] = mapped_column(String(40), index=True)
    above_amount: Mapped[Decimal] = mapped_column(Amount)
    # [{"kind": "manager"|"role"|"user", "value": "finance", "sla_hours": 48}, ...]
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


UNCLAIMED = "assignee IS NULL AND candidate_user IS NULL"


class Task(Base):
    """A human task: a projection of what a workflow waits for, written only by activities."""

    __tablename__ = "tasks"
    __table_args__ = (
        # The inbox walks one index per part of a view, in the order asked for, and stops at the page: a role's
        # unclaimed tasks (partial indexes over the tasks nobody has claimed or been named for, so that the role
        # is the last equality before the order: PostgreSQL does not count `IS NULL` as one) by due, priority or
        # creation; the tasks named to a user, and those claimed by one (user first: also the monitor's "tasks I
        # had" of any status). The requester is in each, so "not my own request" is checked without the row.
        Index("ix_tasks_unclaimed_due", "status", "candidate_role", "due_at", "requester",
              sqlite_where=text(UNCLAIMED), postgresql_where=text(UNCLAIMED)),
        Index("ix_tasks_unclaimed_priority", "status", "candidate_role", "priority", "due_at", "requester",
              sqlite_where=text(UNCLAIMED), postgresql_where=text(UNCLAIMED)),
        Index("ix_tasks_unclaimed_created", "status", "candidate_role", "created_at", "requester",
              sqlite_where=text(UNCLAIMED), postgresql_where=text(UNCLAIMED)),
        Index("ix_tasks_open_role", "status", "candidate_role", "candidate_user", "assignee"),
        Index("ix_tasks_open_user_due", "candidate_user", "status", "assignee", "due_at", "requester"),
        Index("ix_tasks_open_assignee_due", "assignee", "status", "due_at", "requester"),
        Index("ix_tasks_status_due", "status", "due_at"),
        Index("ix_tasks_decided_by", "decided_by"),
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    process_type: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))  # approval | alert
    title: Mapped[str] = mapped_column(String(300))
    business_key: Mapped[str] = mapped_column(String(60), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    requester: Mapped[str] = mapped_column(String(60), default="")
    step: Mapped[int] = mapped_column(default=0)
    step_label: Mapped[str] = mapped_column(String(120), default="")
    candidate_role: Mapped[str | None] = mapped_column(String(40), nullable=True)
    candidate_user: Mapped[str | None] = mapped_column(String(60), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(60), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.OPEN)  # a TaskStatus
    priority: Mapped[int] = mapped_column(default=50)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    comment: Mapped[str] = mapped_column(String(2000), default="")
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TaskEvent(Base):
    """What happened to a task, in order: created, claimed, reassigned, reminded, escalated, decided."""

    __tablename__ = "task_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(60), default="system")
    detail: Mapped[str] = mapped_column(String(500), default="")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApprovalDecision(Base):
    """The approval trail of a business document."""

    __tablename__ = "approval_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    business_key: Mapped[str] = mapped_column(String(60), index=True)
    task_id: Mapped[str] = mapped_column(String(64))
    step: Mapped[int] = mapped_column()
    role: Mapped[str] = mapped_column(String(60))
    decided_by: Mapped[str] = mapped_column(String(60))
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(String(2000), default="")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApprovalCopy(Base):
    """抄送: `username` was copied on the approval of process `process_id` by `by`: they may read its document."""

    __tablename__ = "approval_copies"
    __table_args__ = (UniqueConstraint("process_id", "username"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    username: Mapped[str] = mapped_column(String(60), index=True)
    by: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutOfOffice(Base):
    """A user's absence: from `starts_on` to `ends_on` (both included) the tasks named to them go to `deputy`."""

    __tablename__ = "out_of_office"
    __table_args__ = (Index("ix_out_of_office_user_dates", "username", "starts_on", "ends_on"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    deputy: Mapped[str] = mapped_column(String(60))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedFilter(Base):
    """A list filter a user named and kept: `page` is the list (inbox, processes), `query` its URL query string."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("username", "page", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    page: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
