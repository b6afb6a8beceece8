"""api.waits: the long polls' re-checks are batched, one read per tick for every request waiting alike, and a
waiter wakes when its key is ready or gives up at its deadline; the checks read real claims and tasks (and
the long polls over HTTP: tests/e2e/test_access_and_concurrency.py)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api import waits
from api.platform import Platform
from domain.approvals.tables import Task
from domain.core.db import Database
from domain.expenses.tables import ExpenseClaim
from domain.parties.tables import Customer, Supplier
from domain.processes.tables import Process
from domain.purchasing.tables import PurchaseRequisition
from domain.sales.tables import SalesOrder


async def test_one_read_per_tick_wakes_only_the_keys_that_are_ready(db: Database) -> None:
    platform = Platform(None, db, "unit")  # type: ignore[arg-type]  # only its read
    ready: set[str] = set()
    asked: list[frozenset[str]] = []

    def check(_c: Connection, keys: frozenset[Any]) -> set[Any]:
        asked.append(keys)
        return set(keys & ready)

    async def later() -> None:
        await asyncio.sleep(0.2)
        ready.add("a")

    t0 = time.monotonic()
    woke = await asyncio.gather(*(waits.until(platform, check, "a", 5) for _ in range(10)),
                                waits.until(platform, check, "b", 0.5), later())
    assert woke[:11] == [True] * 10 + [False]  # the ten on "a" as soon as it was there; "b" at its deadline
    assert time.monotonic() - t0 < 1.5
    assert all(keys <= {"a", "b"} for keys in asked)
    # sixteen waiters for ~0.5 s: about one read per tick (0.05 s), not one per waiter per re-check
    assert len(asked) <= 0.6 / waits.TICK + 2
    await asyncio.sleep(waits.TICK * 3)
    n = len(asked)
    await asyncio.sleep(waits.TICK * 3)
    assert len(asked) == n  # nobody waits: nothing is read



async def test_waits_of_two_kinds_share_one_read_per_tick(db: Database) -> None:
    """Tasks and claims waited on at once: each tick asks both checks inside one read (one connection and snapshot, not two)."""
    platform = Platform(None, db, "unit")  # type: ignore[arg-type]  # only its reads
    reads = 0
    real_peek = platform.peek

    async def counted(fn: Any, *args: Any) -> Any:
        nonlocal reads
        reads += 1
        return await real_peek(fn, *args)

    platform.peek = counted  # type: ignore[method-assign]
    seen: dict[str, int] = {"tasks": 0, "claims": 0}

    def tasks(_c: Connection, keys: frozenset[Any]) -> set[Any]:
        seen["tasks"] += 1
        return set()

    def claims(_c: Connection, keys: frozenset[Any]) -> set[Any]:
        seen["claims"] += 1
        return set(keys) if seen["claims"] >= 4 else set()

    woke = await asyncio.gather(waits.until(platform, tasks, "t", 0.4), waits.until(platform, claims, "c", 5))
    assert list(woke) == [False, True]
    assert seen["claims"] >= 4 and seen["tasks"] >= 4
    assert reads == max(seen.values())  # both checks in each read


def test_the_checks_read_claims_and_tasks(db: Database) -> None:
    with db.write() as s:
        s.add(ExpenseClaim(number="EC-W1", requester="erin", status="approved", total=Decimal("500"), currency="USD",
                           process_id="expense-claim/EC-W1"))
        s.add(Task(id="t-w1", workflow_id="wf", process_id="p", process_type="expense_claim", kind="approval",
                   title="claim EC-W2", business_key="EC-W2", status="open"))
    with db.read() as s:
        assert waits.claim_status(s, frozenset({("EC-W1", "approved"), ("EC-W1", "paid"), ("EC-NONE", "approved")})) \
            == {("EC-W1", "approved")}
        assert waits.task_exists(s, frozenset({("EC-W2", "open"), ("EC-W2", None), ("EC-W2", "completed"),
                                               ("EC-NONE", None)})) == {("EC-W2", "open"), ("EC-W2", None)}


def _two_of(s: Session, table: Any) -> None:
    """Two rows of `table` (paid and approved), the least each needs."""
    supplier = s.execute(select(Supplier.id).limit(1)).scalar_one()
    customer = s.execute(select(Customer.id).limit(1)).scalar_one()
    for n, status in ((1, "paid"), (2, "approved")):
        if table is ExpenseClaim:
            s.add(ExpenseClaim(number=f"EC-S{n}", requester="erin", status=status, total=Decimal(1), currency="USD",
                               process_id=f"expense-claim/EC-S{n}"))
        elif table is Process:
            s.add(Process(process_id=f"p-S{n}", type="expense_claim", business_key=f"EC-S{n}", status=status))
        elif table is PurchaseRequisition:
            s.add(PurchaseRequisition(number=f"PR-S{n}", requester="dave", status=status, total=Decimal(1),
                                      supplier_id=supplier, process_id=f"purchase/PR-S{n}"))
        else:
            s.add(SalesOrder(number=f"SO-S{n}", customer_id=customer, status=status, total=Decimal(1), owner="alice",
                             process_id=f"so/SO-S{n}", idempotency_key=f"k-SO-S{n}"))


@pytest.mark.parametrize(("check", "table"), [
    (waits.claim_status, ExpenseClaim), (waits.process_status, Process), (waits.order_status, SalesOrder),
    (waits.requisition_status, PurchaseRequisition)])
def test_each_status_check_reads_its_documents_status(db: Database, check: waits.Check, table: Any) -> None:
    """A document's status long poll (the quotation's is in tests/e2e/test_long_polls_answer_promptly.py): its check
    says which (key, status) pairs hold now, from a session or a peek's connection alike, in one read."""
    key_col = table.process_id if table is Process else table.number
    with db.write() as s:
        _two_of(s, table)
    with db.read() as s:
        rows = s.execute(select(key_col, table.status).where(key_col.like("%-S_")).order_by(key_col)).all()
    assert len(rows) == 2
    asked = frozenset({(k, st) for k, st in rows} | {(k, st + "-not") for k, st in rows} | {("NO-SUCH", "open")})
    with db.read() as s:
        assert check(s, asked) == {(k, st) for k, st in rows}
    with db.peek() as c:
        assert check(c, asked) == {(k, st) for k, st in rows}
