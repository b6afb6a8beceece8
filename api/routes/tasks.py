"""The inbox: the tasks a caller may act on, and their decisions (forwarded to the workflow as Updates)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from functools import lru_cache, partial
from types import SimpleNamespace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from api import waits
from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.inbox import MAX_AMOUNT, InboxFilter, inbox_query, view_counts, visible_task
from api.routes.common import Limit, Offset, Wait, long_poll, task_view
from api.schemas import DecisionIn, ReassignIn
from api.starters import approval
from domain.approvals import services as approvals
from domain.approvals.tables import Task, TaskEvent
from domain.core.numbers import PlainDecimal
from domain.permissions import Action
from domain.sales import approval_context

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

View = Literal["mine", "roles", "all"]
Sort = Literal["due", "priority", "created"]
Direction = Literal["asc", "desc"]
Money = Annotated[PlainDecimal | None, Query(ge=0, le=MAX_AMOUNT, description="amount bound, inclusive")]


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
    if not business_key:  # a listing: its time grows with the inbox, so a read on the pool
        q = inbox_query(user, f, status=status, see_all=see_all, listing=True, window=offset + limit)
        q = q.order_by(*approvals.ordering(sort, direction)).limit(limit).offset(offset)
        rows = await long_poll(lambda: platform.read(lambda s: list(s.execute(q).scalars())), bool, wait)
        return ok([task_view(t) for t in rows])
    # Waiting for a task under this key: re-checked with the others' (api.waits); one key's tasks are a few rows by
    # index (a glance), and until a task is under the key at all there is nothing to list.
    key = (business_key, status)
    build = _under_one_key.__wrapped__ if overdue else _under_one_key  # "overdue" is as of now: not kept
    one = build(user.username, user.roles, replace(f, business_key=None), status, see_all, limit, offset)
    rows = await long_poll(lambda: platform.glance(lambda s: list(s.execute(one, {"key": business_key}).scalars())),
                           bool, wait,
                           partial(waits.until, platform, waits.task_exists, key),
                           lambda: platform.peek(lambda c: bool(waits.task_exists(c, frozenset({key})))))
    return ok([task_view(t) for t in rows])


@lru_cache(maxsize=1024)
def _under_one_key(username: str, roles: frozenset[str], f: InboxFilter, status: str | None, see_all: bool,
                   limit: int, offset: int) -> Select[Any]:
    """The tasks under one business key (`key`, a parameter) that the caller may see, under the filter `f`: the
    inbox's own query (`inbox_query`, the one rule of who sees what), built once per caller and filter. Building a
    statement and its cache key cost twice what running it does, and a long poll's caller asks the same each time."""
    q = inbox_query(SimpleNamespace(username=username, roles=roles), f, status=status, see_all=see_all)
    return (q.where(Task.business_key == bindparam("key")).order_by(*approvals.ordering(f.sort, f.direction))
            .limit(limit).offset(offset))


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
    return ok(task_view(await approval.task_command(platform, "claim", as_actor(user), task_id)))


@router.post("/{task_id}/unclaim")
async def unclaim(task_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    # A task I may not see is not found (its workflow would answer "not claimed" and so tell that it exists).
    await platform.glance(lambda s: visible_task(s, user, task_id))
    return ok(task_view(await approval.task_command(platform, "unclaim", as_actor(user), task_id)))


@router.post("/{task_id}/reassign")
async def reassign(task_id: str, body: ReassignIn, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(task_view(await approval.task_command(platform, "reassign", as_actor(user), task_id, body.to, body.delegate)))


@router.post("/{task_id}/complete")
async def complete(task_id: str, body: DecisionIn, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(task_view(await approval.decide(platform, as_actor(user), task_id, body.decision, body.comment)))


# --- OA actions (issue 19): send back, add approver, copy to, resubmit ---------------------------------------

class SendBackIn(BaseModel):
    comment: str = Field(max_length=2000)


class AddApproverIn(BaseModel):
    username: str = Field(min_length=1, max_length=60)
    position: Literal["before", "after"] = "after"
    comment: str = Field(default="", max_length=2000)


class CopyToIn(BaseModel):
    usernames: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(min_length=1, max_length=20)


class ResubmitIn(BaseModel):
    comment: str = Field(default="", max_length=2000)


@router.post("/{task_id}/send-back")
async def send_back(task_id: str, body: SendBackIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """退回: the request goes back to its requester (a "resubmit" task); the comment says what to change."""
    return ok(task_view(await approval.send_back(platform, as_actor(user), task_id, body.comment)))


@router.post("/{task_id}/add-approver")
async def add_approver(task_id: str, body: AddApproverIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """加签: `username` decides before the caller (the task comes back to them) or after them (a new step)."""
    return ok(task_view(await approval.add_approver(platform, as_actor(user), task_id, body.username, body.position,
                                                    body.comment)))


@router.post("/{task_id}/copy-to")
async def copy_to(task_id: str, body: CopyToIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """抄送: the users named may read the document and are told; they do not decide."""
    return ok({"copied": await approval.copy_to(platform, as_actor(user), task_id, body.usernames)})


@router.post("/{task_id}/resubmit")
async def resubmit(task_id: str, body: ResubmitIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """The requester's "resubmit" task: the request goes back on its route from the step that sent it back."""
    task = await approval.resubmit(platform, as_actor(user), task_id, body.comment)
    return ok({"task_id": task.id, "process_id": task.process_id, "status": "resubmitted"})
