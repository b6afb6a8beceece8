"""A withdrawal racing the last approval (issue 15, class 7): the requester's cancel of a claim or a
requisition, or the opportunity's withdrawal of a quotation, sent together with the final decision.

The approval workflow takes the two in one order: exactly one wins. A claim's or a requisition's cancel
that comes second fails with a 409 saying what was decided by whom; a decision that comes second fails
with a 409 saying who withdrew the document. The document's status agrees with the winner, the trail
(approval rows, task events) tells both, and nothing is left open. Each race is run several times, the two
requests fired in both orders and a little apart, so that each side wins some of them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from api.platform import Platform
from api.starters import approval, expense_claim, lead_to_order, purchase, quotation
from domain.approvals.tables import ApprovalDecision, Task, TaskEvent
from domain.core.db import Database
from domain.core.errors import Conflict
from domain.expenses import services as expenses
from domain.purchasing import services as purchasing_svc
from domain.purchasing.rules import RequisitionLineIn
from domain.sales import services as sales_svc
from tests.helpers import actor, claim_lines, eventually, open_task_for
from tests.workflows.test_quotation import lines, opportunity

ROUNDS = 6
# (who goes first, how long the second waits): both orders, at once and a little apart
SCHEDULE = [("decide", 0.0), ("cancel", 0.0), ("decide", 0.01), ("cancel", 0.01), ("decide", 0.03),
            ("cancel", 0.03)]


async def race(decide: Callable[[], Awaitable[Any]], cancel: Callable[[], Awaitable[Any]],
               first: str, gap: float) -> tuple[Any, Any]:
    """Both requests at once (the second `gap` seconds later); each one's answer or its exception."""
    async def later(fn: Callable[[], Awaitable[Any]]) -> Any:
        await asyncio.sleep(gap)
        return await fn()

    if first == "decide":
        d, c = await asyncio.gather(decide(), later(cancel), return_exceptions=True)
    else:
        c, d = await asyncio.gather(cancel(), later(decide), return_exceptions=True)
    return d, c


def trail(db: Database, key: str) -> tuple[list[ApprovalDecision], list[TaskEvent], list[Task]]:
    with db.read() as s:
        tasks = list(s.execute(select(Task).where(Task.business_key == key, Task.kind == "approval")).scalars())
        events = list(s.execute(select(TaskEvent).where(TaskEvent.task_id.in_([t.id for t in tasks]))
                                .order_by(TaskEvent.id)).scalars())
        decisions = list(s.execute(select(ApprovalDecision).where(ApprovalDecision.business_key == key)
                                   .order_by(ApprovalDecision.id)).scalars())
    return decisions, events, tasks


def check_refused_cancel(db: Database, key: str, document: str, err: BaseException, approver: str,
                         requester: str) -> None:
    """The decision won: the cancel's 409 says so, and (when the approval had taken it) the trail too."""
    assert isinstance(err, Conflict), repr(err)
    msg = str(err)
    late = f"{document} was approved by {approver} at "
    at_once = [f"{document} is {state}; only a" for state in ("approved", "ordered")]  # refused at once
    assert msg.startswith(late) or any(msg.startswith(a) for a in at_once), msg
    assert "can no longer be cancelled" in msg or "pending approval can be cancelled" in msg, msg
    decisions, events, tasks = trail(db, key)
    assert [(d.decided_by, d.decision) for d in decisions][-1] == (approver, "approve")
    assert all(t.status == "completed" for t in tasks), [(t.id, t.status) for t in tasks]
    refused = [e for e in events if e.event == "withdrawal refused"]
    if msg.startswith(late):  # the approval took the cancel, after its last decision: on the trail
        assert [(e.actor, e.detail) for e in refused] == [
            (requester, f"{requester}'s cancel came after the final approval and was refused")]
    else:  # refused by the validator, at once: nothing recorded
        assert refused == []


def check_refused_decision(db: Database, key: str, document: str, err: BaseException, by: str) -> None:
    """The cancel won: the decision's 409 says who withdrew the document, nothing was decided, tasks closed."""
    assert isinstance(err, Conflict), repr(err)
    msg = str(err)
    assert ((msg.startswith(f"{document} was withdrawn by {by} at ") and msg.endswith("nothing left to decide"))
            or msg == "this task is already cancelled"), msg
    decisions, events, tasks = trail(db, key)
    assert decisions == []
    assert tasks and all(t.status == "cancelled" for t in tasks), [(t.id, t.status) for t in tasks]
    closed = [e for e in events if e.event == "cancelled"]
    assert [(e.actor, e.detail) for e in closed] == [(by, f"withdrawn by {by}")] * len(tasks)


@dataclass(frozen=True)
class Withdrawable:
    """A document its requester may cancel while it waits for a one-step approval (frank's)."""

    document: str
    requester: str
    approved: str  # its status once the approval is through
    submit: Callable[[Platform], Awaitable[str]]
    cancel: Callable[[Platform, Database, str], Awaitable[Any]]
    status: Callable[[Any, str], str]


async def _claim(p: Platform) -> str:
    return str((await expense_claim.submit(p, "erin", claim_lines("800")))["claim_id"])  # frank alone


async def _requisition(p: Platform) -> str:
    line = RequisitionLineIn(sku="BOLT-M8", qty=Decimal(100), est_unit_price=Decimal("0.15"))
    return str((await purchase.submit(p, "dave", [line], "bolts", None))["requisition_id"])  # frank alone


WITHDRAWABLE = [
    Withdrawable("claim", "erin", "approved", _claim,
                 lambda p, db, n: expense_claim.cancel(p, actor(db, "erin"), n),
                 lambda s, n: expenses.get(s, n).status),
    Withdrawable("requisition", "dave", "ordered", _requisition,
                 lambda p, db, n: purchase.cancel(p, actor(db, "dave"), n),
                 lambda s, n: purchasing_svc.requisition(s, n).status),
]


@pytest.mark.parametrize("doc", WITHDRAWABLE, ids=[w.document for w in WITHDRAWABLE])
async def test_a_cancel_and_the_last_approval_never_both_win(worker, db, task_queue, doc: Withdrawable):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    wins = {"decide": 0, "cancel": 0}
    for first, gap in SCHEDULE:
        number = await doc.submit(p)
        task = await open_task_for(db, number)
        d, c = await race(lambda t=task: approval.decide(p, actor(db, "frank"), t.id, "approve", "ok"),
                          lambda n=number: doc.cancel(p, db, n), first, gap)
        assert isinstance(d, BaseException) != isinstance(c, BaseException), (first, gap, d, c)
        if isinstance(c, BaseException):
            wins["decide"] += 1
            await eventually(db, lambda s, n=number: doc.status(s, n) == doc.approved)
            check_refused_cancel(db, number, f"{doc.document} {number}", c, "frank", doc.requester)
        else:
            wins["cancel"] += 1
            assert c == "cancelled"
            with db.read() as s:
                assert doc.status(s, number) == "cancelled"
            check_refused_decision(db, number, f"{doc.document} {number}", d, doc.requester)
    print("winners:", wins)


async def test_a_cancel_during_an_earlier_step_ends_the_chain_after_that_step(worker, db, task_queue):
    """Only the last decision beats a cancel: a cancel racing the first of two approvals wins, after it."""
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("2500")))["claim_id"]  # frank, then grace
    task = await open_task_for(db, number)
    d, c = await race(lambda: approval.decide(p, actor(db, "frank"), task.id, "approve", "ok"),
                      lambda: expense_claim.cancel(p, actor(db, "erin"), number), "decide", 0.0)
    assert c == "cancelled", c
    with db.read() as s:
        assert expenses.get(s, number).status == "cancelled"
        assert not s.execute(select(Task).where(Task.business_key == number, Task.status == "open")).first()
    decisions, _, _ = trail(db, number)
    if isinstance(d, BaseException):  # the cancel came before frank's approval
        assert isinstance(d, Conflict) and decisions == [], d
    else:  # frank's approval came first and stands; grace's step never asked or was closed
        assert [(x.decided_by, x.decision) for x in decisions] == [("frank", "approve")]


async def test_a_lost_opportunity_and_the_last_discount_approval_are_taken_in_one_order(worker, db, task_queue):
    """Losing the opportunity withdraws its quotations, and a quotation may be withdrawn once approved too:
    the loss always stands. The discount decision either came first (it stands, the trail says the withdrawal
    came after it, the quotation ends withdrawn) or is refused with a 409 naming the withdrawal."""
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    wins = {"decide": 0, "withdrawal": 0}
    # The loss reaches the approval through two processes (opportunity, quotation): give it a head start too.
    for i, (first, gap) in enumerate([("decide", 0.0), ("cancel", 0.0), ("cancel", 0.2), ("cancel", 0.5)]):
        opp = await opportunity(p, db, "Globex Corporation")
        number = (await quotation.create(p, "alice", opp, lines(discount="25"), 14, Decimal(0)))["quotation_id"]
        task = await open_task_for(db, number)  # the sales manager's
        d, c = await race(lambda t=task: approval.decide(p, actor(db, "bob"), t.id, "approve", "ok"),
                          lambda o=opp, i=i: lead_to_order.lose(p, actor(db, "alice"), o, f"lost {i}"), first, gap)
        assert c == [number], c
        await eventually(db, lambda s, n=number: not s.execute(select(Task).where(
            Task.business_key == n, Task.status == "open")).first())
        await eventually(db, lambda s, n=number: sales_svc.quotation(s, n).status == "rejected")
        with db.read() as s:
            assert sales_svc.quotation(s, number).reason == f"opportunity lost: lost {i}"
        decisions, events, tasks = trail(db, number)
        if isinstance(d, BaseException):
            wins["withdrawal"] += 1
            assert isinstance(d, Conflict), repr(d)
            assert ((str(d).startswith(f"quotation {number} was withdrawn by the opportunity at ")
                    and str(d).endswith(f"(opportunity lost: lost {i}); nothing left to decide"))
                    or str(d) == "this task is already cancelled"), str(d)
            assert decisions == [] and all(t.status == "cancelled" for t in tasks)
        else:
            wins["decide"] += 1
            assert [(x.decided_by, x.decision) for x in decisions] == [("bob", "approve")]
            assert all(t.status == "completed" for t in tasks)

            # Taken by the approval after its last decision: the trail says so. (When the approval had ended
            # before the withdrawal reached the quotation, the quotation was withdrawn once sent, as any is.)
            late = [e for e in events if e.event == "withdrawal late"]
            assert [e.detail for e in late] in ([], [
                f"the opportunity's withdrawal (opportunity lost: lost {i}) came after the final approval; it goes "
                "on against the approved quotation"]), late
    print("winners:", wins)


def test_late_withdrawal_messages_say_what_was_decided() -> None:
    from datetime import UTC, datetime

    from domain.approvals.rules import (
        ApprovalOutcome,
        DecisionRecord,
        Withdrawal,
        late_withdrawal_note,
        late_withdrawal_refusal,
        withdrawn_refusal,
    )
    at = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    w = Withdrawal(by="erin", document="claim EC-00012", at=at)
    approved = ApprovalOutcome(approved=True, decided_at=at, decisions=[
        DecisionRecord(step=1, role="manager", decided_by="frank", decision="approve")])
    assert late_withdrawal_refusal(w, approved) == ("claim EC-00012 was approved by frank at 2026-11-03 09:30:00 UTC; "
                                                    "an approved claim can no longer be cancelled")
    assert late_withdrawal_note(w, approved) == "erin's cancel came after the final approval and was refused"
    assert withdrawn_refusal(w) == ("claim EC-00012 was withdrawn by erin at 2026-11-03 09:30:00 UTC; "
                                    "nothing left to decide")
    rejected = ApprovalOutcome(approved=False, decided_at=at, rejected_at_step=1, decisions=[
        DecisionRecord(step=1, role="manager", decided_by="frank", decision="reject", comment="no")])
    assert late_withdrawal_refusal(w, rejected).startswith("claim EC-00012 was rejected by frank at ")
    assert late_withdrawal_refusal(w, rejected).endswith("; a rejected claim can no longer be cancelled")
    assert late_withdrawal_note(w, rejected) == "erin's cancel came after the rejection and was refused"
