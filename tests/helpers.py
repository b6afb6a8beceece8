"""Small helpers the workflow and end-to-end tests share."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.platform import Platform
from api.starters import approval
from domain.approvals.tables import Task
from domain.core.db import Database
from domain.expenses.rules import ExpenseLineIn
from domain.org import services as org
from domain.org.people import Actor


def actor(db: Database, username: str) -> Actor:
    with db.read() as s:
        return org.actor(s, username)


def claim_lines(total: str, n: int = 1) -> list[ExpenseLineIn]:
    each = Decimal(total) / n
    return [ExpenseLineIn(category="travel", amount=each, currency="USD", date=date(2026, 11, 2),
                          description=f"trip {i}") for i in range(n)]


async def open_task_for(db: Database, business_key: str, wait: float = 10.0) -> Task:
    """The open task of a document, once the workflow's activity has written it."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        with db.read() as s:
            task = s.execute(select(Task).where(Task.business_key == business_key, Task.status == "open",
                                                Task.kind == "approval")).scalar_one_or_none()
        if task is not None:
            return task
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no open task for {business_key}")
        await asyncio.sleep(0.05)


async def approve_chain(p: Platform, db: Database, key: str, approvers: list[str]) -> list[Any]:
    out = []
    for who in approvers:
        task = await open_task_for(db, key)
        out.append(await approval.decide(p, actor(db, who), task.id, "approve", f"ok by {who}"))
    return out


async def eventually(db: Database, check: Callable[[Session], Any], limit: float = 10.0) -> Any:
    """`check`'s first truthy answer, polling the database while the workflow's activities run."""
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        with db.read() as s:
            result = check(s)
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not so after {limit} s: {check}")
        await asyncio.sleep(0.05)


def assert_books_reconcile(db: Database) -> None:
    """The books hold at any moment, whatever a test left mid-flight (each effect is one transaction that keeps
    a control account equal to its sub-ledger): every sub-ledger equals its control account and the trial
    balance is even. The end-to-end, fault and soak suites check it after every run."""
    from domain.accounting import ledger
    from domain.cash import services as cash

    with db.read() as s:
        rec = cash.reconcile(s)
        tb = ledger.trial_balance(s)
    off = [f"{r['name']} ({r['account']}): control {r['control']}, sub-ledger {r['subledger']}, "
           f"difference {r['difference']}" for r in rec.rows if r["difference"]]
    assert not off, "the sub-ledgers do not reconcile: " + "; ".join(off)
    assert tb["debit_total"] == tb["credit_total"], f"trial balance uneven: {tb['debit_total']} != {tb['credit_total']}"
