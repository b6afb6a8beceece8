"""Long polls' re-checks, batched: every request of this process waiting for the same kind of change (a task
under a business key, a document reaching a status: a claim, a process, a requisition, a quotation, a sales
order) is re-checked by one query per tick, not by a query of its own on a schedule of its own. The worker writes
the rows from another process, so the change is only seen by reading; sixteen clients waiting cost one read per
tick instead of sixteen, and a wait costs no more CPU the longer the process takes.

A check answers which of the keys waited on may be ready now; the route then reads its whole answer (which
also says whether the caller may see it) as before."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from domain.approvals.tables import Task
from domain.expenses.tables import ExpenseClaim
from domain.processes.tables import Process
from domain.purchasing.tables import PurchaseRequisition
from domain.sales.tables import Quotation, SalesOrder

if TYPE_CHECKING:
    from api.platform import Platform

log = logging.getLogger(__name__)

TICK = 0.05  # seconds between re-checks while anyone waits (as often as the skeleton's client polls)

Check = Callable[[Connection, frozenset[Any]], set[Any]]  # the keys among those given that may be ready


# Built once, run every tick with the keys waited on (an expanding IN).
_TASK_KEYS = (select(Task.business_key, Task.status).distinct()
              .where(Task.business_key.in_(bindparam("keys", expanding=True))))


def task_exists(s: Session | Connection, keys: frozenset[tuple[str, str | None]]) -> set[tuple[str, str | None]]:
    """Keys (business key, task status or None for any): is there such a task at all?"""
    found = {(key, status) for key, status in s.execute(_TASK_KEYS, {"keys": sorted({k for k, _ in keys})})}
    return {(key, status) for key, status in keys
            if ((key, status) in found if status is not None else any(k == key for k, _ in found))}


def _status_of(key: Any, status: Any, what: str) -> Check:
    """The check that a document (by its `key` column) has a status (its `status` column): keys (key, status)."""
    statement = select(key, status).where(key.in_(bindparam("keys", expanding=True)))  # built once

    def check(s: Session | Connection, keys: frozenset[tuple[str, str]]) -> set[tuple[str, str]]:
        # .all(): dict() of the Result itself would take it for a mapping (it has keys()) and fail
        now: dict[str, str] = dict(s.execute(statement, {"keys": sorted({k for k, _ in keys})}).all())
        return {(k, wanted) for k, wanted in keys if now.get(k) == wanted}
    check.__name__ = check.__qualname__ = f"{what}_status"
    check.__doc__ = f"Keys ({what} key, status): has the {what} that status?"
    return check


claim_status = _status_of(ExpenseClaim.number, ExpenseClaim.status, "claim")
process_status = _status_of(Process.process_id, Process.status, "process")
requisition_status = _status_of(PurchaseRequisition.number, PurchaseRequisition.status, "requisition")
quotation_status = _status_of(Quotation.number, Quotation.status, "quotation")
order_status = _status_of(SalesOrder.number, SalesOrder.status, "sales_order")


class Hub:
    """The waiters of one platform (one API process), by check and key; one re-checking task runs in the event
    loop while anyone waits, and each tick asks every check in one read."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.waiting: dict[Check, dict[Hashable, list[asyncio.Future[None]]]] = {}
        self.runner: asyncio.Task[None] | None = None

    async def until(self, check: Check, key: Hashable, seconds: float) -> bool:
        """Wait until `check` says `key` may be ready (True) or `seconds` have passed (False)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiters = self.waiting.setdefault(check, {}).setdefault(key, [])
        waiters.append(future)
        if self.runner is None or self.runner.done() or self.runner.get_loop() is not loop:
            self.runner = loop.create_task(self._recheck())
        try:
            await asyncio.wait_for(future, seconds)
            return True
        except TimeoutError:
            return False
        finally:
            waiters.remove(future)
            if not waiters and self.waiting.get(check, {}).get(key) is waiters:
                del self.waiting[check][key]
                if not self.waiting[check]:
                    del self.waiting[check]

    async def _recheck(self) -> None:
        while self.waiting:
            await asyncio.sleep(TICK)
            asked = {check: frozenset(keys) for check, keys in self.waiting.items() if keys}
            if not asked:
                break
            try:
                ready = await self.platform.peek(_ask, asked)
            except Exception:  # a failed read (the database restarting): the waiters go on until their deadline
                log.exception("re-checking %d long polls failed", sum(map(len, asked.values())))
                continue
            for check, keys in ready.items():
                for key in keys:
                    for future in self.waiting.get(check, {}).get(key, ()):
                        if not future.done():
                            future.set_result(None)


def _ask(s: Connection, asked: dict[Check, frozenset[Any]]) -> dict[Check, set[Any]]:
    return {check: check(s, keys) for check, keys in asked.items()}


_hubs: weakref.WeakKeyDictionary[Platform, Hub] = weakref.WeakKeyDictionary()


def until(platform: Platform, check: Check, key: Hashable, seconds: float) -> Any:
    """`Hub.until` on `platform`'s hub (an awaitable)."""
    hub = _hubs.get(platform)
    if hub is None:
        hub = _hubs[platform] = Hub(platform)
    return hub.until(check, key, seconds)
