"""The process monitor's filter (read from the page's parameters, and checked for a saved filter), scope and summary, and the cancel of a process (a workflow Update): the glue
the monitor API (api/routes/processes.py) and the monitor and incident pages (api/routes/ui/) share."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, union
from sqlalchemy.orm import Session
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError
from temporalio.workflow import UpdateMethodMultiParam

from api.auth import Principal
from api.deps import as_actor
from api.platform import Platform
from api.routes.common import as_utc, task_view
from domain.approvals import access
from domain.approvals import rules as approval_rules
from domain.approvals.rules import TaskStatus
from domain.approvals.tables import Task
from domain.core.errors import Conflict, NotFound
from domain.crm.tables import Lead
from domain.parties.tables import Customer
from domain.processes.rules import ProcessStatus
from domain.processes.tables import Process, ProcessStep
from domain.production import services as production_svc
from domain.sales import rules as sales
from workflows.expense_claim import ExpenseClaim
from workflows.order_fulfilment import OrderFulfilment
from workflows.purchase import Purchase

CANCEL_UPDATES: dict[str, UpdateMethodMultiParam[..., str]] = {"expense_claim": ExpenseClaim.cancel, "purchase": Purchase.cancel,
                  "sales_order": OrderFulfilment.cancel}


QUERY_TIMEOUT = 1.0  # seconds to ask a process its state: a page waits no longer when no worker answers
QUERIES_AT_ONCE = 8  # a page's queries in flight together: a long list does not flood the workers


async def cancellable(platform: Platform, user: Principal, processes: Iterable[dict[str, Any]]) -> set[str]:
    """The ids of those `processes` (process_summary's) whose cancel Update would take `user`'s cancel now: its
    type's rule (domain), on the state the process itself holds (its current_status query: the row may lag behind,
    as when the activity that records the state is the one failing). One that does not answer is left out."""
    actor = as_actor(user)
    turns = asyncio.Semaphore(QUERIES_AT_ONCE)

    async def one(p: dict[str, Any]) -> str | None:
        if p["type"] not in CANCEL_UPDATES:
            return None
        try:
            async with turns, asyncio.timeout(QUERY_TIMEOUT):
                status = str(await platform.handle(p["process_id"]).query("current_status"))
        except (RPCError, WorkflowQueryFailedError, TimeoutError):
            return None
        if p["type"] == "sales_order":
            supplied = await platform.read(production_svc.supply_ordered, p["business_key"])
            may = sales.may_cancel_order(actor, p["owner"], status, supply_ordered=supplied)
        else:
            may = approval_rules.may_withdraw(actor, p["owner"], status)
        return p["process_id"] if may else None

    return {pid for pid in await asyncio.gather(*(one(p) for p in processes)) if pid}


def process_summary(p: Process | Row[Any]) -> dict[str, Any]:
    return {"process_id": p.process_id, "type": p.type, "business_key": p.business_key, "title": p.title,
            "owner": p.owner, "amount": p.amount, "status": p.status, "stage": p.stage,
            "started_at": p.started_at, "closed_at": p.closed_at, "customer": p.customer, "parent_id": p.parent_id}


def process_scope(q: Any, user: Principal) -> Any:
    # The processes I own or had a task on (one UNION of index lookups: named, claimed, decided, my roles' open tasks).
    visible = access.documents_visible_to(user.username, user.roles, "process", Process.owner, Process.process_id)
    return q if visible is None else q.where(visible)


def customer_names(part: str) -> Any:
    """The names of customers and leads' companies containing `part` (any case): the values a process's
    customer takes (domain/processes/services.py start). Matching those few names and then the index on the
    processes' customer stays fast with 100,000 processes, where a substring match reads every row."""
    return union(select(Customer.name).where(Customer.name.icontains(part, autoescape=True)),
                 select(Lead.company).where(Lead.company.icontains(part, autoescape=True)))


@dataclass(frozen=True)
class ProcessFilter:
    """The monitor's filters, shared by the JSON list, its counts and the page. Empty means any. The business
    key matches as a prefix, the customer as a case-insensitive part of its name; `started_before` is exclusive."""

    type: str = ""
    status: str = ""
    stage: str = ""
    business_key: str = ""
    customer: str = ""
    owner: str = ""
    started_after: datetime | None = None
    started_before: datetime | None = None

    def apply(self, q: Any, *, by_type_and_stage: bool = True) -> Any:
        exact = [(Process.status, self.status), (Process.owner, self.owner)]
        if by_type_and_stage:
            exact += [(Process.type, self.type), (Process.stage, self.stage)]
        for col, value in exact:
            if value:
                q = q.where(col == value)
        if self.business_key:
            q = q.where(Process.business_key.startswith(self.business_key, autoescape=True))
        if self.customer:
            q = q.where(Process.customer.in_(customer_names(self.customer)))
        if self.started_after:
            q = q.where(Process.started_at >= as_utc(self.started_after))
        if self.started_before:
            q = q.where(Process.started_at < as_utc(self.started_before))
        return q


def list_query(user: Principal, f: ProcessFilter, limit: int, offset: int) -> Any:
    """A page of the processes the user may see, newest first. Whoever sees them all walks the started index.
    Anyone else gets the newest of those they own (on the owner index) and the newest of those they had a task
    on, each stopped at the page's end and merged: either set may run into the tens of thousands."""
    order = (Process.started_at.desc(), Process.process_id)
    if access.sees_all(set(user.roles), "process"):
        return f.apply(select(Process)).order_by(*order).limit(limit).offset(offset)
    window = limit + offset
    owned = f.apply(select(Process.process_id).where(Process.owner == user.username))
    involved = f.apply(select(Process.process_id).where(
        Process.process_id.in_(access.involved_process_ids(user.username, set(user.roles)))))
    firsts = [part.order_by(*order).limit(window).subquery() for part in (owned, involved)]
    ids = union(*[select(first.c.process_id) for first in firsts]).subquery()
    return select(Process).join(ids, Process.process_id == ids.c.process_id).order_by(*order).limit(limit).offset(offset)


def count_by_type_and_stage(s: Session, user: Principal, f: ProcessFilter) -> list[dict[str, Any]]:
    """What the viewer may see under the filters other than type and stage, per type and per stage within it:
    [{type, total, stages: [{stage, count}] (most first)}], the largest type first."""
    q = f.apply(process_scope(select(Process.type, Process.stage, func.count()), user), by_type_and_stage=False)
    out: dict[str, dict[str, Any]] = {}
    for type_, stage, n in s.execute(q.group_by(Process.type, Process.stage)):
        row = out.setdefault(type_, {"type": type_, "total": 0, "stages": []})
        row["total"] += n
        row["stages"].append({"stage": stage, "count": n})
    for row in out.values():
        row["stages"].sort(key=lambda x: (-x["count"], x["stage"]))
    return sorted(out.values(), key=lambda r: (-r["total"], r["type"]))


def visible_process(s: Session, user: Principal, process_id: str) -> Process:
    """The process `user` may see (process_scope), with its steps; NotFound otherwise."""
    proc: Process | None = s.execute(_one_visible(select(Process), user, process_id)).scalar_one_or_none()
    if proc is None:
        raise NotFound(f"no process {process_id}")
    return proc


def visible_row(read: Session | Connection, user: Principal, process_id: str) -> Row[Any]:
    """visible_process's row in Core: the process's columns (process_summary takes it), one statement, no ORM
    object; what a long poll's sign and the process's JSON view read."""
    row = read.execute(_one_visible(select(Process.__table__), user, process_id)).first()
    if row is None:
        raise NotFound(f"no process {process_id}")
    return row


def process_view(c: Connection, user: Principal, process_id: str) -> dict[str, Any]:
    """The process `user` may see with its steps and tasks (NotFound otherwise): what GET /api/processes/{id}
    answers, Temporal's part aside. Read in Core: three statements, no ORM objects."""
    tasks = [task_view(t) for t in c.execute(_TASKS, {"process_id": process_id})]
    return {**process_summary(visible_row(c, user, process_id)),
            "steps": [dict(st._mapping) for st in c.execute(_STEPS, {"process_id": process_id})],
            "open_tasks": [t for t in tasks if t["status"] == TaskStatus.OPEN], "tasks": tasks}


_STEPS = (select(ProcessStep.name, ProcessStep.status, ProcessStep.detail, ProcessStep.started_at,
                 ProcessStep.finished_at)
          .where(ProcessStep.process_id == bindparam("process_id")).order_by(ProcessStep.seq))
_TASKS = select(Task.__table__).where(Task.process_id == bindparam("process_id")).order_by(Task.created_at)


def _one_visible(q: Any, user: Principal, process_id: str) -> Any:
    """`q` narrowed to the process `process_id` if `user` may see it (process_scope): the one rule both reads keep."""
    return process_scope(q, user).where(Process.process_id == bindparam("process_id", process_id))


async def cancel_process(process_id: str, user: Principal, platform: Platform) -> dict[str, Any]:
    """Cancel a process the user may see, through its workflow's cancel Update (Conflict for a type that has
    none); the process as it is afterwards."""
    proc = await platform.read(lambda s: visible_process(s, user, process_id))
    update = CANCEL_UPDATES.get(proc.type)
    if update is None:
        raise Conflict(f"a {proc.type} process cannot be cancelled")
    handle = platform.handle(process_id)
    await platform.update(handle, update, as_actor(user))
    return await platform.read(lambda s: process_summary(visible_process(s, user, process_id)))


def _day(value: str) -> date | None:
    """A date filter from the form (YYYY-MM-DD); anything else is ignored rather than refused."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _midnight(d: date | None, days: int = 0) -> datetime | None:
    return None if d is None else datetime.combine(d + timedelta(days=days), time(), tzinfo=UTC)


# The list's filters and the longest value each takes (the route's own limits).
FIELDS = {"type": 40, "status": 20, "stage": 60, "business_key": 60, "customer": 200, "owner": 60,
          "started_from": 10, "started_to": 10}
STATUSES = list(ProcessStatus)


def build_filter(p: Mapping[str, str]) -> tuple[ProcessFilter, dict[str, str]]:
    """The list's filter from its parameters, and the parameters to show back (bad dates left out)."""
    day_from, day_to = _day(p.get("started_from", "")), _day(p.get("started_to", ""))
    f = ProcessFilter(type=p.get("type", ""), status=p.get("status", ""), stage=p.get("stage", "").strip(),
                      business_key=p.get("business_key", "").strip(), customer=p.get("customer", "").strip(),
                      owner=p.get("owner", "").strip(), started_after=_midnight(day_from),
                      started_before=_midnight(day_to, 1))
    shown = {k: val for k, val in {
        "type": f.type, "status": f.status, "stage": f.stage, "business_key": f.business_key, "customer": f.customer,
        "owner": f.owner, "started_from": day_from.isoformat() if day_from else "",
        "started_to": day_to.isoformat() if day_to else ""}.items() if val}
    return f, shown


def filter_problems(p: Mapping[str, str]) -> list[str]:
    """What keeps `p` from being a filter of this list, strictly (a saved filter must mean what it says: a date
    the list would ignore is refused here)."""
    problems = [f"the list has no filter \u201c{k[:40]}\u201d" for k in p if k not in FIELDS]
    problems += [f"{k.replace('_', ' ')} is at most {n} characters" for k, n in FIELDS.items() if len(p.get(k, "")) > n]
    problems += [f"{k.replace('_', ' ')} \u201c{p[k][:20]}\u201d is not a date (YYYY-MM-DD)"
                 for k in ("started_from", "started_to") if p.get(k) and _day(p[k]) is None]
    if p.get("status") and p["status"] not in STATUSES:
        problems.append(f"there is no status \u201c{p['status'][:20]}\u201d ({', '.join(STATUSES)})")
    if not problems:
        f, _ = build_filter(p)
        if f.started_after and f.started_before and f.started_after >= f.started_before:
            problems.append("the first start day is after the last")
    return problems
