"""Skeletons of our processes: the same shape, with every activity a no-op. Two of them here:
ExpenseClaim + Approval (bench/engine_floor.py) and LeadToOrder + Quotation + Approval + OrderFulfilment
(bench/lead_to_order.py, described further down).

Up to "approved", ExpenseClaim runs record_claim, starts an Approval child (open_task, then an
Update `decide` with a validator whose handler runs change_task), and runs set_claim_status; the
API waits on the parent's `recorded_state` Update. These workflows do exactly that and nothing
else (no database, no HTTP, no search attributes), so their rate on the same dev server and
worker process is the floor the engine allows for this shape.

With `engine_features` the skeleton also asks the engine for what ExpenseClaim asks beyond the
shape: custom search attributes at start (the starter passes them), two Stage upserts up to
"approved", and the approval step's SLA timer (started, then cancelled by the decision). That
variant is a diagnostic: it separates engine work our design asks for from our Python code."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker
from temporalio.workflow import ParentClosePolicy

_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), backoff_coefficient=2.0,
                     maximum_interval=timedelta(seconds=30))
_TIMEOUT = timedelta(seconds=30)
_SLA = timedelta(hours=48)
STAGE = SearchAttributeKey.for_keyword("Stage")


@dataclass
class SkelDecision:
    task_id: str
    actor: str
    decision: str


# --- activities: same names as ours, prefixed skel_, each doing nothing (sync, like ours) -----------

@activity.defn
def skel_record_claim(number: str, process_id: str) -> list[str]:
    return ["manager"]


@activity.defn
def skel_set_claim_status(number: str, process_id: str, status: str, stage: str, post_key: str | None,
                          close: bool) -> None:
    return None


@activity.defn
def skel_open_task(task_id: str, workflow_id: str) -> None:
    return None


@activity.defn
def skel_change_task(task_id: str, event: str, seq: int) -> None:
    return None


ACTIVITIES: list[Callable[..., Any]] = [skel_record_claim, skel_set_claim_status, skel_open_task, skel_change_task]


# --- workflows --------------------------------------------------------------------------------------

@workflow.defn
class SkelApproval:
    def __init__(self) -> None:
        self.task_id: str | None = None
        self.deciding: SkelDecision | None = None
        self.decided: SkelDecision | None = None
        self.seq = 0

    @workflow.run
    async def run(self, steps: list[str], sla_timer: bool = False) -> bool:
        approved = True
        for _step in steps:
            self.deciding, self.decided = None, None
            task_id = str(workflow.uuid4())
            await workflow.execute_activity(skel_open_task, args=[task_id, workflow.info().workflow_id],
                                            start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)
            self.task_id = task_id
            await workflow.wait_condition(lambda: self.decided is not None, timeout=_SLA if sla_timer else None)
            assert self.decided is not None
            if self.decided.decision != "approve":
                approved = False
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        return approved

    def _check(self, cmd: SkelDecision) -> None:
        if self.task_id is None or cmd.task_id != self.task_id or self.deciding is not None:
            raise ApplicationError("this task is already decided or no longer open", type="conflict",
                                   non_retryable=True)

    @workflow.update
    async def decide(self, cmd: SkelDecision) -> str:
        self._check(cmd)
        self.deciding = cmd
        self.seq += 1
        await workflow.execute_activity(skel_change_task, args=[cmd.task_id, "decided", self.seq],
                                        start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)
        self.decided = cmd
        return cmd.decision

    @decide.validator
    def _validate_decide(self, cmd: SkelDecision) -> None:
        self._check(cmd)

    @workflow.query
    def task(self) -> str | None:
        """The open task's id: what the inbox GET answers in our flow."""
        return self.task_id if self.deciding is None else None

    @workflow.update
    async def opened(self) -> str:
        """Answers the task's id once it is open: the engine's own wait for what the inbox GET polls."""
        await workflow.wait_condition(lambda: self.task_id is not None)
        assert self.task_id is not None
        return self.task_id


@workflow.defn
class SkelClaim:
    def __init__(self) -> None:
        self.status = "submitted"
        self.recorded = False

    @workflow.run
    async def run(self, number: str, engine_features: bool = False) -> str:
        wf_id = workflow.info().workflow_id
        steps = await workflow.execute_activity(skel_record_claim, args=[number, wf_id],
                                                start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)
        self.status, self.recorded = "pending_approval", True
        if engine_features:
            workflow.upsert_search_attributes([STAGE.value_set("approval")])
        child = await workflow.start_child_workflow(SkelApproval.run, args=[steps, engine_features],
                                                    id=f"{wf_id}/approval")
        await workflow.wait_condition(lambda: child.done())
        approved = child.result()
        self.status = "approved" if approved else "rejected"
        if engine_features:
            workflow.upsert_search_attributes([STAGE.value_set("awaiting payment")])
        await workflow.execute_activity(skel_set_claim_status,
                                        args=[number, wf_id, self.status, self.status, f"{wf_id}:accrual", False],
                                        start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    @workflow.update
    async def recorded_state(self) -> str:
        await workflow.wait_condition(lambda: self.recorded)
        return self.status


# --- LeadToOrder -----------------------------------------------------------------------------------
#
# The lead-to-order path (bench/lead_to_order.py) as far as the engine sees it. The parent is started by
# the client, which waits on its recorded_state Update (record_lead); the Update `qualify` records the
# verdict (settle_lead), after which the parent closes its follow-up tasks (close_open_tasks) and carries
# on as the opportunity. The Update `quote`, twice, starts a Quotation child; the client waits on the
# child's recorded_state Update (record_quotation). The first is sent at once; the second (a discount over
# 10 %) starts an Approval child first, decided by the client's `decide` Update, then is sent
# (set_quotation_status). The child's Update `accept` records the customer's yes (record_acceptance); the
# quotation closes its reminder tasks (close_open_tasks) and, the order being over credit, starts a second
# Approval child; decided, it creates the order (create_sales_order) and starts a fulfilment child
# (ABANDON: it outlives the quotation) that reserves stock (reserve_sales_order) and waits. The parent
# then withdraws its other quotation (a signal: close_open_tasks, set_quotation_status) and records the
# win (opportunity_won). 17 activities, each where ours runs it; no search attributes, upserts or timers.


@dataclass
class SkelQuote:
    number: str
    discount: bool  # over 10 %: the sales manager approves it before it is sent
    over_credit: bool  # accepted, it takes the customer over credit: finance approves the order


@activity.defn
def skel_record_lead(number: str, process_id: str) -> str:
    return "alice"


@activity.defn
def skel_settle_lead(number: str, process_id: str) -> str:
    return f"OP-{number}"


@activity.defn
def skel_close_open_tasks(workflow_id: str, status: str) -> int:
    return 0


@activity.defn
def skel_opportunity_won(opportunity: str, process_id: str, quotation: str) -> None:
    return None


@activity.defn
def skel_record_quotation(quote: SkelQuote, process_id: str) -> str:
    return "pending_approval" if quote.discount else "sent"


@activity.defn
def skel_set_quotation_status(number: str, process_id: str, status: str, close: bool) -> None:
    return None


@activity.defn
def skel_record_acceptance(number: str, process_id: str, over_credit: bool) -> list[str]:
    return ["finance"] if over_credit else []


@activity.defn
def skel_create_sales_order(number: str, process_id: str) -> str:
    return f"SO-{number}"


@activity.defn
def skel_reserve_sales_order(number: str, process_id: str) -> None:
    return None


LEAD_TO_ORDER_ACTIVITIES: list[Callable[..., Any]] = [
    skel_record_lead, skel_settle_lead, skel_close_open_tasks, skel_opportunity_won, skel_record_quotation,
    skel_set_quotation_status, skel_record_acceptance, skel_create_sales_order, skel_reserve_sales_order]


async def _act(fn: Callable[..., Any], *args: Any) -> Any:
    return await workflow.execute_activity(fn, args=list(args), start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)


@workflow.defn
class SkelFulfilment:
    def __init__(self) -> None:
        self.status = "reserving"
        self.cancelled = False

    @workflow.run
    async def run(self, order: str) -> str:
        await _act(skel_reserve_sales_order, order, workflow.info().workflow_id)
        self.status = "in_fulfilment"
        await workflow.wait_condition(lambda: self.cancelled)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.status = "completed" if self.status == "completed" else "cancelled"
        return self.status

    @workflow.signal
    def cancel(self) -> None:
        self.cancelled = True

    @workflow.update
    async def deliver(self) -> str:
        """The whole order delivered (the soak's end of a lead-to-order run): deliver_part, then completed."""
        if self.status != "in_fulfilment" or self.cancelled:
            raise ApplicationError(f"the order is {self.status}", type="conflict", non_retryable=True)
        self.status = "delivering"
        await _act(skel_deliver_part, workflow.info().workflow_id)
        self.status, self.cancelled = "completed", True  # the run ends
        return self.status

    @workflow.update
    async def reserved(self) -> str:
        """Answers once the order is in fulfilment."""
        await workflow.wait_condition(lambda: self.status != "reserving")
        return self.status


@workflow.defn
class SkelQuotation:
    def __init__(self) -> None:
        self.quote: SkelQuote | None = None
        self.status = "submitted"
        self.recorded = False
        self.answer: str | None = None
        self.accepting = False
        self.credit_steps: list[str] = []
        self.withdrawn = False
        self.order: str | None = None

    @workflow.run
    async def run(self, quote: SkelQuote) -> str:
        self.quote = quote
        wf_id = workflow.info().workflow_id
        self.status = await _act(skel_record_quotation, quote, wf_id)
        self.recorded = True
        if self.status == "pending_approval":
            child = await workflow.start_child_workflow(SkelApproval.run, args=[["sales_manager"]],
                                                        id=f"{wf_id}/discount-approval")
            await workflow.wait_condition(lambda: child.done())
            if not child.result():
                return await self._close("rejected")
            await _act(skel_set_quotation_status, quote.number, wf_id, "sent", False)
            self.status = "sent"
        await workflow.wait_condition(lambda: self.answer is not None or (self.withdrawn and not self.accepting))
        await _act(skel_close_open_tasks, f"{wf_id}:reminder", "completed")
        if self.answer != "accept":
            return await self._close("rejected")
        if self.credit_steps:
            child = await workflow.start_child_workflow(SkelApproval.run, args=[self.credit_steps],
                                                        id=f"{wf_id}/credit-approval")
            await workflow.wait_condition(lambda: child.done())
            if not child.result():
                return await self._close("rejected")
        order = await _act(skel_create_sales_order, quote.number, wf_id)
        await workflow.start_child_workflow(SkelFulfilment.run, order, id=f"{wf_id}/order-{order}",
                                            parent_close_policy=ParentClosePolicy.ABANDON)
        self.order, self.status = order, "accepted"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def _close(self, status: str) -> str:
        assert self.quote is not None
        await _act(skel_set_quotation_status, self.quote.number, workflow.info().workflow_id, status, True)
        self.status = status
        await workflow.wait_condition(workflow.all_handlers_finished)
        return status

    @workflow.update
    async def recorded_state(self) -> str:
        await workflow.wait_condition(lambda: self.recorded)
        return self.status

    @workflow.signal
    def withdraw(self) -> None:
        self.withdrawn = True

    def _check_accept(self) -> None:
        if self.status != "sent" or self.answer is not None or self.accepting or self.withdrawn:
            raise ApplicationError(f"the quotation is {self.status}", type="conflict", non_retryable=True)

    @workflow.update
    async def accept(self) -> str:
        self._check_accept()
        assert self.quote is not None
        self.accepting = True
        try:
            self.credit_steps = await _act(skel_record_acceptance, self.quote.number, workflow.info().workflow_id,
                                           self.quote.over_credit)
        finally:
            self.accepting = False
        self.answer = "accept"
        if self.credit_steps:
            self.status = "pending_credit_approval"
        await workflow.wait_condition(lambda: self.status in ("accepted", "pending_credit_approval", "rejected"))
        return self.status

    @accept.validator
    def _validate_accept(self) -> None:
        self._check_accept()

    @workflow.update
    async def reached(self, status: str) -> tuple[str, str | None]:
        """Its status and sales order once it has reached `status` or closed otherwise: the engine's own
        wait for what our flow polls GET /api/quotations/{id} for."""
        await workflow.wait_condition(lambda: self.status in (status, "rejected"))
        return self.status, self.order


@workflow.defn
class SkelLeadToOrder:
    def __init__(self) -> None:
        self.number = ""
        self.recorded = False
        self.status = "new"
        self.opportunity: str | None = None
        self.settling = False
        self.quotes: dict[str, Any] = {}  # quotation number → its child handle

    @workflow.run
    async def run(self, number: str) -> str:
        self.number = number
        wf_id = workflow.info().workflow_id
        await _act(skel_record_lead, number, wf_id)
        self.status, self.recorded = "assigned", True
        await workflow.wait_condition(lambda: self.opportunity is not None)
        await _act(skel_close_open_tasks, f"{wf_id}:follow-up", "completed")
        self.status = "qualification"

        def accepted() -> str | None:
            return next((n for n, h in self.quotes.items()
                         if h.done() and h.exception() is None and h.result() == "accepted"), None)

        await workflow.wait_condition(lambda: accepted() is not None)
        won = accepted()
        for handle in self.quotes.values():
            if not handle.done():
                await handle.signal(SkelQuotation.withdraw)
        await workflow.wait_condition(lambda: all(h.done() for h in self.quotes.values()))
        assert self.opportunity is not None and won is not None
        await _act(skel_opportunity_won, self.opportunity, wf_id, won)
        self.status = "won"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    @workflow.update
    async def recorded_state(self) -> str:
        await workflow.wait_condition(lambda: self.recorded)
        return self.status

    def _check_qualify(self) -> None:
        if not self.recorded or self.opportunity is not None or self.settling:
            raise ApplicationError("the lead is not open", type="conflict", non_retryable=True)

    @workflow.update
    async def qualify(self) -> str:
        self._check_qualify()
        self.settling = True
        try:
            opportunity: str = await _act(skel_settle_lead, self.number, workflow.info().workflow_id)
        finally:
            self.settling = False
        self.opportunity = opportunity
        return opportunity

    @qualify.validator
    def _validate_qualify(self) -> None:
        self._check_qualify()

    def _check_quote(self, quote: SkelQuote) -> None:
        if self.opportunity is None or quote.number in self.quotes:
            raise ApplicationError("no opportunity to quote on", type="conflict", non_retryable=True)

    @workflow.update
    async def quote(self, quote: SkelQuote) -> str:
        """Starts the quotation as a child; answers its id (the caller waits on that for its status)."""
        self._check_quote(quote)
        child_id = f"{workflow.info().workflow_id}/quotation-{quote.number}"
        self.quotes[quote.number] = await workflow.start_child_workflow(SkelQuotation.run, quote, id=child_id)
        if self.status == "qualification":
            self.status = "proposal"
        return child_id

    @quote.validator
    def _validate_quote(self, quote: SkelQuote) -> None:
        self._check_quote(quote)


# --- the soak's shapes (bench/soak.py) -------------------------------------------------------------
#
# Each process of the soak driven to its end, as the engine sees it. SkelPaidClaim is SkelClaim carried on
# to payment: approved, it posts the accrual (set_claim_status), opens finance's Pay task (open_task) and waits
# for the `pay` Update, which sets the payer and answers once the payment is posted (set_claim_status, closing)
# and the Pay task closed (close_open_tasks): 5 activities besides the approval's, as ExpenseClaim runs them.
# A rejected claim is SkelClaim itself. SkelPurchase is Purchase: record_requisition, an Approval child of one or two steps,
# create_purchase_order, then the `receive` Update (receive_goods) until all is received, and
# set_requisition_status (closing). The lead-to-order path is SkelLeadToOrder as it stands; its fulfilment
# child is then delivered as ours is: the `deliver` Update runs deliver_part and answers once the order is
# completed (ours also starts the invoice's collection process there: one child start fewer on the skeleton).


@activity.defn
def skel_record_requisition(number: str, process_id: str, steps: list[str]) -> list[str]:
    return steps


@activity.defn
def skel_create_purchase_order(number: str, process_id: str, key: str) -> str:
    return f"PO-{number}"


@activity.defn
def skel_receive_goods(order: str, process_id: str, qty: int, key: str) -> None:
    return None


@activity.defn
def skel_set_requisition_status(number: str, process_id: str, status: str, close: bool) -> None:
    return None


@activity.defn
def skel_deliver_part(process_id: str) -> None:
    return None


SOAK_ACTIVITIES: list[Callable[..., Any]] = [skel_record_requisition, skel_create_purchase_order,
                                             skel_receive_goods, skel_set_requisition_status, skel_deliver_part]


@workflow.defn
class SkelPaidClaim:
    def __init__(self) -> None:
        self.status = "submitted"
        self.recorded = False
        self.paid_by: str | None = None

    @workflow.run
    async def run(self, number: str) -> str:
        wf_id = workflow.info().workflow_id
        steps = await _act(skel_record_claim, number, wf_id)
        self.status, self.recorded = "pending_approval", True
        child = await workflow.start_child_workflow(SkelApproval.run, args=[steps], id=f"{wf_id}/approval")
        await workflow.wait_condition(lambda: child.done())
        if not child.result():
            self.status = "rejected"
            await _act(skel_set_claim_status, number, wf_id, "rejected", "rejected", None, True)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.status
        self.status = "approved"
        await _act(skel_set_claim_status, number, wf_id, "approved", "awaiting payment", f"{wf_id}:accrual", False)
        await _act(skel_open_task, str(workflow.uuid4()), f"{wf_id}:pay")  # finance's Pay task (ExpenseClaim PAY_TASK)
        await workflow.wait_condition(lambda: self.paid_by is not None)
        await _act(skel_set_claim_status, number, wf_id, "paid", "paid", f"{wf_id}:payment", True)
        await _act(skel_close_open_tasks, f"{wf_id}:pay", "completed")  # ... closed once paid
        self.status = "paid"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    @workflow.update
    async def recorded_state(self) -> str:
        await workflow.wait_condition(lambda: self.recorded)
        return self.status

    def _check_pay(self) -> None:
        if self.status != "approved" or self.paid_by is not None:
            raise ApplicationError(f"the claim is {self.status}", type="conflict", non_retryable=True)

    @workflow.update
    async def pay(self, actor: str) -> str:
        self._check_pay()
        self.paid_by = actor
        await workflow.wait_condition(lambda: self.status == "paid")
        return self.status

    @pay.validator
    def _validate_pay(self, actor: str) -> None:
        self._check_pay()

    @workflow.update
    async def reached(self, status: str) -> str:
        """Answers once the claim is `status` or closed otherwise: the engine's wait for our GET ?wait=&until=."""
        await workflow.wait_condition(lambda: self.status in (status, "rejected", "paid"))
        return self.status


@workflow.defn
class SkelPurchase:
    def __init__(self) -> None:
        self.status = "submitted"
        self.recorded = False
        self.qty = 0
        self.received = 0
        self.receipts = 0

    @workflow.run
    async def run(self, number: str, qty: int, steps: list[str]) -> str:
        wf_id = workflow.info().workflow_id
        self.qty = qty
        steps = await _act(skel_record_requisition, number, wf_id, steps)
        self.status, self.recorded = "pending_approval", True
        child = await workflow.start_child_workflow(SkelApproval.run, args=[steps], id=f"{wf_id}/approval")
        await workflow.wait_condition(lambda: child.done())
        if not child.result():
            self.status = "rejected"
            await _act(skel_set_requisition_status, number, wf_id, "rejected", True)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.status
        self.status = "approved"
        await _act(skel_create_purchase_order, number, wf_id, f"{wf_id}:po")
        self.status = "ordered"
        await workflow.wait_condition(lambda: self.received >= self.qty)
        self.status = "received"
        await _act(skel_set_requisition_status, number, wf_id, "received", True)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    @workflow.update
    async def recorded_state(self) -> str:
        await workflow.wait_condition(lambda: self.recorded)
        return self.status

    def _check_receive(self, qty: int) -> None:
        if self.status != "ordered" or self.received + qty > self.qty:
            raise ApplicationError(f"the requisition is {self.status}", type="conflict", non_retryable=True)

    @workflow.update
    async def receive(self, qty: int) -> str:
        self._check_receive(qty)
        self.received += qty
        self.receipts += 1
        wf_id = workflow.info().workflow_id
        await _act(skel_receive_goods, f"PO-{wf_id}", wf_id, qty, f"{wf_id}:receipt:{self.receipts}")
        return "received" if self.received >= self.qty else "partially_received"

    @receive.validator
    def _validate_receive(self, qty: int) -> None:
        self._check_receive(qty)

    @workflow.update
    async def reached(self, status: str) -> str:
        """Answers once the requisition is `status` or closed otherwise (what our client polls for)."""
        await workflow.wait_condition(lambda: self.status in (status, "rejected", "received"))
        return self.status


def build_skeleton_worker(client: Client, task_queue: str, threads: int = 32) -> Worker:
    """The skeleton's worker with every shape above, configured like worker.build_worker (sync activities on a
    thread pool)."""
    return Worker(client, task_queue=task_queue,
                  workflows=[SkelClaim, SkelApproval, SkelLeadToOrder, SkelQuotation, SkelFulfilment,
                             SkelPaidClaim, SkelPurchase],
                  activities=ACTIVITIES + LEAD_TO_ORDER_ACTIVITIES + SOAK_ACTIVITIES,
                  activity_executor=ThreadPoolExecutor(max_workers=threads), max_concurrent_activities=threads)
