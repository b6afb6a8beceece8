"""Purchase (采购申请 → 采购订单 → 收货): a requisition approved by amount, ordered from the items'
supplier and received, partly or wholly.

Process: record the requisition → Approval child (manager; + cfo above 5,000) → purchase order to
the supplier, on_order raised → goods receipts (Updates: an over-receipt is refused at once) each
move stock in and post inventory vs GRNI → received.
Waits: on the approval, on receipts, on the expected date: when it passes before everything
arrived, an alert task goes to the buyers (closed again when the goods are in).
Children: Approval."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from activities.purchasing import PurchaseActivities
    from domain import permissions
    from domain.approvals import rules as approval_rules
    from domain.processes import ids
    from domain.purchasing import rules
    from domain.purchasing.rules import RequisitionStatus as Status

from workflows.approval import start_approval
from workflows.common import WithdrawableDocument, patched, refusing, run, set_stage
from workflows.inspection import start_inspections
from workflows.production_order import notify

RECEIPTS_IN_TURN = "receipts-in-turn"  # workflow.patched: receipts are recorded one at a time (`receiving`)
INSPECTIONS = "inspection-lots"  # workflow.patched: goods a receipt quarantined get their Inspection process


@workflow.defn
class Purchase(WithdrawableDocument):
    """Invariants, besides those of a `WithdrawableDocument` (its `cancel` Update, its `recorded_state`): `order` is
    None until the purchase order is placed (status approved meanwhile: a receipt waits for it), then the order with
    the quantities received so far; `receipts` numbers the receipts taken (the idempotency key of each).

    Receipts are the one Update that awaits an activity, and they may come at once (two goods-in desks). Each is
    recorded under the `receiving` lock: it is checked against the receipts recorded before it, and counted in
    `order` only once the database took it, so the run, which ends the process when everything is received, never
    sees a receipt that the database may still refuse. Processes started before that lock (RECEIPTS_IN_TURN)
    replay the former way: each receipt counted at once, given back if the database refused it."""

    def __init__(self) -> None:
        super().__init__()
        self.draft: rules.RequisitionDraft | None = None
        self.order: rules.OrderState | None = None
        self.receipts = 0
        self.receiving = asyncio.Lock()  # held by a receipt from its check until the database took it

    @workflow.run
    async def run(self, draft: rules.RequisitionDraft) -> str:
        self.draft = draft
        wf_id = workflow.info().workflow_id
        steps = await run(PurchaseActivities.record_requisition, draft, wf_id)
        self.status, self.recorded = Status.PENDING_APPROVAL, True
        set_stage("approval")
        child = await start_approval(
            approval_rules.ApprovalRequest(process_id=wf_id, process_type="purchase", business_key=draft.number,
                                           title=f"Purchase requisition {draft.number} by {draft.requester}: "
                                                 f"{draft.total}",
                                           amount=draft.total, requester=draft.requester, steps=steps),
            ids.approval(wf_id))
        outcome = await self._approved_or_cancelled(child)
        if outcome is None:
            return await self._close(Status.CANCELLED)
        if not outcome.approved:
            return await self._close(Status.REJECTED)
        self.status = Status.APPROVED  # from here on a cancel is refused (Conflict)
        self.order = await run(PurchaseActivities.create_purchase_order, draft.number, wf_id, draft.requester,
                               workflow.now().date(), f"{wf_id}:po")
        self.status = Status.ORDERED
        set_stage("awaiting goods")
        await self._await_goods(wf_id)
        self.status = Status.RECEIVED
        set_stage("received")
        await run(PurchaseActivities.set_requisition_status, draft.number, wf_id, Status.RECEIVED, "received", True)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def _await_goods(self, wf_id: str) -> None:
        assert self.order is not None and self.order.expected_date is not None
        # Overdue once the expected day has ended (UTC).
        deadline = datetime.combine(self.order.expected_date + timedelta(days=1), time(0),
                                    tzinfo=workflow.now().tzinfo)
        wait = max(deadline - workflow.now(), timedelta(seconds=1))
        try:
            await workflow.wait_condition(lambda: self._received(), timeout=wait)
            return
        except TimeoutError:
            pass
        alert_id = f"{wf_id}:overdue"
        await run(PurchaseActivities.open_alert, approval_rules.TaskSpec(
            task_id=str(workflow.uuid4()), workflow_id=alert_id, process_id=wf_id, process_type="purchase",
            kind="alert", title=f"{self.order.number} is overdue: expected {self.order.expected_date}",
            business_key=self.order.number, amount=self.draft.total if self.draft else None,
            candidate_role=permissions.duty_role(permissions.Duty.PURCHASE_OVERDUE), priority=80, due_hours=24))
        set_stage("overdue")
        await workflow.wait_condition(lambda: self._received())
        await run(ApprovalActivities.close_open_tasks, alert_id, approval_rules.TaskStatus.COMPLETED, "goods received")

    def _received(self) -> bool:
        return self.order is not None and self.order.fully_received

    def _requester(self) -> str:
        assert self.draft is not None
        return self.draft.requester

    def _document(self) -> str:
        assert self.draft is not None
        return f"requisition {self.draft.number}"

    async def _write_end(self, status: str, reason: str) -> None:
        assert self.draft is not None
        await run(PurchaseActivities.set_requisition_status, self.draft.number, workflow.info().workflow_id,
                  status, status, True)

    @workflow.update
    async def receive(self, cmd: rules.ReceiveCommand) -> rules.OrderState:
        if self.order is None and self.status == Status.APPROVED:
            # The purchase order is being placed: its row may already be there (a receipt can name it) before
            # the workflow has the activity's answer. Wait for it rather than refuse a receipt that is right.
            await workflow.wait_condition(lambda: self.order is not None or self.status != Status.APPROVED)
        generation = self.draft.generation if self.draft is not None else 0
        if not patched(RECEIPTS_IN_TURN, generation):
            return await self._receive_at_once(cmd)
        wf_id = workflow.info().workflow_id
        async with self.receiving:
            new_state = self._receipt(cmd)  # against the receipts recorded before it, which this one may have awaited
            assert self.order is not None and new_state is not None
            self.receipts += 1
            state: rules.OrderState = await run(PurchaseActivities.receive_goods, self.order.number, wf_id, cmd.lines,
                                                cmd.actor.username, f"{wf_id}:receipt:{self.receipts}")
            self.order = new_state  # counted once recorded (a refusal of the database raised above: nothing counted)
        if state.quarantined and patched(INSPECTIONS, generation):
            await start_inspections(state.quarantined, "purchase-")
        if self.draft is not None and self.draft.notify:  # production orders waiting for these goods
            await notify(self.draft.notify)
        return state

    async def _receive_at_once(self, cmd: rules.ReceiveCommand) -> rules.OrderState:
        """A receipt as processes started before RECEIPTS_IN_TURN take it (their histories replay this)."""
        new_state = self._receipt(cmd)
        assert self.order is not None and new_state is not None
        self.order = new_state  # taken at once, so a concurrent receipt is checked against it
        self.receipts += 1
        try:
            state: rules.OrderState = await run(
                PurchaseActivities.receive_goods, self.order.number, workflow.info().workflow_id, cmd.lines,
                cmd.actor.username, f"{workflow.info().workflow_id}:receipt:{self.receipts}")
        except ActivityError:
            # The database refused the receipt: give back what this receipt had counted.
            self.order = rules.unapply_receipt(self.order, cmd.lines)
            raise
        if self.draft is not None and self.draft.notify:  # production orders waiting for these goods
            await notify(self.draft.notify)
        return state

    @receive.validator
    def _may_receive(self, cmd: rules.ReceiveCommand) -> None:
        # While the order is being placed only who receives is checked; the lines once it is (the handler waits).
        self._receipt(cmd, placing=self.order is None and self.status == Status.APPROVED)

    def _receipt(self, cmd: rules.ReceiveCommand, placing: bool = False) -> rules.OrderState | None:
        """The order after the receipt (None while it is being placed), or the refusal the Update fails with."""
        with refusing():
            return rules.check_may_receive(cmd.actor, self.draft.number if self.draft else "", self.shown_status,
                                           self.order, cmd.lines, placing=placing)

    @workflow.query
    def current_status(self) -> str:
        return self.status

