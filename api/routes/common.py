"""What the routers share: paging parameters and the task view."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import Row

from api import waits
from api.platform import Platform
from domain.approvals.tables import Task
from domain.core.numbers import PlainDecimal, PlainInt

T = TypeVar("T")


def as_utc(value: datetime | None) -> datetime | None:
    """A filter time without a zone is read as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


Limit = Annotated[PlainInt, Query(ge=1, le=500, description="page size")]
Offset = Annotated[PlainInt, Query(ge=0, le=10_000_000)]


def task_view(t: Task | Row[Any]) -> dict[str, Any]:
    return {
        "id": t.id, "process_id": t.process_id, "process_type": t.process_type, "kind": t.kind, "title": t.title,
        "business_key": t.business_key, "amount": t.amount, "requester": t.requester, "step": t.step,
        "step_label": t.step_label, "assignee": t.assignee, "candidate_role": t.candidate_role,
        "candidate_user": t.candidate_user, "status": t.status, "priority": t.priority, "due_at": t.due_at,
        "created_at": t.created_at, "closed_at": t.closed_at, "decision": t.decision, "decided_by": t.decided_by,
        "comment": t.comment, "reminded_at": t.reminded_at,
    }


Wait = Annotated[PlainDecimal, Query(ge=0, le=30, description="long poll: hold the answer up to this many seconds "
                                                       "until it is not empty (or the status is reached)")]
UNTIL = Query(description="with wait: the status to wait for (one of the document's statuses; another is a 422)")
POLL_FIRST, POLL_MAX = 0.02, 0.25  # re-check soon, then back off: a waiting request stays cheap


async def long_poll(fetch: Callable[[], Awaitable[T]], ready: Callable[[T], bool], wait: float | Decimal,
                    until: Callable[[float], Awaitable[bool]] | None = None,
                    sign_now: Callable[[], Awaitable[bool]] | None = None) -> T:
    """Fetch until `ready` or `wait` seconds have passed; the last fetch is the answer. Saves a
    client's polling round trips: the re-checks are database reads inside the server.

    `until`, when given, waits (up to the seconds it is given) for a cheap sign that the answer may be ready (a
    task under that business key exists, the claim has that status: api.waits, one read per tick for all the
    requests waiting alike); the full `fetch` runs again only then, or at the deadline. A sign that did not
    make the answer ready (a task the caller may not see) leaves the re-checks to the plain schedule.
    `sign_now`, when given, is the same sign read at once: without it there, the first `fetch` is skipped and the
    wait starts (a wait mostly begins before what it waits for exists)."""
    loop = asyncio.get_running_loop()
    deadline, pause = loop.time() + float(wait), POLL_FIRST
    if until is not None and sign_now is not None and wait > 0 and not await sign_now():
        await until(deadline - loop.time())
        until = None
    while True:
        result = await fetch()
        left = deadline - loop.time()
        if ready(result) or left <= 0:
            return result
        if until is not None:
            await until(left)
            until = None
            continue
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 1.5, POLL_MAX)


async def status_poll(platform: Platform, fetch: Callable[[], Awaitable[dict[str, Any]]], check: waits.Check,
                      key: str, until: str | None, wait: float | Decimal,
                      status_now: Callable[[], Awaitable[str]]) -> dict[str, Any]:
    """A document's long poll on its status (`GET …/{key}?wait=…&until=<status>`): `fetch` (its whole view, with its
    `status`) once the document `key` has the status `until` (`check`, re-checked with the other waits of that kind:
    api.waits), or at the deadline. `status_now` reads its status at once, as the caller may see it: a 404 at once,
    not after the wait. Without `until`, `fetch` at once."""
    async def there() -> bool:
        return await status_now() == until

    return await long_poll(fetch, lambda v: until is None or v["status"] == until, wait if until else 0,
                           partial(waits.until, platform, check, (key, until)), there)
