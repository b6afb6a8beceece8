"""OrderFulfilment: a sales order on its way to the customer. This first version reserves stock and
waits: kitting, MRP, production, delivery and costing come with the order-to-cost process.

Process: reserve each line as far as stock allows (the rest is short) → wait.
Waits: on the salesperson's (or an admin's) cancel, which gives the reservations back.
Children: none yet."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.sales import SalesActivities
    from domain import approvals as approval_rules
    from domain import sales as rules
    from domain.errors import Conflict, DomainError, Forbidden

from workflows.approval import start_approval
from workflows.common import approval_or_withdrawal, refusal, run, set_stage


@workflow.defn
class OrderFulfilment:
    def __init__(self) -> None:
        self.order: rules.OrderRef | None = None
        self.status = "reserving"
        self.short: dict[str, str] = {}
        self.cancel_by: str | None = None
        self.recorded = False

    @workflow.run
    async def run(self, order: rules.OrderRef) -> str:
        self.order = order
        wf_id = workflow.info().workflow_id
        if order.lines:  # entered directly: record it, and over credit finance approves it first
            steps = await run(SalesActivities.record_direct_order, order, wf_id)
            self.recorded = True
            if steps:
                self.status = "pending_credit_approval"
                set_stage("credit approval")
                child = await start_approval(
                    approval_rules.ApprovalRequest(
                        process_id=wf_id, process_type="sales_order", business_key=order.number,
                        title=f"Sales order {order.number} over the customer's credit", amount=order.total,
                        requester=order.owner, steps=steps), f"{wf_id}/credit-approval", salesperson=order.owner)
                # A cancel while finance decides withdraws the approval (its task closes) and the order.
                outcome = await approval_or_withdrawal(child, lambda: self.cancel_by is not None)
                if outcome is None or not outcome.approved:
                    return await self._close("cancelled" if outcome is None else "rejected")
        self.recorded = True
        self.short = await run(SalesActivities.reserve_sales_order, order.number, wf_id)
        self.status = "waiting for stock" if self.short else "reserved"
        set_stage(self.status)
        await workflow.wait_condition(lambda: self.cancel_by is not None)
        return await self._close("cancelled")

    async def _close(self, status: str) -> str:
        """Cancelled (or refused credit): the order's reservations go back; handlers finish first."""
        assert self.order is not None
        await run(SalesActivities.cancel_sales_order, self.order.number, workflow.info().workflow_id, status)
        self.status = status
        set_stage(status)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    @workflow.update
    async def recorded_state(self) -> str:
        """Answers once the order is in the database, so the API's 201 is followed by a readable GET."""
        await workflow.wait_condition(lambda: self.recorded)
        return self.status

    def _check_cancel(self, actor: approval_rules.Actor) -> None:
        assert self.order is not None
        try:
            if actor.username != self.order.owner and not {"sales_manager", "admin"} & set(actor.roles):
                raise Forbidden(f"only {self.order.owner} (the salesperson), a sales manager or an admin can cancel "
                                f"sales order {self.order.number}")
            if self.cancel_by is not None:  # a cancel during reservation is honoured right after it
                raise Conflict(f"sales order {self.order.number} is {self.status}")
        except DomainError as e:
            raise refusal(e) from None

    @workflow.update
    async def cancel(self, actor: approval_rules.Actor) -> str:
        self._check_cancel(actor)
        self.cancel_by = actor.username
        await workflow.wait_condition(lambda: self.status in ("cancelled", "rejected"))
        return self.status

    @cancel.validator
    def _validate_cancel(self, actor: approval_rules.Actor) -> None:
        self._check_cancel(actor)

    @workflow.query
    def current_status(self) -> str:
        return self.status
