"""PeriodClose + Approval on the time-skipping server, activities real against the database: the checks, the
cfo's approval, the lock; checks that fail end the close without asking the cfo; a rejection opens the period
again; a close run again after either runs under the same process id."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from api.platform import Platform
from api.starters import approval, period_close
from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.accounting.tables import Period
from domain.approvals.tables import Task
from domain.cash import close
from domain.cash.close_rules import CloseReport
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.core.types import utcnow
from domain.processes import ids
from domain.processes.tables import Process
from tests.helpers import actor, eventually, open_task_for


def last_month() -> str:
    today = utcnow().date()
    first = date(today.year, today.month, 1)
    return accounting.period_of(date.fromordinal(first.toordinal() - 1))


def status(db, period: str) -> str:
    with db.read() as s:
        return close.status_of(s, period)


async def test_checks_pass_the_cfo_approves_and_the_period_is_closed(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    period = last_month()
    started, view = await period_close.start(p, "grace", period)
    assert started and view["status"] == "closing"
    assert view["process_id"] == ids.period_close(period, p.id_prefix)
    assert CloseReport.model_validate(view["checks"]).passed
    again, same = await period_close.start(p, "grace", period)  # running: the same close, not a second
    assert not again and same["process_id"] == view["process_id"]
    task = await open_task_for(db, period)
    assert task.process_type == "period_close" and task.candidate_role == "cfo"
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "grace"), task.id, "approve", "")  # the requester; and not the cfo
    await approval.decide(p, actor(db, "heidi"), task.id, "approve", "checks are fine")
    await eventually(db, lambda s: close.status_of(s, period) == "closed")
    with db.read() as s:
        row = s.get(Period, period)
        assert row is not None and row.closed_by == "heidi"
        proc = s.get(Process, view["process_id"])
        assert proc is not None and (proc.status, proc.stage) == ("completed", "closed")
    assert await p.handle(view["process_id"]).result() == "closed"
    with pytest.raises(Conflict, match="already closed"):
        await period_close.start(p, "grace", period)
    last = accounting.parse_period(period)[1]
    with pytest.raises(Conflict, match="closed"), db.write() as s:
        ledger.post(s, accounting.entry("late", {accounting.BANK: Decimal(1)}, {accounting.REVENUE: Decimal(1)}),
                    "manual", "LATE", "late-1", on=last)


async def test_failing_checks_end_the_close_without_asking_the_cfo_and_a_fixed_period_closes_on_a_rerun(
        worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    period = last_month()
    first, _ = accounting.parse_period(period)
    with db.write() as s:  # revenue straight to receivables, no invoice behind it
        ledger.post(s, accounting.entry("stray", {accounting.RECEIVABLES: Decimal(70)},
                                        {accounting.REVENUE: Decimal(70)}), "manual", "X-1", "stray", on=first)
    started, view = await period_close.start(p, "grace", period)
    assert started and view["status"] == "open"
    report = CloseReport.model_validate(view["checks"])
    assert [c.key for c in report.failed] == ["subledger:1100"]
    assert await p.handle(view["process_id"]).result() == "checks_failed"
    with db.read() as s:
        assert s.execute(select(Task).where(Task.business_key == period)).first() is None  # the cfo was not asked
    with db.write() as s:
        ledger.post(s, accounting.entry("reversal", {accounting.REVENUE: Decimal(70)},
                                        {accounting.RECEIVABLES: Decimal(70)}), "manual", "X-1", "stray-rev", on=first)
    started, view = await period_close.start(p, "grace", period)
    assert started and view["status"] == "closing"
    task = await open_task_for(db, period)
    await approval.decide(p, actor(db, "heidi"), task.id, "approve", "")
    await eventually(db, lambda s: close.status_of(s, period) == "closed")


async def test_a_rejected_close_opens_the_period_again(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    period = last_month()
    _, view = await period_close.start(p, "grace", period)
    task = await open_task_for(db, period)
    await approval.decide(p, actor(db, "heidi"), task.id, "reject", "the stock count is not in yet")
    assert await p.handle(view["process_id"]).result() == "rejected"
    assert status(db, period) == "open"


async def test_a_month_not_ended_or_malformed_is_refused_before_anything_starts(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    with pytest.raises(Conflict, match="has not ended"):
        await period_close.start(p, "grace", accounting.period_of(date(2099, 1, 1)))
    with pytest.raises(Invalid):
        await period_close.start(p, "grace", "2026-1")
    with db.read() as s:
        assert s.execute(select(Process).where(Process.type == "period_close")).first() is None
