"""Review of the lead-to-order processes: races and edge cases, each test names the defect it shows.
The defects they showed are fixed; the others pin behaviour that works and matters."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

import pytest
from sqlalchemy import select

from api.platform import Platform
from api.starters import approval, lead_to_order, order_fulfilment, quotation
from domain.approvals.tables import Task
from domain.core.errors import Conflict, DomainError, Invalid
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.crm.tables import LeadActivity
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from tests.helpers import actor, eventually
from tests.workflows.test_quotation import lines, opportunity

LEAD = crm.LeadIn(company="Wayne Enterprises", contact="Lucius Fox", email="lucius@wayne.example",
                  source="referral", estimated_value=Decimal("60000"))  # type: ignore[arg-type]


async def test_two_activities_logged_at_once_are_both_recorded(worker, db, task_queue):
    """Was a defect, now fixed (workflows/lead_to_order.py:192-195): log_activity computes its idempotency key from
    self.activities + 1 before awaiting the activity and bumps the counter only afterwards, so two
    Updates that interleave get the same key `…:activity:N`; the second is deduplicated away by
    crm.add_activity, yet both callers get 201. One of the two activities is silently lost."""
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await lead_to_order.create(p, "alice", LEAD, "alice"))["lead_id"]
    alice = actor(db, "alice")
    await asyncio.gather(
        lead_to_order.log_activity(p, crm.ActivityCommand(actor=alice, kind="call", note="first call"), number),
        lead_to_order.log_activity(p, crm.ActivityCommand(actor=alice, kind="email", note="follow-up mail"), number))
    with db.read() as s:
        lead_id = crm_svc.lead(s, number).id
        notes = sorted(s.execute(select(LeadActivity.note).where(LeadActivity.lead_id == lead_id)).scalars())
    assert notes == ["first call", "follow-up mail"]


async def test_a_quotation_nobody_can_approve_is_refused_clearly_and_changes_nothing(worker, db, task_queue):
    """Was a defect, now fixed (workflows/lead_to_order.py:233-241, activities/sales.py:111-112, api/starters/quotation.py, create):
    bob (alice's manager, the only sales manager) quotes a 25 % discount on her opportunity. The discount
    chain excludes the requester, so nobody can approve it: record_quotation raises Invalid inside the
    child, the child fails. But the quote Update had already succeeded and moved the workflow's stage to
    proposal, so the API answers a vague 409 ("this process has ended") instead of a 422 saying why, and
    the workflow now says proposal while the database still says qualification: moving the opportunity
    to proposal is refused with "already in proposal"."""
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    opp = await opportunity(p, db, "Globex Corporation")
    with pytest.raises(DomainError) as refused:
        await quotation.create(p, "bob", opp, lines(discount="25"), 14, Decimal(0))
    with db.read() as s:
        assert sales_svc.opportunity(s, opp).stage == "qualification"
    # The database says qualification, so proposal is a legal move; the workflow must agree.
    assert await lead_to_order.move_stage(p, actor(db, "alice"), opp, "proposal") == "proposal"
    assert isinstance(refused.value, Invalid), f"{type(refused.value).__name__}: {refused.value}"


async def test_a_direct_order_awaiting_finance_can_be_cancelled(worker, db, task_queue, monkeypatch):
    """Was a defect, now fixed (workflows/order_fulfilment.py:277-297, 321-326): cancelling a sales order while finance
    decides its credit is accepted by the validator (cancel_by set), but the handler waits for status
    "cancelled", which run() reaches only after the approval is decided and the stock reserved. So
    POST /api/processes/{id}/cancel answers 503 after 30 s, finance's task stays open in the inbox, and if
    finance then rejects, run() returns "rejected" without waiting for the handler (the caller gets
    'workflow execution already completed'); if finance approves, stock is reserved for a cancelled order
    and released again."""
    import api.platform as platform_mod
    from workflows.order_fulfilment import OrderFulfilment

    monkeypatch.setattr(platform_mod, "UPDATE_TIMEOUT", 5.0)
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    with db.read() as s:
        initech = s.execute(select(sales_svc.Customer).where(sales_svc.Customer.name == "Initech")).scalar_one()
    out = await order_fulfilment.create(p, "alice", initech.id, [sales.OrderLineIn(  # 25,000 over a 20,000 limit
        sku="FAN-200", qty=Decimal(50), unit_price=Decimal(500))], None)
    number = out["sales_order_id"]
    await eventually(db, lambda s: s.execute(select(Task).where(Task.business_key == number,
                                                                Task.status == "open")).first())
    handle = worker.get_workflow_handle(out["process_id"])
    assert await p.update(handle, OrderFulfilment.cancel, actor(db, "alice")) == "cancelled"
    with db.read() as s:
        assert not s.execute(select(Task).where(Task.business_key == number, Task.status == "open")).first()
        assert sales_svc.order(s, number).status == "cancelled"


async def test_a_decision_arriving_while_a_withdrawn_approval_closes_its_tasks_is_refused(worker, db, task_queue,
                                                                                          monkeypatch):
    """Was a defect, now fixed (workflows/approval.py:71-76, 129-132): once the Approval is cancelled (the quotation was
    withdrawn: its opportunity lost), nothing marks it closed, so until run() has finished closing its tasks
    the decide validator still accepts a decision on the open task (the API reads the task as open too). The
    decision is then written over the cancelled task (completed, approved by bob, an approval decision in
    the quotation's trail) although the quotation is rejected, and run() may end while the decide handler
    is still running (bob gets 'workflow execution already completed')."""
    import threading
    import time

    from domain.approvals import services as approvals_svc
    from domain.approvals.tables import ApprovalDecision
    from tests.helpers import open_task_for

    close = approvals_svc.close_open_tasks
    closing = threading.Event()

    def slow_close(session, workflow_id, status, reason, *actor):
        if workflow_id.endswith("/discount-approval"):
            closing.set()
            time.sleep(1.0)
        return close(session, workflow_id, status, reason, *actor)

    monkeypatch.setattr(approvals_svc, "close_open_tasks", slow_close)
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    opp = await opportunity(p, db, "Globex Corporation")
    number = (await quotation.create(p, "alice", opp, lines(discount="25"), 14, Decimal(0)))["quotation_id"]
    task = await open_task_for(db, number)
    await lead_to_order.lose(p, actor(db, "alice"), opp, "went elsewhere")
    assert await asyncio.to_thread(closing.wait, 10)
    with contextlib.suppress(DomainError):  # refused: the request was withdrawn
        await approval.decide(p, actor(db, "bob"), task.id, "approve", "fine by me")
    await eventually(db, lambda s: sales_svc.quotation(s, number).status == "rejected")
    await asyncio.sleep(1.5)
    with db.read() as s:
        row = s.get(Task, task.id)
        decisions = s.execute(select(ApprovalDecision).where(ApprovalDecision.task_id == task.id)).scalars().all()
        assert (row.status, row.decision, len(decisions)) == ("cancelled", None, 0)


async def test_a_loss_racing_the_customers_acceptance_lets_exactly_one_through(worker, db, task_queue):
    """Pins (works): the loss and the acceptance sent at once; the opportunity's lock decides, the loser is
    refused with a 409, and the database and the processes agree on the outcome."""
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    opp = await opportunity(p, db, "Globex Corporation")
    number = (await quotation.create(p, "alice", opp, lines(), 14, Decimal(0)))["quotation_id"]
    lost, accepted = await asyncio.gather(lead_to_order.lose(p, actor(db, "alice"), opp, "budget cut"),
                                          quotation.answer(p, actor(db, "alice"), number, accept=True),
                                          return_exceptions=True)
    assert [isinstance(r, Conflict) for r in (lost, accepted)].count(True) == 1, (lost, accepted)
    with db.read() as s:
        lead_process = sales_svc.opportunity(s, opp).process_id
    outcome = await worker.get_workflow_handle(lead_process).result()
    want = ("won", "accepted") if isinstance(lost, Conflict) else ("lost", "rejected")
    assert outcome == want[0]
    await eventually(db, lambda s: (sales_svc.opportunity(s, opp).stage, sales_svc.quotation(s, number).status)
                     == want)
    with db.read() as s:
        assert not s.execute(select(Task).where(Task.business_key == number, Task.status == "open")).first()
