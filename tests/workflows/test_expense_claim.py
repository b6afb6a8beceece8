"""ExpenseClaim + Approval on the time-skipping server, activities real against the database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from api.platform import Platform
from api.starters import approval, expense_claim
from domain.accounting import ledger
from domain.accounting.tables import JournalEntry
from domain.approvals.tables import Task
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.expenses import services as expenses
from domain.processes import ids
from tests.helpers import actor, approve_chain, claim_lines, open_task_for


async def _wait_status(db, number: str, status: str, client, tries: int = 200) -> None:
    import asyncio
    for _ in range(tries):
        with db.read() as s:
            if expenses.get(s, number).status == status:
                return
        await asyncio.sleep(0.05)
    with db.read() as s:
        raise AssertionError(f"{number} is {expenses.get(s, number).status}, expected {status}")


@pytest.mark.parametrize("total,chain", [
    ("800.00", ["frank"]),
    ("2500.00", ["frank", "grace"]),
    ("20000.00", ["frank", "grace", "heidi"]),
])
async def test_each_tier_goes_through_its_chain(worker, db, task_queue, total, chain):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    out = await expense_claim.submit(p, "erin", claim_lines(total, 2))
    number = out["claim_id"]
    assert out["status"] == "pending_approval"
    await approve_chain(p, db, number, chain)
    await _wait_status(db, number, "approved", worker)
    with db.read() as s:
        view = expenses.view(s, expenses.get(s, number))
        tb = ledger.trial_balance(s)
    assert [a["decided_by"] for a in view["approvals"]] == chain
    assert [a["step"] for a in view["approvals"]] == list(range(1, len(chain) + 1))
    assert tb["debit_total"] == tb["credit_total"]
    payable = next(a for a in tb["accounts"] if a["code"] == "2200")
    assert payable["credit"] == Decimal(total)


async def test_reject_ends_the_claim_and_needs_a_comment(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("2500")))["claim_id"]
    task = await open_task_for(db, number)
    with pytest.raises(Invalid):
        await approval.decide(p, actor(db, "frank"), task.id, "reject", "  ")
    await approval.decide(p, actor(db, "frank"), task.id, "reject", "no receipts attached")
    await _wait_status(db, number, "rejected", worker)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(JournalEntry)
                         .where(JournalEntry.voucher_no == number)).scalar_one() == 0
        assert expenses.view(s, expenses.get(s, number))["approvals"][0]["comment"] == "no receipts attached"


async def test_sod_and_closed_tasks_refused_and_nothing_changes(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("20000")))["claim_id"]
    task = await open_task_for(db, number)
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "erin"), task.id, "approve", "")  # own request
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "grace"), task.id, "approve", "")  # not her step
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "admin"), task.id, "approve", "")  # admin has no bypass
    await approval.decide(p, actor(db, "frank"), task.id, "approve", "")
    with pytest.raises(Conflict):
        await approval.decide(p, actor(db, "frank"), task.id, "approve", "")  # decided
    with db.read() as s:
        assert len(expenses.view(s, expenses.get(s, number))["approvals"]) == 1


async def test_cancel_while_pending_closes_the_open_task(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("500")))["claim_id"]
    task = await open_task_for(db, number)
    with pytest.raises(Forbidden):
        await expense_claim.cancel(p, actor(db, "frank"), number)
    assert await expense_claim.cancel(p, actor(db, "erin"), number) == "cancelled"
    with db.read() as s:
        assert s.get(Task, task.id).status == "cancelled"
        assert expenses.get(s, number).status == "cancelled"
    with pytest.raises(Conflict):
        await expense_claim.cancel(p, actor(db, "erin"), number)


async def test_paid_posts_the_payment(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("300")))["claim_id"]
    await approve_chain(p, db, number, ["frank"])
    await _wait_status(db, number, "approved", worker)
    with pytest.raises(Forbidden):
        await expense_claim.pay(p, actor(db, "frank"), number)
    with db.read() as s:
        bank_before = ledger.balances(s).get("1000", Decimal(0))  # the demo's history received money already
    assert await expense_claim.pay(p, actor(db, "grace"), number) == "paid"
    with db.read() as s:
        assert ledger.balances(s)["1000"] - bank_before == Decimal("-300.00")


async def test_sla_reminds_then_escalates_to_the_next_one_up(worker, db, task_queue, time_env):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("500")))["claim_id"]
    task = await open_task_for(db, number)
    assert task.candidate_user == "frank"
    await time_env.sleep(timedelta(hours=49))
    import asyncio
    for _ in range(100):
        with db.read() as s:
            t = s.get(Task, task.id)
        if t.reminded_at is not None:
            break
        await asyncio.sleep(0.05)
    assert t.reminded_at is not None and t.candidate_user == "frank"
    await time_env.sleep(timedelta(hours=49))
    for _ in range(100):
        with db.read() as s:
            t = s.get(Task, task.id)
        if t.candidate_user == "heidi":
            break
        await asyncio.sleep(0.05)
    assert t.candidate_user == "heidi"
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "frank"), task.id, "approve", "late")
    await approval.decide(p, actor(db, "heidi"), task.id, "approve", "escalated to me")
    await _wait_status(db, number, "approved", worker)
    handle = worker.get_workflow_handle(ids.expense_claim(number, p.id_prefix))
    assert (await handle.describe()).status is not None


async def test_an_approved_claim_is_a_pay_task_for_finance_until_paid(worker, db, task_queue):
    """Issue 18: after the last approval the wait for the payment is finance's task in the inbox (kind pay,
    role finance, on the claim's process), closed by the payment."""
    import asyncio
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("800")))["claim_id"]
    await approve_chain(p, db, number, ["frank"])
    await _wait_status(db, number, "approved", worker)
    pay_task = None
    for _ in range(200):
        with db.read() as s:
            pay_task = s.execute(select(Task).where(Task.business_key == number, Task.kind == "pay")).scalar_one_or_none()
        if pay_task is not None:
            break
        await asyncio.sleep(0.05)
    assert pay_task is not None and pay_task.status == "open"
    assert pay_task.candidate_role == "finance" and pay_task.process_id == ids.expense_claim(number, p.id_prefix)
    assert pay_task.process_type == "expense_claim" and pay_task.requester == "erin"
    with pytest.raises(Forbidden):
        await expense_claim.pay(p, actor(db, "frank"), number)  # not finance
    assert await expense_claim.pay(p, actor(db, "grace"), number) == "paid"
    for _ in range(200):
        with db.read() as s:
            t = s.get(Task, pay_task.id)
        if t.status != "open":
            break
        await asyncio.sleep(0.05)
    assert t.status == "completed"
