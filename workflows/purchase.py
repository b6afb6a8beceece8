"""Purchase (采购申请 → 采购订单 → 收货): a requisition approved by amount, ordered from the items'
supplier and received, partly or wholly.

Process: record the requisition → Approval child (manager; + cfo above 5,000) → purchase order to
the supplier, on_order raised → goods receipts (Updates: an over-receipt is refused at once) each
move stock in and post inventory vs GRNI → received.
Waits: on the approval, on receipts, on the expected date: when it passes before everything
arrived, an alert task goes to the buyers (closed again when the goods are in).
Children: Approval."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from activities.purchasing import PurchaseActivities
    from domain import permissions
    from domain.approvals import rules as approval_rules
    from domain.core.errors import Conflict, DomainError
    from domain.org.people import Actor
    from domain.processes import ids
    from domain.purchasing import rules

from workflows.approval import start_approval
from workflows.common import approval_or_withdrawal, check_withdraw, refusal, run, set_stage
from workflows.production_order import notify


@workflow.defn
class Purchase:
    def __init__(self) -> None:
        self.draft: rules.RequisitionDraft | None = None
        self.status = "submitted"
        self.recorded = False
        self.order: rules.OrderState | None = None
        self.receipts = 0
        self.cancel_by: str | None = None
        self.cancel_refused: str | None = None  # the 409 for a cancel that came after the last decision
        self.ending: str | None = None  # the status being written as the requisition ends

    @workflow.run
    async def run(self, draft: rules.RequisitionDraft) -> str:
        self.draft = draft
        wf_id = workflow.info().workflow_id
        steps = await run(PurchaseActivities.record_requisition, draft, wf_id)
        self.status, self.recorded = "pending_approval", True
        set_stage("approval")
        child = await start_approval(
            approval_rules.ApprovalRequest(process_id=wf_id, process_type="purchase", business_key=draft.number,
                                           title=f"Purchase requisition {draft.number} by {draft.requester}: "
                                                 f"{draft.total}",
                                           amount=draft.total, requester=draft.requester, steps=steps),
            ids.approval(wf_id))
        outcome = await approval_or_withdrawal(child, lambda: self.cancel_by is not None, self._withdrawal)
        if outcome is None:
            return await self._close("cancelled")
        if self.cancel_by is not None:  # the approval took its last decision before the cancel: refused
            self.cancel_refused = approval_rules.late_withdrawal_refusal(self._withdrawal(), outcome)
            self.cancel_by = None
        if not outcome.approved:
            return await self._close("rejected")
        self.status = "approved"  # from here on a cancel is refused (Conflict)
        self.order = await run(PurchaseActivities.create_purchase_order, draft.number, wf_id, draft.requester,
                               workflow.now().date(), f"{wf_id}:po")
        self.status = "ordered"
        set_stage("awaiting goods")
        await self._await_goods(wf_id)
        self.status = "received"
        set_stage("received")
        await run(PurchaseActivities.set_requisition_status, draft.number, wf_id, "received", "received", True)
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
        await run(ApprovalActivities.close_open_tasks, alert_id, "completed", "goods received")

    def _received(self) -> bool:
        return self.order is not None and self.order.fully_received

    def _withdrawal(self) -> approval_rules.Withdrawal:
        assert self.draft is not None and self.cancel_by is not None
        return approval_rules.Withdrawal(by=self.cancel_by, document=f"requisition {self.draft.number}")

    async def _close(self, status: str) -> str:
        assert self.draft is not None
        self.ending = status
        set_stage(status)
        await run(PurchaseActivities.set_requisition_status, self.draft.number, workflow.info().workflow_id,
                  status, status, True)
        self.status = status
        await workflow.wait_condition(workflow.all_handlers_finished)
        return status

    @workflow.update
    async def recorded_state(self) -> str:
        await workflow.wait_condition(lambda: self.recorded)
        return self.status

    @workflow.update
    async def receive(self, cmd: rules.ReceiveCommand) -> rules.OrderState:
        if self.order is None and self.status == "approved":
            # The purchase order is being placed: its row may already be there (a receipt can name it) before
            # the workflow has the activity's answer. Wait for it rather than refuse a receipt that is right.
            await workflow.wait_condition(lambda: self.order is not None or self.status != "approved")
        new_state = self._check_receive(cmd)
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
    def _validate_receive(self, cmd: rules.ReceiveCommand) -> None:
        # While the order is being placed only who receives is checked; the lines once it is (the handler waits).
        self._check_receive(cmd, placing=self.order is None and self.status == "approved")

    def _check_receive(self, cmd: rules.ReceiveCommand, placing: bool = False) -> rules.OrderState | None:
        try:
            permissions.check(cmd.actor.roles, permissions.Action.PURCHASE_RECEIVE,
                              "only the warehouse, a buyer or an admin can receive goods")
            if placing:
                return None
            if self.order is None:
                raise Conflict(f"requisition {self.draft.number if self.draft else ''} is {self.ending or self.status} "
                               "and has no purchase order; goods are received only once it is ordered")
            return rules.apply_receipt(self.order, cmd.lines)
        except DomainError as e:
            raise refusal(e) from None

    @workflow.update
    async def cancel(self, actor: Actor) -> str:
        """Withdraws the requisition through its approval, which takes it or its last decision first: a cancel
        that comes after the last decision fails (409) and is on the trail."""
        self._check_cancel(actor)
        self.cancel_by = actor.username
        await workflow.wait_condition(lambda: self.status == "cancelled" or self.cancel_refused is not None)
        if self.status != "cancelled" and self.cancel_refused is not None:
            raise refusal(Conflict(self.cancel_refused))
        return self.status

    @cancel.validator
    def _validate_cancel(self, actor: Actor) -> None:
        self._check_cancel(actor)

    def _check_cancel(self, actor: Actor) -> None:
        assert self.draft is not None
        check_withdraw(actor, self.draft.requester, self.ending or self.status, self.cancel_by,
                       f"requisition {self.draft.number}")

    @workflow.query
    def current_status(self) -> str:
        return self.status

