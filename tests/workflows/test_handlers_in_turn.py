"""Update handlers that await an activity take their turn under their workflow's lock (issue 16, item 3): a receipt
waits for the one before it to be recorded and is counted only once the database took it; a claim and a release
of one task reach the inbox in the order the workflow took them. Activities real, one held at a gate; the
processes are started and sent their Updates directly (the workflows' own names), not through the API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities import all_activities
from activities.approvals import ApprovalActivities
from activities.purchasing import PurchaseActivities
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.approvals.tables import Task, TaskEvent
from domain.core import records
from domain.core.db import Database
from domain.inventory import stock as stock_svc
from domain.processes import ids
from domain.purchasing import rules as purchasing
from domain.purchasing import services as purchasing_svc
from domain.purchasing.rules import ReceiptLineIn, RequisitionLineIn
from domain.purchasing.tables import GoodsReceipt
from tests.conftest import terminate_processes
from tests.helpers import actor, eventually, open_task_for
from worker import WORKFLOWS
from workflows.approval import Approval
from workflows.common import search_attributes
from workflows.purchase import Purchase

SKU = "MOTOR-200W"


class Gate:
    """Holds the first call of one activity until the test opens it; counts the calls."""

    def __init__(self) -> None:
        self.reached, self.open, self.calls = threading.Event(), threading.Event(), 0

    def hold(self) -> bool:
        """Called by the activity: True for the first call, after the gate was opened."""
        self.calls += 1
        if self.calls > 1:
            return False
        self.reached.set()
        assert self.open.wait(20), "the test never opened the gate"
        return True


@asynccontextmanager
async def gated_worker(time_env: Any, db: Database, task_queue: str,
                       replace: list[Callable[..., Any]]) -> AsyncIterator[Client]:
    names = {getattr(a, "__temporal_activity_definition").name for a in replace}
    acts = [a for a in all_activities(db) if getattr(a, "__temporal_activity_definition").name not in names]
    with ThreadPoolExecutor(max_workers=8) as pool:
        async with Worker(time_env.client, task_queue=task_queue, workflows=WORKFLOWS,
                          activities=[*acts, *replace], activity_executor=pool):
            try:
                yield time_env.client
            finally:
                await terminate_processes(time_env.client, db)


async def submit(client: Client, db: Database, task_queue: str, qty: str) -> tuple[str, WorkflowHandle[Any, Any]]:
    """dave's requisition of `qty` motors (up to 25: frank approves it alone), recorded by its process."""
    lines = [RequisitionLineIn(sku=SKU, qty=Decimal(qty), est_unit_price=Decimal(200))]
    total = purchasing.requisition_total(lines)
    with db.write() as s:
        lead = stock_svc.items_by_sku(s, [SKU])[SKU].lead_time_days
        supplier = purchasing_svc.supplier_for(s, [SKU], None)
        draft = purchasing.RequisitionDraft(number=records.next_number(s, "PR"), requester="dave",
                                            supplier_id=supplier.id, justification="motors for the fan line",
                                            total=total, lines=lines, lead_time_days=lead,
                                            steps=approvals.chain_for(s, "purchase_requisition", total, "dave"))
    handle = await client.start_workflow(Purchase.run, draft, id=ids.purchase(draft.number, task_queue),
                                         task_queue=task_queue,
                                         search_attributes=search_attributes("purchase", draft.number, "dave", total))
    await handle.execute_update(Purchase.recorded_state)
    return draft.number, handle


async def ordered(client: Client, db: Database, task_queue: str, qty: str) -> tuple[str, WorkflowHandle[Any, Any]]:
    """The requisition approved by frank and ordered: its purchase order's number, and its process."""
    number, handle = await submit(client, db, task_queue, qty)
    task = await open_task_for(db, number)
    await client.get_workflow_handle(ids.approval(handle.id)).execute_update(
        Approval.decide, approval_rules.DecideCommand(task_id=task.id, actor=actor(db, "frank"), decision="approve"))

    def po_number(s: Any) -> str | None:
        req = purchasing_svc.requisition(s, number)
        return purchasing_svc.requisition_view(s, req)["purchase_order_id"] if req.status == "ordered" else None
    return await eventually(db, po_number), handle


async def test_a_receipt_the_database_refuses_never_ends_the_requisition_and_the_next_one_waits_for_it(
        time_env, db, task_queue):
    """The first receipt (all 10 motors) is held, then refused by the database. Meanwhile the process must not
    take the order as received (before the lock it did: it ended "received" with nothing received), and a second
    receipt of the same 10 waits for the first instead of being refused as an over-receipt against a count the
    database never took."""
    gate, real = Gate(), PurchaseActivities(db)

    @activity.defn(name="receive_goods")
    def receive_goods(po_number: str, process_id: str, lines: list[ReceiptLineIn], by: str,
                      key: str) -> purchasing.OrderState:
        if gate.hold():
            raise ApplicationError("the goods-in desk is closed for stocktaking", type="conflict", non_retryable=True)
        return real.receive_goods(po_number, process_id, lines, by, key)

    async with gated_worker(time_env, db, task_queue, [receive_goods]) as client:
        _, handle = await ordered(client, db, task_queue, "10")
        tens = purchasing.ReceiveCommand(actor=actor(db, "ivan"), lines=[ReceiptLineIn(sku=SKU, qty=Decimal("10"))])

        first = asyncio.create_task(handle.execute_update(Purchase.receive, tens))
        assert await asyncio.to_thread(gate.reached.wait, 10)
        second = asyncio.create_task(handle.execute_update(Purchase.receive, tens))
        await asyncio.sleep(0.5)
        assert not second.done(), second  # waits its turn: neither refused nor recorded
        assert gate.calls == 1
        assert await handle.query(Purchase.current_status) == "ordered"  # the held receipt is not counted yet

        gate.open.set()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await asyncio.wait_for(first, 10)
        assert "closed for stocktaking" in str(refused.value.cause.cause)
        state = await asyncio.wait_for(second, 10)
        assert state.fully_received
        assert await asyncio.wait_for(handle.result(), 10) == "received"
        with db.read() as s:
            assert [[ln.qty for ln in r.lines] for r in s.execute(select(GoodsReceipt)).scalars()] == [[10]]


async def test_a_claim_and_a_release_at_once_reach_the_inbox_in_the_order_they_were_taken(time_env, db, task_queue):
    """frank claims his task and releases it at once. The claim's change is held on its way to the inbox; the
    release waits for it (before the lock it was written first, and the claim's late write left the task claimed
    in the inbox while the workflow had it released)."""
    gate, real = Gate(), ApprovalActivities(db)
    events: list[str] = []

    @activity.defn(name="change_task")
    def change_task(change: approval_rules.TaskChange) -> None:
        events.append(change.event)
        if change.event == "claimed":
            gate.hold()
        real.change_task(change)

    async with gated_worker(time_env, db, task_queue, [change_task]) as client:
        number, handle = await submit(client, db, task_queue, "10")
        task = await open_task_for(db, number)
        approval = client.get_workflow_handle(ids.approval(handle.id))
        frank = approval_rules.TaskCommand(task_id=task.id, actor=actor(db, "frank"))

        claim = asyncio.create_task(approval.execute_update(Approval.claim, frank))
        assert await asyncio.to_thread(gate.reached.wait, 10)
        release = asyncio.create_task(approval.execute_update(Approval.unclaim, frank))
        await asyncio.sleep(0.5)
        assert events == ["claimed"] and not release.done()  # the release waits for the claim to be recorded

        gate.open.set()
        await asyncio.wait_for(claim, 10)
        await asyncio.wait_for(release, 10)
        assert events == ["claimed", "unclaimed"]
        with db.read() as s:
            assert s.get(Task, task.id).assignee is None
            trail = s.execute(select(TaskEvent.event).where(TaskEvent.task_id == task.id)
                              .order_by(TaskEvent.id)).scalars().all()
        assert trail[-2:] == ["claimed", "unclaimed"]
