"""Month-end close in SQL: its checks over a period, the period's row through the close (closing, closed, open
again), the cfo's reopening, and the list of periods. The rules are in domain/cash/close_rules.py; the process
is workflows/period_close.py; the lock itself is domain.accounting.ledger.post (a posting dated in a closed
period is refused, whatever posts it).

The sub-ledgers keep no history, so the sub-ledger checks compare both sides now: every effect keeps a control
account equal to its sub-ledger in one transaction, so equal now is equal at the period's end too; what is
checked as of the period's last day is the trial balance and what is dated in the period."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting.rules import PeriodStatus, parse_period
from domain.accounting.tables import Period
from domain.cash import services
from domain.cash.close_rules import (
    Check,
    CloseEnd,
    CloseReport,
    Unposted,
    check_may_close,
    check_may_reopen,
    check_reason,
    last_day,
    summary,
)
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice
from domain.core.types import utcnow
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus
from domain.processes.tables import Process, ProcessStep

PROCESS_TYPE = "period_close"
KIND_NAMES = {InvoiceKind.CUSTOMER: "customer invoice awaiting approval",
              InvoiceKind.SUPPLIER: "supplier bill awaiting approval"}


# --- the checks -----------------------------------------------------------------------------------------

def unposted_invoices(session: Session, first: date, last: date) -> list[Unposted]:
    """Invoices and bills dated in [first, last] recorded but not yet posted (awaiting their approval)."""
    rows = session.execute(select(Invoice).where(Invoice.status == InvoiceStatus.PENDING_APPROVAL,
                                                 Invoice.issued_on >= first, Invoice.issued_on <= last)
                           .order_by(Invoice.issued_on, Invoice.number)).scalars()
    return [Unposted(kind=KIND_NAMES.get(InvoiceKind(r.kind), "invoice awaiting approval"), number=r.number,
                     on=r.issued_on, amount=r.total, currency=r.currency) for r in rows]


def run_checks(session: Session, period: str, *, more_unposted: Iterable[Unposted] = ()) -> CloseReport:
    """The close's checks over `period` (see close_rules). `more_unposted`: documents of the contexts above cash
    (deliveries not yet invoiced: domain/sales/month_end.py adds them)."""
    first, last = parse_period(period)
    unposted = sorted([*unposted_invoices(session, first, last), *more_unposted], key=lambda u: (u.on, u.number))
    checks = [Check(key="unposted", name="Nothing unposted dated in the period", passed=not unposted,
                    detail=(f"{len(unposted)} document(s) dated {first.isoformat()} to {last.isoformat()} are "
                            "recorded but not posted" if unposted else "every document dated in it is posted"),
                    items=unposted)]
    today = utcnow().date()
    for row in services.reconcile(session).rows:  # the books as they stand when the checks run, not at month end
        diff = row["difference"]
        checks.append(Check(key=f"subledger:{row['account']}", name=row["name"], passed=diff == 0,
                            detail=f"balances on {today.isoformat()}, when the checks ran" if diff == 0 else
                            f"on {today.isoformat()} the control account differs from its sub-ledger by {diff:,.2f}",
                            account=row["account"], control=row["control"], subledger=row["subledger"],
                            difference=diff))
    tb = ledger.trial_balance(session, as_of=last)
    debit, credit = Decimal(str(tb["debit_total"])), Decimal(str(tb["credit_total"]))
    checks.append(Check(key="trial_balance", name=f"Trial balance to {last.isoformat()} even", passed=debit == credit,
                        detail=f"debits {debit:,.2f}, credits {credit:,.2f}", control=debit, subledger=credit,
                        difference=debit - credit))
    return CloseReport(period=period, ran_at=utcnow(), checks=checks)


# --- the period through its close -----------------------------------------------------------------------

def lock_row(session: Session, period: str) -> Period:
    """The period's row, locked (created open if it has none)."""
    parse_period(period)
    row = session.execute(select(Period).where(Period.period == period).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        row = Period(period=period, status=PeriodStatus.OPEN, reopen_reason="")
        session.add(row)
        session.flush()
    return row


def begin(session: Session, period: str, process_id: str, requested_by: str, report: CloseReport,
          today: date) -> CloseReport:
    """A close starts: the period's row takes its checks; closing while they pass (the cfo is asked), open when
    one fails (the close ends there). The process row is (re)started: a close run again after a failed or rejected
    one runs under the same id, and the monitor shows this run. Conflict when the period was closed meanwhile."""
    row = lock_row(session, period)
    check_may_close(period, row.status, today)
    row.checks, row.process_id = report.model_dump(mode="json"), process_id
    row.status = PeriodStatus.CLOSING if report.passed else PeriodStatus.OPEN
    proc = session.get(Process, process_id)
    if proc is not None and proc.status != ProcessStatus.RUNNING:
        for step in session.execute(select(ProcessStep).where(ProcessStep.process_id == process_id)).scalars():
            session.delete(step)
        session.flush()
        session.expire(proc)
        proc.status, proc.closed_at, proc.started_at, proc.owner = ProcessStatus.RUNNING, None, utcnow(), requested_by
        session.flush()
    processes.start(session, process_id, PROCESS_TYPE, period, title=f"Month-end close {period}", owner=requested_by,
                    first_step="checks")
    if report.passed:  # the cfo's approval step follows (its task opens it)
        processes.advance(session, process_id, "checks", detail=summary(report))
    else:
        processes.advance(session, process_id, CloseEnd.CHECKS_FAILED, detail=summary(report)[:300],
                          status=ProcessStatus.COMPLETED, close=True)
    session.flush()
    return report


def finish(session: Session, period: str, process_id: str, by: str, report: CloseReport) -> CloseEnd:
    """The cfo approved: the period is closed, unless the checks (run again now, under the period's lock) fail
    this time (something was recorded meanwhile): then it is open again with the new report. Idempotent."""
    row = lock_row(session, period)
    if row.status == PeriodStatus.CLOSED and row.process_id == process_id:
        return CloseEnd.CLOSED  # a retry
    row.checks, row.process_id = report.model_dump(mode="json"), process_id
    if not report.passed:
        row.status = PeriodStatus.OPEN
        processes.advance(session, process_id, CloseEnd.CHECKS_FAILED, detail=summary(report)[:300],
                          status=ProcessStatus.COMPLETED, close=True)
        return CloseEnd.CHECKS_FAILED
    row.status, row.closed_by, row.closed_at = PeriodStatus.CLOSED, by, utcnow()
    processes.advance(session, process_id, CloseEnd.CLOSED, detail=f"approved by {by}", status=ProcessStatus.COMPLETED,
                      close=True)
    session.flush()
    return CloseEnd.CLOSED


def rejected(session: Session, period: str, process_id: str, by: str, comment: str) -> None:
    """The cfo rejected the close: the period is open again (it was this close's, closing)."""
    row = lock_row(session, period)
    if row.process_id == process_id and row.status == PeriodStatus.CLOSING:
        row.status = PeriodStatus.OPEN
    processes.advance(session, process_id, CloseEnd.REJECTED, detail=f"rejected by {by}: {comment}"[:300],
                      status=ProcessStatus.COMPLETED, close=True)
    session.flush()


def reopen(session: Session, period: str, by: str, reason: str) -> dict[str, Any]:
    """The cfo opens a closed period again, saying why: recorded on the period (who, why)."""
    text = check_reason(reason)
    row = lock_row(session, period)
    check_may_reopen(period, row.status)
    row.status, row.reopened_by, row.reopen_reason = PeriodStatus.OPEN, by, text
    session.flush()
    return view(row)


# --- reading ---------------------------------------------------------------------------------------------

def view(row: Period | None, period: str | None = None) -> dict[str, Any]:
    if row is None:
        assert period is not None
        return {"period": period, "status": PeriodStatus.OPEN, "closed_by": None, "closed_at": None,
                "process_id": None, "checks": None, "reopened_by": None, "reopen_reason": ""}
    return {"period": row.period, "status": row.status, "closed_by": row.closed_by, "closed_at": row.closed_at,
            "process_id": row.process_id, "checks": row.checks, "reopened_by": row.reopened_by,
            "reopen_reason": row.reopen_reason, "updated_at": row.updated_at}


def get(session: Session, period: str) -> dict[str, Any]:
    parse_period(period)
    return view(session.get(Period, period), period)


def status_of(session: Session, period: str) -> str:
    row = session.get(Period, period)
    return row.status if row is not None else PeriodStatus.OPEN


def months_back(today: date, n: int) -> list[str]:
    """The `n` periods up to and including today's, newest first."""
    out, y, m = [], today.year, today.month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def listing(session: Session, today: date, months: int = 12) -> list[dict[str, Any]]:
    """The last `months` periods (today's first) and any older one with a row, newest first; each says whether
    it may be closed now (it has ended and is not closed)."""
    rows = {r.period: r for r in session.execute(select(Period)).scalars()}
    names = sorted(set(months_back(today, months)) | set(rows), reverse=True)
    out = []
    for name in names:
        v = view(rows.get(name), name)
        v["ended"] = last_day(name) <= today
        v["may_close"] = v["ended"] and v["status"] == PeriodStatus.OPEN
        out.append(v)
    return out


def task_context(session: Session, task: Any) -> dict[str, Any] | None:
    """What the cfo's task shows (domain/sales/approval_context.py): the period and the checks of this close."""
    row = session.get(Period, task.business_key)
    if row is None or not row.checks:
        return None
    report = CloseReport.model_validate(row.checks)
    return {"kind": PROCESS_TYPE, "period": row.period, "status": row.status, "passed": report.passed,
            "ran_at": report.ran_at, "checks": [c.model_dump() for c in report.checks]}
