"""The managers' dashboard figures: processes started and completed per day, cycle time per process type
(p50/p95), SLA breaches of approval tasks, open tasks per candidate role and margin per customer. One read per
figure; plain SELECTs that run the same on SQLite and PostgreSQL (days and percentiles are worked out here,
not with dialect-specific SQL)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from domain.approvals.rules import TaskStatus
from domain.approvals.tables import Task
from domain.parties.tables import Customer
from domain.processes.rules import ProcessStatus
from domain.processes.tables import Process
from domain.sales.rules import SalesOrderStatus
from domain.sales.tables import SalesOrder

DAYS = 30


@dataclass(frozen=True)
class DayCount:
    day: date
    started: int
    completed: int


@dataclass(frozen=True)
class CycleTime:
    type: str
    completed: int
    p50_hours: float
    p95_hours: float


@dataclass(frozen=True)
class Breaches:
    key: str  # a day (ISO) or a process type
    late: int  # decided after it was due
    overdue: int  # still open past its due time


@dataclass(frozen=True)
class RoleLoad:
    role: str
    open: int
    overdue: int


@dataclass(frozen=True)
class CustomerMargin:
    customer: str
    orders: int
    revenue: Decimal
    margin: Decimal

    @property
    def margin_pct(self) -> float | None:
        return None if not self.revenue else float(self.margin / self.revenue * 100)


def days(now: datetime, n: int = DAYS) -> list[date]:
    """The last n days up to today (UTC), oldest first."""
    today = now.date()
    return [today - timedelta(days=n - 1 - i) for i in range(n)]


def processes_per_day(s: Session, now: datetime, n: int = DAYS) -> list[DayCount]:
    """Processes started, and processes completed (status completed), on each of the last n days."""
    window = days(now, n)
    since = datetime.combine(window[0], datetime.min.time(), tzinfo=now.tzinfo)
    started = Counter(t.date() for t in s.execute(
        select(Process.started_at).where(Process.started_at >= since)).scalars())
    completed = Counter(t.date() for t in s.execute(
        select(Process.closed_at).where(Process.status == ProcessStatus.COMPLETED,
                                        Process.closed_at >= since)).scalars()
        if t is not None)
    return [DayCount(d, started[d], completed[d]) for d in window]


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def cycle_times(s: Session, now: datetime, n: int = DAYS) -> list[CycleTime]:
    """Hours from start to close of the processes completed in the last n days, p50 and p95 per type, the
    slowest type first."""
    since = now - timedelta(days=n)
    hours: dict[str, list[float]] = defaultdict(list)
    for type_, start, end in s.execute(select(Process.type, Process.started_at, Process.closed_at).where(
            Process.status == ProcessStatus.COMPLETED, Process.closed_at.is_not(None), Process.closed_at >= since)):
        if end is not None:
            hours[type_].append(max((end - start).total_seconds(), 0.0) / 3600)
    out = [CycleTime(t, len(v), percentile(v, 50), percentile(v, 95)) for t, v in hours.items()]
    return sorted(out, key=lambda c: (-c.p95_hours, c.type))


def sla_breaches(s: Session, now: datetime, n: int = DAYS) -> tuple[list[Breaches], list[Breaches]]:
    """Tasks due in the last n days (or open and overdue, whenever due) that missed their due time: those
    decided late and those still open past it, per due day (every day of the window) and per process type
    (those with any breach, the most first)."""
    window = days(now, n)
    since = datetime.combine(window[0], datetime.min.time(), tzinfo=now.tzinfo)
    rows = s.execute(select(Task.process_type, Task.status, Task.due_at, Task.closed_at).where(
        Task.due_at.is_not(None), Task.status != TaskStatus.CANCELLED,
        or_(and_(Task.status == TaskStatus.OPEN, Task.due_at < now),
            and_(Task.closed_at.is_not(None), Task.closed_at > Task.due_at, Task.due_at >= since))))
    late_day: Counter[date] = Counter()
    over_day: Counter[date] = Counter()
    late_type: Counter[str] = Counter()
    over_type: Counter[str] = Counter()
    for type_, status, due, _closed in rows:
        if due is None:
            continue
        if status == TaskStatus.OPEN:
            over_type[type_] += 1
            over_day[max(due.date(), window[0])] += 1  # older than the window: counted on its first day
        else:
            late_type[type_] += 1
            late_day[due.date()] += 1
    per_day = [Breaches(d.isoformat(), late_day[d], over_day[d]) for d in window]
    types = sorted(set(late_type) | set(over_type), key=lambda t: (-(late_type[t] + over_type[t]), t))
    return per_day, [Breaches(t, late_type[t], over_type[t]) for t in types]


def open_tasks_per_role(s: Session, now: datetime) -> list[RoleLoad]:
    """Open tasks per candidate role (tasks offered to one named person under "named person"), with how many
    of them are overdue; the busiest role first."""
    label = func.coalesce(Task.candidate_role, "")
    rows = s.execute(select(label, func.count(), func.sum(case((Task.due_at < now, 1), else_=0)))
                     .where(Task.status == TaskStatus.OPEN).group_by(label)).all()
    out = [RoleLoad(role or "named person", int(total), int(overdue or 0)) for role, total, overdue in rows]
    return sorted(out, key=lambda r: (-r.open, r.role))


def margin_per_customer(s: Session, limit: int = 15) -> list[CustomerMargin]:
    """Delivered revenue and margin per customer (their completed sales orders), the largest revenue first."""
    revenue = func.coalesce(func.sum(SalesOrder.revenue), 0)
    rows = s.execute(select(Customer.name, func.count(SalesOrder.id), revenue,
                            func.coalesce(func.sum(SalesOrder.margin), 0))
                     .join(SalesOrder, SalesOrder.customer_id == Customer.id)
                     .where(SalesOrder.status == SalesOrderStatus.COMPLETED)
                     .group_by(Customer.id, Customer.name).order_by(revenue.desc(), Customer.name).limit(limit)).all()
    return [CustomerMargin(name, int(n), Decimal(rev or 0), Decimal(mar or 0)) for name, n, rev, mar in rows]
