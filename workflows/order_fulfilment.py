"""OrderFulfilment (以销定产): a sales order on its way to the customer, and back as revenue and margin.

Process: (direct orders: record, and finance approves one over credit) → reserve each line as far as stock
allows → if short: kitting, then MRP for what is missing (the run is stored) → its planned orders in one
batch (生产任务单批量新增): production orders become `ProductionOrder` processes, purchases one `Purchase`
process per supplier (approved by amount like any requisition) → wait for supply, reserving again each time
some arrives → ready to deliver → deliveries (Updates by the warehouse, the salesperson or an admin: the whole
order, or some lines and quantities of what is reserved, also while the rest waits for supply): each leaves stock
with its delivery note, cost of goods sold and its customer invoice (revenue, tax) in one transaction, and starts
that invoice's `CustomerInvoice` process; the order gets its cost and margin, delivery by delivery → completed
once everything is delivered. (Processes started before PARTIAL_DELIVERIES deliver once, the whole order.)
Waits: on supply (signals from the processes it started, and a look twice a day), on delivery, and on a cancel
by the salesperson (or an admin) until supply was ordered, which gives the reservations back.
Children: Approval (credit); ProductionOrder and Purchase processes, and a CustomerInvoice per delivery, started
as children that outlive it (ABANDON), linked to it by the sales order number."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.production import ProductionActivities
    from activities.sales import SalesActivities
    from domain.approvals import rules as approval_rules
    from domain.cash import collection
    from domain.core.errors import Conflict
    from domain.org.people import Actor
    from domain.processes import ids
    from domain.production import rules as production_rules
    from domain.sales import delivery, rules
    from domain.sales.rules import FulfilmentStatus as Status

import contextlib

from workflows.approval import start_approval
from workflows.common import (
    approval_or_withdrawal,
    child_queue,
    patched,
    refusal,
    refusing,
    run,
    search_attributes,
    set_stage,
    this_generation,
)
from workflows.customer_invoice import CustomerInvoice
from workflows.payment import tell_invoices
from workflows.production_order import ProductionOrder
from workflows.purchase import Purchase

PARTIAL_DELIVERIES = "partial-deliveries"  # workflow.patched: deliveries of some lines, each with its invoice
RECHECK = timedelta(hours=12)  # a look at stock besides the signals: ~730 a year, far inside the history limit


@workflow.defn
class OrderFulfilment:
    """Invariants: `cancel_by` and `deliver_by` are each set once, by the one cancel or delivery taken, and never
    both (each refuses the other); the run acts on them at its next wait and then `status` says what it did
    (cancelled or rejected; delivering, completed). `supply_ordered` turns true once production and purchasing
    are under way: from then on a cancel is refused. `short` is what the last reservation left short.

    Neither Update awaits an activity: each changes the state at once (so the next one is checked against it)
    and waits for the run, which alone writes to the database. So no handler can be caught half-way by another
    and none needs a lock; the run waits for them to finish before it returns."""

    def __init__(self) -> None:
        self.order: rules.OrderRef | None = None
        self.status = Status.RESERVING
        self.short: dict[str, str] = {}
        self.cancel_by: str | None = None
        self.deliver_by: str | None = None
        self.recorded = False
        self.supply_ordered = False
        self.arrivals = 0
        self.seen = 0  # arrivals already looked at
        self.plan_error: str | None = None
        # Partial deliveries (PARTIAL_DELIVERIES): the deliveries asked for and not yet done, in turn; each
        # asker's answer (the order's status, or the refusal) by its request's id; deliveries done; all delivered.
        self.partial = False
        self.requests: list[delivery.DeliveryRequest] = []
        self.answers: dict[int, str | ApplicationError] = {}
        self.asked = 0
        self.deliveries = 0
        self.done = False

    @workflow.run
    async def run(self, order: rules.OrderRef) -> str:
        self.order = order
        wf_id = workflow.info().workflow_id
        if order.lines:  # entered directly: record it, and over credit finance approves it first
            decision: rules.CreditDecision = await run(SalesActivities.record_direct_order, order, wf_id)
            steps = decision.steps
            self.recorded = True
            if steps:
                self.status = Status.PENDING_CREDIT_APPROVAL
                set_stage("credit approval")
                child = await start_approval(
                    approval_rules.ApprovalRequest(
                        process_id=wf_id, process_type="sales_order", business_key=order.number,
                        title=f"Sales order {order.number} " + (
                            f"of a customer on credit hold{' and over its credit' if decision.over_limit else ''}"
                            if decision.on_hold else "over the customer's credit"), amount=order.total,
                        requester=order.owner, steps=steps), ids.credit_approval(wf_id), salesperson=order.owner)
                # A cancel while finance decides withdraws the approval (its task closes) and the order; one that
                # comes after finance's last decision cancels the approved order (the trail says so).
                outcome = await approval_or_withdrawal(child, lambda: self.cancel_by is not None, lambda: (
                    approval_rules.Withdrawal(by=self.cancel_by or "", document=f"sales order {order.number}",
                                              refused_when_late=False)))
                if outcome is None or not outcome.approved or self.cancel_by is not None:
                    return await self._close(Status.CANCELLED if outcome is None or outcome.approved
                                             else Status.REJECTED)
        self.recorded = True
        self.short = await run(SalesActivities.reserve_sales_order, order.number, wf_id)
        if not patched("order-to-cost", order.generation):  # started before production existed: it only waits
            self.status = Status.WAITING_FOR_STOCK if self.short else Status.RESERVED
            set_stage(self.status)
            await workflow.wait_condition(lambda: self.cancel_by is not None)
            return await self._close(Status.CANCELLED)
        self.partial = patched(PARTIAL_DELIVERIES, order.generation)
        if self.short and self.cancel_by is None:
            await self._supply(order, wf_id)
        attempt = 0
        while self.short and self.cancel_by is None:
            self.status = Status.WAITING_FOR_SUPPLY
            self.seen = self.arrivals
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self.arrivals > self.seen or self.cancel_by is not None
                                              or bool(self.requests), timeout=RECHECK)
            if self.requests:  # a delivery of what is in stock while the rest waits (partial deliveries only)
                await self._deliver_requested(order, wf_id)
            if self.cancel_by is None:
                attempt += 1
                self.short = await run(SalesActivities.reserve_sales_order, order.number, wf_id, attempt)
        if self.cancel_by is not None:
            return await self._close(Status.CANCELLED)
        self.status = Status.PARTIALLY_DELIVERED if self.deliveries else Status.READY_TO_DELIVER
        set_stage(self.status)
        if self.partial:
            return await self._deliveries(order, wf_id)
        await workflow.wait_condition(lambda: self.cancel_by is not None or self.deliver_by is not None)
        if self.deliver_by is None:
            return await self._close(Status.CANCELLED)
        self.status = Status.DELIVERING
        await run(ProductionActivities.deliver, order.number, wf_id, self.deliver_by)
        self.status = Status.COMPLETED
        set_stage("completed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def _deliveries(self, order: rules.OrderRef, wf_id: str) -> str:
        """Ready to deliver: one delivery after another until everything is delivered (or, before any, a cancel)."""
        while not self.done:
            await workflow.wait_condition(lambda: bool(self.requests) or (self.cancel_by is not None
                                                                         and not self.deliveries))
            if not self.requests:
                return await self._close(Status.CANCELLED)
            await self._deliver_requested(order, wf_id)
            if not self.done:
                self.status = Status.PARTIALLY_DELIVERED
                set_stage(self.status)
        self.status = Status.COMPLETED
        set_stage("completed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def _deliver_requested(self, order: rules.OrderRef, wf_id: str) -> None:
        """The deliveries asked for, in turn: each one transaction (the goods, the note, the invoice), then its
        invoice's collection process; each asker gets the order's status, or the refusal (nothing stored)."""
        while self.requests:
            req = self.requests.pop(0)
            if self.done:
                self.answers[req.id] = refusal(Conflict(f"sales order {order.number} is delivered in full; nothing "
                                                        "more to deliver"))
                continue
            before, self.status = self.status, Status.DELIVERING
            self.deliveries += 1
            try:
                out: production_rules.Delivered = await run(
                    ProductionActivities.deliver_part, order.number, wf_id, req.actor, req.lines,
                    workflow.now().date(), self.deliveries)
            except ActivityError as e:
                cause = e.cause if isinstance(e.cause, ApplicationError) else None
                self.answers[req.id] = ApplicationError(cause.message if cause else str(e),
                                                        type=cause.type if cause else None, non_retryable=True)
                self.deliveries -= 1  # nothing was stored under its key: the next delivery takes it
                self.status = before
                continue
            if out.invoice and out.invoice_process_id:
                await workflow.start_child_workflow(
                    CustomerInvoice.run, collection.InvoiceRef(
                        number=out.invoice, customer=out.customer, owner=out.owner, total=out.total,
                        currency=out.currency, sales_order_number=order.number),
                    id=out.invoice_process_id, task_queue=child_queue("CustomerInvoice"),
                    parent_close_policy=ParentClosePolicy.ABANDON,
                    search_attributes=search_attributes("customer_invoice", out.invoice, out.owner or order.owner,
                                                        out.total, stage="collecting",
                                                        salesperson=out.owner or order.owner,
                                                        customer=out.customer or None))
            if out.touched:
                await tell_invoices(out.touched)
            self.done = out.completed
            self.status = Status.COMPLETED if out.completed else (
                Status.WAITING_FOR_SUPPLY if before == Status.WAITING_FOR_SUPPLY else Status.PARTIALLY_DELIVERED)
            self.answers[req.id] = self.status

    async def _supply(self, order: rules.OrderRef, wf_id: str) -> None:
        """Kitting and MRP for what is short, then every planned order started in one batch."""
        self.status = Status.PLANNING
        set_stage("planning")
        try:
            plan: production_rules.SupplyPlan = await run(ProductionActivities.plan_order, order.number, wf_id,
                                                          workflow.now().date())
            if not plan.planned:
                set_stage("waiting for supply")  # supply already on its way covers it: wait for it
                return
            prefix = ids.prefix_of_sales_order(wf_id)
            made, buys = await run(ProductionActivities.create_supply, order.number, plan.run_id, wf_id, prefix)
        except ActivityError as e:
            # Refused (no BOM, no supplier for a bought item): nothing was created; the order waits for
            # stock, says why, and can still be cancelled.
            message = e.cause.message if isinstance(e.cause, ApplicationError) else str(e)
            self.plan_error = message
            await run(ProductionActivities.planning_failed, wf_id, message)
            set_stage("planning failed")
            return
        self.supply_ordered = True  # from here on a cancel is refused: production and purchasing are under way
        set_stage("waiting for supply")
        for ref in made:
            await workflow.start_child_workflow(
                ProductionOrder.run, ref, id=ids.production_order(ref.number, prefix),
                task_queue=child_queue("ProductionOrder"), parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=search_attributes("production_order", ref.number, ref.planner, 0,
                                                    salesperson=order.owner))
        for draft in buys:
            await workflow.start_child_workflow(
                Purchase.run, this_generation(draft), id=ids.purchase(draft.number, prefix),
                task_queue=child_queue("Purchase"), parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=search_attributes("purchase", draft.number, draft.requester, draft.total,
                                                    salesperson=order.owner))

    @workflow.signal
    def supply_arrived(self) -> None:
        self.arrivals += 1

    async def _close(self, status: Status) -> str:
        """Cancelled (or refused credit): the order's reservations go back; handlers finish first."""
        assert self.order is not None
        await run(SalesActivities.cancel_sales_order, self.order.number, workflow.info().workflow_id,
                  rules.SalesOrderStatus(status))  # cancelled or rejected: the order's status too
        self.status = status
        set_stage(status)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    @workflow.update
    async def recorded_state(self) -> str:
        """Answers once the order is in the database, so the API's 201 is followed by a readable GET."""
        await workflow.wait_condition(lambda: self.recorded)
        return self.status

    @workflow.update
    async def cancel(self, actor: Actor) -> str:
        self._may_cancel(actor)
        self.cancel_by = actor.username
        await workflow.wait_condition(lambda: self.status in (Status.CANCELLED, Status.REJECTED))
        return self.status

    @cancel.validator
    def _may_cancel(self, actor: Actor) -> None:
        assert self.order is not None
        with refusing():
            rules.check_may_cancel_order(actor, self.order.number, self.order.owner, self.status,
                                         cancel_by=self.cancel_by, deliver_by=self.deliver_by,
                                         supply_ordered=self.supply_ordered)

    @workflow.update
    async def deliver(self, command: Actor | delivery.DeliverCommand) -> str:
        """The whole order (an Actor, as before partial deliveries), or the lines named (a DeliverCommand);
        answers once the delivery is stored with its invoice: the order's status then (partially delivered, or
        completed)."""
        actor, lines = delivery.command_parts(command)
        self._may_deliver(command)
        if not self.partial:  # started before partial deliveries: the whole order, once
            self.deliver_by = actor.username
            await workflow.wait_condition(lambda: self.status == Status.COMPLETED)
            return self.status
        self.asked += 1
        req = delivery.DeliveryRequest(id=self.asked, actor=actor.username, lines=lines or None)
        self.requests.append(req)
        self.deliver_by = self.deliver_by or actor.username  # from the first one on, a cancel is refused
        await workflow.wait_condition(lambda: req.id in self.answers)
        answer = self.answers.pop(req.id)
        if isinstance(answer, ApplicationError):
            if not self.deliveries and not self.requests:
                self.deliver_by = None  # refused, and nothing else delivered or asked: a cancel may come again
            raise answer
        return answer

    @deliver.validator
    def _may_deliver(self, command: Actor | delivery.DeliverCommand) -> None:
        assert self.order is not None
        actor, lines = delivery.command_parts(command)
        with refusing():
            if self.partial:
                delivery.check_may_deliver_part(actor, self.order.number, self.order.owner, self.status,
                                                cancel_by=self.cancel_by, lines=lines, short=self.short,
                                                done=self.done)
                return
            if lines:
                raise Conflict(f"sales order {self.order.number} was ordered before partial deliveries; it is "
                               "delivered whole (no lines)")
            rules.check_may_deliver_order(actor, self.order.number, self.order.owner, self.status,
                                          cancel_by=self.cancel_by, deliver_by=self.deliver_by, short=self.short)

    @workflow.query
    def current_status(self) -> str:
        return self.status

