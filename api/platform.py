"""The application's handle on Temporal and the database: what the HTTP routes and the UI call.

Everything that changes a process goes to its workflow (start, Update); everything that reads
goes to the database projection. Domain refusals come back as DomainError, whichever side
raised them, so the HTTP layer maps them once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from anyio import to_thread
from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from domain import permissions
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.approvals.tables import Task
from domain.core import records as common
from domain.core.db import Database
from domain.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unavailable, from_kind
from domain.core.limits import check_plan_date
from domain.core.types import utcnow
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.expenses import rules as expenses
from domain.expenses import services as expenses_svc
from domain.inventory import stock as stock_svc
from domain.inventory import uoms as uoms_svc
from domain.manufacturing import boms as boms_svc
from domain.org import services as org
from domain.org.people import Actor
from domain.parties.tables import Customer
from domain.planning import services as planning_svc
from domain.production import rules as production
from domain.production import services as production_svc
from domain.purchasing import rules as purchasing
from domain.purchasing import services as purchasing_svc
from domain.sales import pricing_policies as pricing_svc
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from workflows.approval import Approval
from workflows.common import WORKFLOW_AREAS, area_queue, search_attributes
from workflows.expense_claim import ExpenseClaim
from workflows.lead_to_order import LeadToOrder
from workflows.order_fulfilment import OrderFulfilment
from workflows.production_order import ChangeCommand, ProductionOrder, ProgressCommand
from workflows.purchase import Purchase
from workflows.quotation import Quotation

T = TypeVar("T")
R = TypeVar("R")  # what an Update returns


UPDATE_TIMEOUT = 30.0  # seconds: a process that does not answer by then has no worker running


def expense_process_id(number: str, prefix: str = "") -> str:
    return f"{prefix}expense-claim-{number}"


def purchase_process_id(number: str, prefix: str = "") -> str:
    return f"{prefix}purchase-{number}"


def lead_process_id(number: str, prefix: str = "") -> str:
    return f"{prefix}lead-{number}"


def _as_domain_error(err: BaseException) -> DomainError:
    cause: BaseException | None = err.cause if isinstance(err, WorkflowUpdateFailedError) else err
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type:
            return from_kind(cause.type, cause.message)
        cause = getattr(cause, "cause", None)
    if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
        return Conflict("this process has ended; nothing more can be done on it")
    return Conflict(str(err) or "the process refused the request")


class Platform:
    def __init__(self, client: Client, db: Database, task_queue: str, id_prefix: str = "", *,
                 area_queues: bool = False):
        # id_prefix keeps business keys apart when several databases share one Temporal (tests).
        self.client, self.db, self.task_queue, self.id_prefix = client, db, task_queue, id_prefix
        self.area_queues = area_queues  # each process on its area's queue (settings.area_queues)

    def queue_for(self, workflow_type: str) -> str:
        """The task queue a process of `workflow_type` starts on: `task_queue`, or its area's queue."""
        return area_queue(self.task_queue, WORKFLOW_AREAS[workflow_type]) if self.area_queues else self.task_queue

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        def job() -> T:
            with self.db.read() as s:
                return fn(s, *args)
        return await to_thread.run_sync(job)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        def job() -> T:
            with self.db.write() as s:
                return fn(s, *args)
        return await to_thread.run_sync(job)

    async def update(self, handle: WorkflowHandle[Any, Any], update: UpdateMethodMultiParam[..., R], *args: Any,
                     recheck: Callable[[], Awaitable[object]] | None = None) -> R:
        """Send an Update; a refusal comes back as the DomainError it was. `recheck`, the caller's check of the
        document's state, runs again when the process has ended meanwhile, so the refusal names the state it
        ended in rather than only that it ended."""
        try:
            async with asyncio.timeout(UPDATE_TIMEOUT):
                result: R = await handle.execute_update(update, args=list(args))
                return result
        except (WorkflowUpdateFailedError, RPCError) as e:
            if recheck is not None and isinstance(e, RPCError) and e.status == RPCStatusCode.NOT_FOUND:
                await recheck()  # the process ended between the caller's check and the Update: say how it ended
            raise _as_domain_error(e) from None
        except (TimeoutError, RPCTimeoutOrCancelledError):
            raise Unavailable(f"process {handle.id} did not answer in {UPDATE_TIMEOUT:.0f} s; "
                              "is a worker running?") from None

    # --- expense claims ---------------------------------------------------------------------------

    async def submit_expense_claim(self, requester: str, lines: list[expenses.ExpenseLineIn]) -> dict[str, Any]:
        total, currency = expenses.total_of(lines)
        expenses.check_dates(lines, datetime.now(UTC).date())

        def allocate(s: Any) -> tuple[str, list[approval_rules.ChainStep]]:
            steps = approvals.chain_for(s, "expense_claim", total, requester)  # refuse now what can't be approved
            return common.next_number(s, "EC"), steps

        number, steps = await self.write(allocate)
        draft = expenses.ClaimDraft(number=number, requester=requester, currency=currency, total=total, lines=lines,
                                    steps=steps)
        handle = await self.client.start_workflow(
            ExpenseClaim.run, draft, id=expense_process_id(number, self.id_prefix),
            task_queue=self.queue_for("ExpenseClaim"),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search_attributes("expense_claim", number, requester, total))
        status = await self.update(handle, ExpenseClaim.recorded_state)
        return {"claim_id": number, "process_id": handle.id, "status": status, "total": total}

    async def cancel_expense_claim(self, actor: Actor, number: str) -> str:
        async def pending() -> None:  # its process may have ended: say the state
            claim = await self.read(expenses_svc.get, number)
            if claim.status not in ("submitted", "pending_approval"):
                raise Conflict(f"claim {number} is {claim.status}; only a claim pending approval can be cancelled")

        await pending()
        handle = self.client.get_workflow_handle(expense_process_id(number, self.id_prefix))
        return await self.update(handle, ExpenseClaim.cancel, actor, recheck=pending)

    async def pay_expense_claim(self, actor: Actor, number: str) -> str:
        async def payable() -> None:
            claim = await self.read(expenses_svc.get, number)
            if claim.status == "paid":  # its process has ended: say when it was paid, not just "ended"
                on = f" on {claim.paid_at:%Y-%m-%d %H:%M} UTC" if claim.paid_at else ""
                raise Conflict(f"claim {number} is already paid{on}; nothing more to pay")
            if claim.status in ("rejected", "cancelled"):
                raise Conflict(f"claim {number} is {claim.status}; only an approved claim can be paid")

        await payable()
        handle = self.client.get_workflow_handle(expense_process_id(number, self.id_prefix))
        return await self.update(handle, ExpenseClaim.pay, actor, recheck=payable)

    # --- purchasing -------------------------------------------------------------------------------

    async def submit_requisition(self, requester: str, lines: list[purchasing.RequisitionLineIn],
                                 justification: str, supplier_id: int | None) -> dict[str, Any]:
        total = purchasing.requisition_total(lines)

        def allocate(s: Any) -> tuple[str, int, int, list[approval_rules.ChainStep]]:
            items = stock_svc.items_by_sku(s, [ln.sku for ln in lines])
            uoms_svc.check_lines(s, [(ln.sku, ln.qty) for ln in lines])
            supplier = purchasing_svc.supplier_for(s, [ln.sku for ln in lines], supplier_id)
            steps = approvals.chain_for(s, "purchase_requisition", total, requester)
            lead = max(i.lead_time_days for i in items.values())
            return common.next_number(s, "PR"), supplier.id, lead, steps

        number, sup_id, lead, steps = await self.write(allocate)
        draft = purchasing.RequisitionDraft(number=number, requester=requester, supplier_id=sup_id,
                                            justification=justification, total=total, lines=lines,
                                            lead_time_days=lead, steps=steps)
        handle = await self.client.start_workflow(
            Purchase.run, draft, id=purchase_process_id(number, self.id_prefix),
            task_queue=self.queue_for("Purchase"),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search_attributes("purchase", number, requester, total))
        status = await self.update(handle, Purchase.recorded_state)
        return {"requisition_id": number, "process_id": handle.id, "status": status, "total": total}

    async def receive_goods(self, actor: Actor, po_number: str,
                            lines: list[purchasing.ReceiptLineIn]) -> purchasing.OrderState:
        po = await self.read(purchasing_svc.order, po_number)
        await self.read(uoms_svc.check_lines, [(ln.sku, ln.qty) for ln in lines], "the quantity received")
        handle = self.client.get_workflow_handle(po.process_id)
        return await self.update(handle, Purchase.receive,
                                 purchasing.ReceiveCommand(actor=actor, lines=lines))

    async def cancel_requisition(self, actor: Actor, number: str) -> str:
        async def pending() -> None:  # its process may have ended: say the state
            req = await self.read(purchasing_svc.requisition, number)
            if req.status not in ("submitted", "pending_approval"):
                raise Conflict(f"requisition {number} is {req.status}; only a requisition pending approval can be "
                               "cancelled")

        await pending()
        handle = self.client.get_workflow_handle(purchase_process_id(number, self.id_prefix))
        return await self.update(handle, Purchase.cancel, actor, recheck=pending)

    # --- leads ------------------------------------------------------------------------------------

    async def create_lead(self, creator: str, lead: crm.LeadIn, owner: str | None) -> dict[str, Any]:
        def allocate(s: Any) -> str:
            who = org.person(s, owner) if owner is not None else None
            if owner is not None and (who is None or not permissions.may(who.roles, permissions.Action.LEAD_OWN)):
                held_by = " or ".join(sorted(permissions.roles_for(permissions.Action.LEAD_OWN)))
                raise Invalid(f"{owner} does not hold the role {held_by}, so cannot own a lead")
            return common.next_number(s, "LD")

        number = await self.write(allocate)
        draft = crm.LeadDraft(number=number, created_by=creator, lead=lead, owner=owner)
        handle = await self.client.start_workflow(
            LeadToOrder.run, draft, id=lead_process_id(number, self.id_prefix),
            task_queue=self.queue_for("LeadToOrder"),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search_attributes("lead_to_order", number, owner or creator, lead.estimated_value,
                                           salesperson=owner, customer=lead.company))
        status = await self.update(handle, LeadToOrder.recorded_state)
        return {"lead_id": number, "process_id": handle.id, "status": status}

    async def _lead_handle(self, number: str) -> WorkflowHandle[Any, Any]:
        process_id = await self.read(lambda s: crm_svc.lead(s, number).process_id)
        return self.client.get_workflow_handle(process_id)

    async def qualify_lead(self, cmd: crm.QualifyCommand, number: str) -> str | None:
        return await self.update(await self._lead_handle(number), LeadToOrder.qualify, cmd)

    async def log_lead_activity(self, cmd: crm.ActivityCommand, number: str) -> int:
        return await self.update(await self._lead_handle(number), LeadToOrder.log_activity, cmd)

    # --- quotations -------------------------------------------------------------------------------

    async def create_quotation(self, creator: str, opportunity: str, lines: list[sales.QuotationLineIn],
                               valid_days: int, tax_rate: Decimal) -> dict[str, Any]:
        """Numbered here, started by the opportunity's process (a child of it), recorded by the child."""
        priced = sales.price(lines, tax_rate)  # refuse bad lines before anything is numbered

        def allocate(s: Any) -> tuple[str, str, Actor]:
            opp = sales_svc.opportunity(s, opportunity)
            if opp.stage in crm.CLOSED_STAGES:
                raise Conflict(f"opportunity {opp.number} is {opp.stage}; no more quotations on it")
            stock_svc.items_by_sku(s, [ln.sku for ln in lines])
            uoms_svc.check_lines(s, [(ln.sku, ln.qty) for ln in lines])
            # Refuse now a price nobody could approve (a discount, a line under cost, a margin under the policy).
            pricing_svc.chain(s, pricing_svc.review(s, lines), priced.total, creator)
            return common.next_number(s, "QT"), opp.process_id, org.actor(s, creator)

        number, process_id, actor = await self.write(allocate)
        draft = sales.QuotationDraft(number=number, opportunity=opportunity, created_by=creator,
                                     issued_on=datetime.now(UTC).date(), valid_days=valid_days, tax_rate=tax_rate,
                                     lines=lines, id_prefix=self.id_prefix)
        child_id = await self.update(self.client.get_workflow_handle(process_id), LeadToOrder.quote,
                                     sales.QuoteCommand(actor=actor, draft=draft))
        status = await self.update(self.client.get_workflow_handle(child_id), Quotation.recorded_state)
        return {"quotation_id": number, "process_id": child_id, "status": status, "total": priced.total}

    async def _opportunity_handle(self, number: str) -> WorkflowHandle[Any, Any]:
        opp = await self.read(sales_svc.opportunity, number)
        if opp.stage in crm.CLOSED_STAGES:  # its process has ended: say why, not just "ended"
            raise Conflict(f"opportunity {number} is already {opp.stage}")
        return self.client.get_workflow_handle(opp.process_id)

    async def move_opportunity(self, actor: Actor, number: str, stage: str) -> str:
        cmd = crm.StageCommand(actor=actor, stage=stage)
        return await self.update(await self._opportunity_handle(number), LeadToOrder.move_stage, cmd)

    async def lose_opportunity(self, actor: Actor, number: str, reason: str) -> list[str]:
        cmd = crm.LoseCommand(actor=actor, reason=reason)
        return await self.update(await self._opportunity_handle(number), LeadToOrder.lose, cmd)

    async def create_sales_order(self, owner: str, customer_id: int, lines: list[sales.OrderLineIn],
                                 requested_date: date | None) -> dict[str, Any]:
        total = sales.order_total(lines)
        if requested_date is not None:
            check_plan_date(requested_date, datetime.now(UTC).date(), "the requested date")

        def allocate(s: Any) -> tuple[str, str]:
            customer = s.get(Customer, customer_id)
            if customer is None:
                raise NotFound(f"no customer {customer_id}")
            stock_svc.items_by_sku(s, [ln.sku for ln in lines])
            uoms_svc.check_lines(s, [(ln.sku, ln.qty) for ln in lines])
            boms_svc.check_makeable(s, [ln.sku for ln in lines])
            return common.next_number(s, "SO"), customer.name

        number, customer_name = await self.write(allocate)
        ref = sales.OrderRef(number=number, owner=owner, customer_id=customer_id, lines=lines,
                             requested_date=requested_date, total=total)
        handle = await self.client.start_workflow(
            OrderFulfilment.run, ref, id=f"{self.id_prefix}sales-order-{number}",
            task_queue=self.queue_for("OrderFulfilment"),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search_attributes("sales_order", number, owner, total, salesperson=owner,
                                           customer=customer_name))
        await self.update(handle, OrderFulfilment.recorded_state)
        return {"sales_order_id": number, "process_id": handle.id, "total": total}

    async def answer_quotation(self, actor: Actor, number: str, accept: bool,
                               reason: str = "") -> sales.Accepted:
        q = await self.read(sales_svc.quotation, number)
        if q.status in ("accepted", "rejected", "expired"):  # its process has ended: say why, not just "ended"
            if q.status == "rejected" and q.reason:
                raise Conflict(f"quotation {number} is rejected ({q.reason})")
            sales.check_acceptable(number, q.status, q.valid_until, datetime.now(UTC).date())
        handle = self.client.get_workflow_handle(q.process_id)
        update = Quotation.accept if accept else Quotation.reject
        return await self.update(handle, update,
                                 sales.AcceptCommand(actor=actor, reason="" if accept else reason))

    # --- production ---------------------------------------------------------------------------------

    async def _production_handle(self, number: str, *quantities: tuple[str, Decimal | None]
                                 ) -> WorkflowHandle[Any, Any]:
        """The order's process; each (what, qty) given must be whole when the order's item is counted whole."""
        def load(s: Any) -> str:
            row = production_svc.order(s, number)
            for what, qty in quantities:
                if qty is not None:
                    uoms_svc.check_lines(s, [(row.sku, qty)], what)
            return row.process_id
        return self.client.get_workflow_handle(await self.read(load))

    async def report_progress(self, actor: Actor, number: str,
                              progress: production.ProgressIn) -> production.ProductionState:
        handle = await self._production_handle(number, ("the completed quantity", progress.completed_qty),
                                               ("the scrap quantity", progress.scrap_qty))
        return await self.update(handle,
                                 ProductionOrder.progress, ProgressCommand(actor=actor, progress=progress))

    async def request_production_change(self, actor: Actor, number: str,
                                        change: production.ChangeIn) -> str:
        if change.due_date is not None:
            check_plan_date(change.due_date, datetime.now(UTC).date(), "the new due date")
        handle = await self._production_handle(number, ("the new quantity", change.qty))
        return await self.update(handle,
                                 ProductionOrder.request_change, ChangeCommand(actor=actor, change=change))

    async def supply_arrived(self, sku: str) -> list[str]:
        """Stock of `sku` was added outside a purchase (an adjustment): tell each process waiting for it, at once.
        A signal lost to a crash right after the commit only delays: the processes look again on their own timer."""
        told = []
        for process_id in await self.read(planning_svc.waiting_for, sku):
            try:
                await self.client.get_workflow_handle(process_id).signal("supply_arrived")
                told.append(process_id)
            except RPCError as e:
                if e.status != RPCStatusCode.NOT_FOUND:  # one that has just ended waits for nothing
                    raise
        return told

    async def deliver_sales_order(self, actor: Actor, number: str) -> str:
        so = await self.read(sales_svc.order, number)
        if so.status in ("completed", "cancelled"):
            raise Conflict(f"sales order {number} is {so.status}; nothing more to deliver")
        return await self.update(self.client.get_workflow_handle(so.process_id),
                                 OrderFulfilment.deliver, actor)

    # --- tasks ------------------------------------------------------------------------------------

    async def _open_task(self, task_id: str) -> Task:
        task: Task | None = await self.read(lambda s, tid: s.get(Task, tid), task_id)
        if task is None:
            raise NotFound(f"no task {task_id}")
        if task.status != "open":
            raise Conflict(f"this task is already {task.status}")
        if task.kind != "approval":
            raise Conflict("this is an alert; it closes by itself when its cause is resolved")
        return task

    async def decide(self, actor: Actor, task_id: str, decision: str, comment: str) -> Task:
        task = await self._open_task(task_id)
        if decision not in ("approve", "reject"):
            raise Invalid("decision must be approve or reject")
        handle = self.client.get_workflow_handle(task.workflow_id)
        record: approval_rules.DecisionRecord = await self.update(handle, Approval.decide, approval_rules.DecideCommand(
            task_id=task_id, actor=actor, decision=decision, comment=comment),
            recheck=lambda: self._open_task(task_id))
        # The workflow answered once the decision was recorded: the task as it now stands, without re-reading.
        task.status, task.decision, task.decided_by = "completed", record.decision, record.decided_by
        task.comment, task.closed_at = record.comment, utcnow()
        return task

    async def task_command(self, verb: str, actor: Actor, task_id: str,
                           target: str | None = None, delegate: bool = False) -> Task:
        task = await self._open_task(task_id)
        target_actor = None
        if target is not None:
            target_actor = await self.read(org.actor, target)
        update = {"claim": Approval.claim, "unclaim": Approval.unclaim, "reassign": Approval.reassign}[verb]
        handle = self.client.get_workflow_handle(task.workflow_id)
        await self.update(handle, update, approval_rules.TaskCommand(task_id=task_id, actor=actor,
                                                                     target=target_actor, delegate=delegate),
                          recheck=lambda: self._open_task(task_id))
        return await self.read(lambda s, tid: s.get(Task, tid), task_id)


__all__ = ["Forbidden", "Platform"]
