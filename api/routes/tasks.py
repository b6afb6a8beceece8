"""The inbox: the tasks a caller may act on, and their decisions (forwarded to the workflow as Updates)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import Select, func, select, union_all
from sqlalchemy.orm import Session

from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.routes.common import Limit, Offset, Wait, as_utc, long_poll, task_view
from api.schemas import DecisionIn, ReassignIn
from domain.errors import Invalid, NotFound
from domain.numbers import PlainDecimal
from domain.permissions import Action
from domain.schema import Task, TaskEvent
from domain.services import approval_context, approvals

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

View = Literal["mine", "roles", "all"]
Sort = Literal["due", "priority", "created"]
Direction = Literal["asc", "desc"]
# At most what an amount column holds on SQLite (integer ten-thousandths in 64 bits: 922,337,203,685,477).
MAX_AMOUNT = Decimal("1e14")
Money = Annotated[PlainDecimal | None, Query(ge=0, le=MAX_AMOUNT, description="amount bound, inclusive")]


@dataclass(frozen=True)
class InboxFilter:
    """What narrows the inbox, the same for the JSON API and the page."""

    view: str = "all"
    kind: str | None = None
    business_key: str | None = None  # exact (the API's original filter)
    key_prefix: str | None = None
    customer: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    due_before: datetime | None = None
    overdue: bool = False
    sort: str = "due"
    direction: str | None = None

    def __post_init__(self) -> None:
        if self.min_amount is not None and self.max_amount is not None and self.min_amount > self.max_amount:
            raise Invalid(f"the lowest amount ({self.min_amount}) is above the highest ({self.max_amount})")


def inbox_query(user: Any, f: InboxFilter, *, status: str | None = "open", see_all: bool = False,
                view: str | None = None, listing: bool = False, window: int | None = None) -> Select[Any]:
    """The tasks of one inbox view under the filter (no order, no paging: the caller adds them).

    A `listing` of open tasks gathers the view part by part, each part on an index of its own (claimed by me,
    named to me, each of my roles'), and joins them back: one OR over them all makes the planner walk every open
    task (hundreds of ms with 100,000, measured on SQLite). In due order each part is walked in that order and
    stopped after `window` tasks (the page's offset + limit): the page is among those, whatever the table
    holds. By priority or creation no index gives the order, and the parts' tasks are sorted whole."""
    chosen = view or f.view
    roles = sorted(user.roles)

    def base(where: Any, *, visible: bool = True) -> Select[Any]:
        q = approvals.task_query(user.username, roles, status=status, kind=f.kind, business_key=f.business_key,
                                 due_before=as_utc(f.due_before), see_all=see_all or not visible).where(where)
        return approvals.narrow(q, key_prefix=f.key_prefix, customer=f.customer, min_amount=f.min_amount,
                                max_amount=f.max_amount, overdue=f.overdue)

    if listing and status == "open" and not see_all:
        parts = [base(part, visible=False).with_only_columns(Task.id)
                 for part in approvals.view_parts(chosen, user.username, roles)]
        if window is not None:
            order = approvals.ordering(f.sort, f.direction)
            firsts = [part.order_by(*order).limit(window).subquery() for part in parts]
            parts = [select(first.c.id) for first in firsts]
        ids = union_all(*parts).subquery()
        return select(Task).join(ids, Task.id == ids.c.id)
    return base(approvals.view_filter(chosen, user.username, roles))


def view_counts(s: Session, user: Any, f: InboxFilter) -> dict[str, int]:
    """How many open tasks each view holds under the filter: each part counted on its own index, added up."""
    def total(view: str) -> int:
        return sum(int(s.execute(inbox_query(user, f, view="all", see_all=True).where(part)
                                 .with_only_columns(func.count()).order_by(None)).scalar_one())
                   for part in approvals.view_parts(view, user.username, sorted(user.roles)))
    mine, roles = total("mine"), total("roles")
    return {"mine": mine, "roles": roles, "all": mine + roles}


@router.get("")
async def list_tasks(user: CurrentUser, platform: PlatformDep,
                     status: Literal["open", "completed", "cancelled", "escalated"] | None = "open",
                     kind: Annotated[str | None, Query(max_length=40)] = None,
                     business_key: Annotated[str | None, Query(max_length=60)] = None,
                     due_before: datetime | None = None,
                     assigned: Literal["me", "roles"] | None = None,
                     scope: Literal["mine", "all"] = "mine",
                     sort: Sort = "due",
                     limit: Limit = 50, offset: Offset = 0, wait: Wait = Decimal(0),
                     view: View | None = None,
                     business_key_prefix: Annotated[str | None, Query(max_length=60)] = None,
                     customer: Annotated[str | None, Query(max_length=100, description="name contains")] = None,
                     min_amount: Money = None, max_amount: Money = None,
                     overdue: bool = False,
                     direction: Direction | None = None) -> Any:
    see_all = scope == "all" and user.may(Action.TASK_SEE_ALL)
    chosen = view or {"me": "mine", "roles": "roles", None: "all"}[assigned]
    f = InboxFilter(view=chosen, kind=kind, business_key=business_key, key_prefix=business_key_prefix,
                    customer=customer, min_amount=min_amount, max_amount=max_amount, due_before=due_before,
                    overdue=overdue, sort=sort, direction=direction)
    q = inbox_query(user, f, status=status, see_all=see_all, listing=True, window=offset + limit)
    q = q.order_by(*approvals.ordering(sort, direction)).limit(limit).offset(offset)
    rows = await long_poll(lambda: platform.read(lambda s: list(s.execute(q).scalars())), bool, wait)
    return ok([task_view(t) for t in rows])


@router.get("/counts")
async def task_counts(user: CurrentUser, platform: PlatformDep,
                      kind: Annotated[str | None, Query(max_length=40)] = None,
                      business_key_prefix: Annotated[str | None, Query(max_length=60)] = None,
                      customer: Annotated[str | None, Query(max_length=100)] = None,
                      min_amount: Money = None, max_amount: Money = None,
                      due_before: datetime | None = None, overdue: bool = False) -> Any:
    """How many open tasks each inbox view holds (under the same optional filters as the list): mine, roles,
    all; `open` is `all` (its old name) and `overdue` the overdue ones among them."""
    f = InboxFilter(kind=kind, key_prefix=business_key_prefix, customer=customer, min_amount=min_amount,
                    max_amount=max_amount, due_before=due_before, overdue=overdue)

    def count(s: Session) -> dict[str, int]:
        counts = view_counts(s, user, f)
        late = view_counts(s, user, replace(f, overdue=True))["all"]
        return {**counts, "open": counts["all"], "overdue": late}
    return ok(await platform.read(count))


def visible_task(s: Session, user: Any, task_id: str) -> Task:
    task = s.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if user.may(Action.TASK_SEE_ALL) or task.decided_by == user.username or task.assignee == user.username:
        return task
    q = approvals.task_query(user.username, sorted(user.roles), status=None).where(Task.id == task_id)
    if s.execute(q).first() is None:
        raise NotFound(f"no task {task_id}")
    return task


@router.get("/{task_id}")
async def get_task(task_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    def load(s: Session) -> dict[str, Any]:
        task = visible_task(s, user, task_id)
        events = s.execute(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)).scalars()
        return {**task_view(task), "context": approval_context.task_context(s, task),
                "approvals": approvals.trail(s, task.process_id),
                "events": [{"event": e.event, "actor": e.actor, "detail": e.detail, "at": e.at} for e in events]}
    return ok(await platform.read(load))


@router.post("/{task_id}/claim")
async def claim(task_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(task_view(await platform.task_command("claim", as_actor(user), task_id)))


@router.post("/{task_id}/unclaim")
async def unclaim(task_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    # A task I may not see is not found (its workflow would answer "not claimed" and so tell that it exists).
    await platform.read(lambda s: visible_task(s, user, task_id))
    return ok(task_view(await platform.task_command("unclaim", as_actor(user), task_id)))


@router.post("/{task_id}/reassign")
async def reassign(task_id: str, body: ReassignIn, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(task_view(await platform.task_command("reassign", as_actor(user), task_id, body.to, body.delegate)))


@router.post("/{task_id}/complete")
async def complete(task_id: str, body: DecisionIn, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(task_view(await platform.decide(as_actor(user), task_id, body.decision, body.comment)))
