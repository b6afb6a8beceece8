"""Refusals of a running (or ended) claim say its real state and what is allowed (issue 15, class 11)."""

from __future__ import annotations

import asyncio

import pytest

from api.platform import Platform
from api.starters import expense_claim
from domain.core.errors import Conflict
from domain.expenses import services as expenses
from tests.helpers import actor, approve_chain, claim_lines, eventually, open_task_for


async def test_a_second_pay_says_the_claim_is_paid_and_a_pending_one_says_pending(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("300")))["claim_id"]
    await open_task_for(db, number)
    with pytest.raises(Conflict) as err:
        await expense_claim.pay(p, actor(db, "grace"), number)
    assert str(err.value) == f"claim {number} is pending_approval; only an approved claim can be paid"
    await approve_chain(p, db, number, ["frank"])
    await eventually(db, lambda s: expenses.get(s, number).status == "approved")
    with pytest.raises(Conflict) as err:
        await expense_claim.cancel(p, actor(db, "erin"), number)
    assert str(err.value) == f"claim {number} is approved; only a claim pending approval can be cancelled"

    # Two pays at once: one pays, the other is told the claim is paid (or being paid), never "approved".
    first, second = await asyncio.gather(expense_claim.pay(p, actor(db, "grace"), number),
                                         expense_claim.pay(p, actor(db, "grace"), number), return_exceptions=True)
    answers = sorted([first, second], key=lambda a: isinstance(a, BaseException))
    assert answers[0] == "paid", answers
    assert isinstance(answers[1], Conflict), answers
    msg = str(answers[1])
    assert (msg.startswith(f"claim {number} is being paid (by grace on ")
            or msg.startswith(f"claim {number} is already paid")), msg
    assert msg.endswith("nothing more to pay") and "approved" not in msg, msg

    # Once the process has ended, the database says when.
    with pytest.raises(Conflict) as err:
        await expense_claim.pay(p, actor(db, "grace"), number)
    with db.read() as s:
        paid_at = expenses.get(s, number).paid_at
    assert str(err.value) == f"claim {number} is already paid on {paid_at:%Y-%m-%d %H:%M} UTC; nothing more to pay"
    with pytest.raises(Conflict) as err:
        await expense_claim.cancel(p, actor(db, "erin"), number)
    assert str(err.value) == f"claim {number} is paid; only a claim pending approval can be cancelled"


async def test_a_second_cancel_says_a_cancel_is_under_way_or_the_claim_is_cancelled(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("500")))["claim_id"]
    await open_task_for(db, number)
    first, second = await asyncio.gather(expense_claim.cancel(p, actor(db, "erin"), number),
                                         expense_claim.cancel(p, actor(db, "erin"), number), return_exceptions=True)
    answers = sorted([first, second], key=lambda a: isinstance(a, BaseException))
    assert answers[0] == "cancelled" and isinstance(answers[1], Conflict), answers
    assert str(answers[1]) in (f"a cancel of claim {number} was already requested by erin; it is being decided",
                               f"claim {number} is cancelled; only a claim pending approval can be cancelled"), answers
    with pytest.raises(Conflict) as err:
        await expense_claim.pay(p, actor(db, "grace"), number)
    assert str(err.value) == f"claim {number} is cancelled; only an approved claim can be paid"


async def test_a_process_that_ends_between_the_check_and_the_update_is_refused_with_its_end_state(
        worker, db, task_queue, monkeypatch):
    """The state is read, then the Update sent: when the process ended in between (a concurrent pay or decision
    won), the refusal reads the state again and names it, never only "this process has ended"."""
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("300")))["claim_id"]
    await open_task_for(db, number)
    await approve_chain(p, db, number, ["frank"])
    await eventually(db, lambda s: expenses.get(s, number).status == "approved")
    assert await expense_claim.pay(p, actor(db, "grace"), number) == "paid"
    await eventually(db, lambda s: expenses.get(s, number).status == "paid")

    real_get = expenses.get
    stale = {"left": 1, "status": "approved"}

    def first_read_is_stale(s, n):  # what a request that read the claim just before the pay landed saw
        claim = real_get(s, n)
        if stale["left"]:
            stale["left"] -= 1
            s.expunge(claim)
            claim.status = stale["status"]
        return claim

    monkeypatch.setattr(expenses, "get", first_read_is_stale)
    with pytest.raises(Conflict) as err:
        await expense_claim.pay(p, actor(db, "grace"), number)
    assert str(err.value).startswith(f"claim {number} is already paid on "), err.value

    stale.update(left=1, status="pending_approval")
    with pytest.raises(Conflict) as err:
        await expense_claim.cancel(p, actor(db, "erin"), number)
    assert str(err.value) == f"claim {number} is paid; only a claim pending approval can be cancelled", err.value
