"""The inbox's filter (read from a query string, and checked for a saved filter), query and counts, and which task a caller may open: the glue the inbox API
(api/routes/tasks.py) and the inbox page (api/routes/ui/inbox.py) share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.orm import Session

from api.routes.common import as_utc
from domain.approvals import services as approvals
from domain.approvals.rules import TaskStatus
from domain.approvals.tables import Task
from domain.core.errors import Invalid, NotFound
from domain.core.numbers import read_number
from domain.permissions import Action
from domain.sales import services as sales_svc

# At most what an amount column holds on SQLite (integer ten-thousandths in 64 bits: 922,337,203,685,477).
MAX_AMOUNT = Decimal("1e14")


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


def inbox_query(user: Any, f: InboxFilter, *, status: str | None = TaskStatus.OPEN, see_all: bool = False,
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
        documents = sales_svc.tasks_of_customer(f.customer) if f.customer else None
        return approvals.narrow(q, key_prefix=f.key_prefix, documents=documents, min_amount=f.min_amount,
                                max_amount=f.max_amount, overdue=f.overdue)

    # Under one business key its index finds the few tasks: the plain query, not the parts (each a statement to
    # build and plan, which cost more than the rows they would save).
    if listing and status == TaskStatus.OPEN and not see_all and f.business_key is None:
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


FILTER_FIELDS = ("view", "kind", "business_key", "customer", "min_amount", "max_amount", "due_before", "overdue",
                 "sort", "dir")


def _amount(raw: str, label: str, problems: list[str]) -> Decimal | None:
    try:
        value = read_number(raw, label)  # as a person types it: 1,250.50, １２５０
    except Invalid:
        problems.append(f"{label} must be a number, not \u201c{raw}\u201d")
        return None
    if value is None:
        return None
    if value < 0:
        problems.append(f"{label} cannot be negative")
        return None
    if value > MAX_AMOUNT:
        problems.append(f"{label} cannot be over {MAX_AMOUNT:,.0f}")
        return None
    return value


def parse_filter(params: Mapping[str, str]) -> tuple[InboxFilter, dict[str, str], list[str]]:
    """The inbox's query string as a filter, the raw values to show back in the form, and what was wrong
    with them (a wrong value is named and left out, never guessed)."""
    raw = {k: str(params.get(k, "")).strip()[:100] for k in FILTER_FIELDS}
    problems: list[str] = []
    view = raw["view"] or "all"
    if view not in approvals.VIEWS:
        problems.append(f"there is no view \u201c{view}\u201d")
        view = "all"
    sort = raw["sort"] or "due"
    if sort not in approvals.SORT_KEYS:
        problems.append(f"the list cannot be sorted by \u201c{sort}\u201d (due, priority or created)")
        sort = "due"
    direction = raw["dir"] or None
    if direction not in (None, "asc", "desc"):
        problems.append("the sort direction is asc or desc")
        direction = None
    kind = raw["kind"] or None
    if kind not in (None, "approval", "alert", "pay"):  # pay: an approved expense claim, finance's to pay
        problems.append(f"there is no task kind \u201c{kind}\u201d")
        kind = None
    low, high = _amount(raw["min_amount"], "The lowest amount", problems), _amount(raw["max_amount"],
                                                                                 "The highest amount", problems)
    if low is not None and high is not None and low > high:
        problems.append("the lowest amount is above the highest")
        low = high = None
    due_before = None
    if raw["due_before"]:
        try:
            due_before = datetime.combine(date.fromisoformat(raw["due_before"]), time(), tzinfo=UTC)
        except ValueError:
            problems.append(f"\u201c{raw['due_before']}\u201d is not a date (YYYY-MM-DD)")
    f = InboxFilter(view=view, kind=kind, key_prefix=raw["business_key"][:60] or None,
                    customer=raw["customer"] or None, min_amount=low, max_amount=high, due_before=due_before,
                    overdue=raw["overdue"] in ("1", "on", "true", "yes"), sort=sort, direction=direction)
    return f, raw, problems


def filter_problems(params: Mapping[str, str]) -> list[str]:
    """What keeps `params` from being an inbox filter, strictly: what `parse_filter` would refuse, and what it
    would quietly ignore or cut (a parameter it does not know, a value past its length)."""
    problems = [f"the inbox has no filter \u201c{k[:40]}\u201d" for k in params if k not in FILTER_FIELDS]
    problems += [f"{k.replace('_', ' ')} is at most {n} characters" for k in FILTER_FIELDS
                 if len(str(params.get(k, "")).strip()) > (n := 60 if k == "business_key" else 100)]
    return problems + parse_filter(params)[2]
