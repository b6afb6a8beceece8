"""CustomerInvoice (应收账款催收): collecting one customer invoice.

Process: the invoice is issued and posted with its delivery (one transaction, by OrderFulfilment's delivery), so
this process only collects → durable timers from the cash policy's dunning schedule: a reminder before it is due,
then each dunning level, each an inbox task for the salesperson and one for finance (saying when the customer is on
credit hold) → ends when the invoice is paid (payments signal `payment_allocated`; it also reads the invoice again
at each timer, so a signal lost to a crash only delays) or written off.
Write-off: finance asks (the `write_off` Update); the cfo decides (an Approval child) → approved: what is still owed
goes to bad debts, written off; rejected: collecting again.
Waits: on the reminder days, on payments, on the write-off's approval.
Children: Approval (the write-off)."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.customer_invoices import CustomerInvoiceActivities as Activities
    from domain.approvals import rules as approval_rules
    from domain.cash import collection
    from domain.cash.collection import CollectionStatus as Status
    from domain.core.errors import Conflict
    from domain.org.people import Actor
    from domain.processes import ids

from workflows.approval import start_approval
from workflows.common import refusal, refusing, run, set_stage


def _today() -> date:
    return workflow.now().date()


def _at(day: date) -> datetime:
    """The start of `day` (UTC): a reminder is raised as its day begins."""
    return datetime.combine(day, time(0), tzinfo=UTC)


@workflow.defn
class CustomerInvoice:
    """Invariants: `raised` is the last reminder level raised (-1: none), only ever rising; `payments` counts the
    `payment_allocated` signals (each wakes the run to read the invoice again). `asked` is the one write-off
    asked for, held until the cfo decides (then cleared; `approval` is its child meanwhile): a second is refused
    while it stands. The run alone writes to the database; the write-off Update awaits no activity: it sets
    `asked` and waits for the run to start the approval (or to refuse it: `refused`)."""

    def __init__(self) -> None:
        self.ref: collection.InvoiceRef | None = None
        self.status = Status.COLLECTING
        self.raised = collection.NONE_RAISED
        self.payments = 0
        self.seen = 0  # payments already looked at
        self.asked: collection.WriteOffRequest | None = None
        self.approval: Any = None  # the write-off's Approval child, while the cfo decides
        self.refused: ApplicationError | None = None  # why the write-off just asked cannot go to the cfo

    @workflow.run
    async def run(self, ref: collection.InvoiceRef) -> str:
        self.ref = ref
        wf_id = workflow.info().workflow_id
        set_stage(Status.COLLECTING)
        state: collection.CollectionState = await run(Activities.collection_state, ref.number, _today())
        while not state.closed:
            due = collection.due_now(state.schedule, self.raised, state.issued_on, _today())
            if due is not None:
                state = await run(Activities.raise_reminder, ref.number, wf_id, due.level, _today(),
                                  [str(workflow.uuid4()), str(workflow.uuid4())])
                self.raised = due.level
                set_stage("reminder" if due.level == 0 else f"dunning level {due.level}")
                continue
            nxt = collection.next_reminder(state.schedule, self.raised, state.issued_on, _today())
            timeout = None if nxt is None else max(_at(nxt.on) - workflow.now(), timedelta(seconds=1))
            self.seen = self.payments
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self.payments > self.seen or self._asked() or self._decided(),
                                              timeout=timeout)
            if self._asked():
                await self._ask_cfo(wf_id, state)
            elif self._decided():
                await self._apply_decision(wf_id)
            state = await run(Activities.collection_state, ref.number, _today())
        await self._withdraw_approval(state.status)
        await run(Activities.end_collection, ref.number, wf_id, state.status)
        self.status = state.status
        set_stage(state.status)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    def _asked(self) -> bool:
        return self.asked is not None and self.approval is None

    def _decided(self) -> bool:
        return self.approval is not None and self.approval.done()

    async def _ask_cfo(self, wf_id: str, state: collection.CollectionState) -> None:
        assert self.ref is not None and self.asked is not None
        w = self.asked
        try:
            steps = await run(Activities.write_off_steps, self.ref.number, wf_id, w.by, w.reason)
        except ActivityError as e:  # nobody could approve it: the Update fails, nothing changes
            cause = e.cause if isinstance(e.cause, ApplicationError) else None
            self.refused = ApplicationError(cause.message if cause else str(e), type=cause.type if cause else None,
                                            non_retryable=True)
            self.asked = None
            return
        self.approval = await start_approval(
            approval_rules.ApprovalRequest(
                process_id=wf_id, process_type="customer_invoice", business_key=self.ref.number,
                title=f"Write off {state.outstanding:,.2f} {state.currency} of invoice {self.ref.number} "
                      f"({self.ref.customer}): {w.reason}"[:300],
                amount=state.outstanding, requester=w.by, steps=steps),
            ids.write_off_approval(wf_id), customer=self.ref.customer or None, salesperson=self.ref.owner or None)
        self.status = Status.WRITE_OFF_PENDING
        set_stage(Status.WRITE_OFF_PENDING)

    async def _apply_decision(self, wf_id: str) -> None:
        assert self.ref is not None and self.asked is not None
        outcome: approval_rules.ApprovalOutcome = self.approval.result()
        w = self.asked
        if outcome.approved:
            with contextlib.suppress(ActivityError):  # paid meanwhile: the invoice says so when read next
                await run(Activities.write_off, self.ref.number, wf_id, w.by, w.reason, _today())
        else:
            await run(Activities.write_off_rejected, wf_id,
                      f"the cfo rejected the write-off asked by {w.by}; collecting goes on")
            self.status = Status.COLLECTING
            set_stage(Status.COLLECTING)
        self.approval, self.asked = None, None

    async def _withdraw_approval(self, status: str) -> None:
        """Paid while the cfo was deciding a write-off: the approval is withdrawn (its task closes)."""
        if self.approval is None or self.approval.done():
            return
        assert self.ref is not None
        with contextlib.suppress(FailureError):
            await self.approval.signal("withdraw", approval_rules.Withdrawal(
                by="the payment", document=f"invoice {self.ref.number}", what="write-off",
                reason=f"invoice {self.ref.number} is {status.replace('_', ' ')}", refused_when_late=False))
        with contextlib.suppress(FailureError):
            await self.approval

    @workflow.signal
    def payment_allocated(self) -> None:
        self.payments += 1

    @workflow.update
    async def write_off(self, actor: Actor, reason: str) -> str:
        """Finance asks to write the invoice off; answers once the cfo's approval is under way."""
        self._may_write_off(actor, reason)
        self.refused = None
        self.asked = collection.WriteOffRequest(by=actor.username, reason=reason.strip())
        await workflow.wait_condition(lambda: self.approval is not None or self.refused is not None
                                      or self.status in (Status.PAID, Status.WRITTEN_OFF))
        if self.refused is not None:
            raise self.refused
        if self.approval is None:
            raise refusal(Conflict(f"invoice {self.ref.number if self.ref else ''} is "
                                              f"{self.status.replace('_', ' ')}; nothing to write off"))
        return self.status

    @write_off.validator
    def _may_write_off(self, actor: Actor, reason: str) -> None:
        assert self.ref is not None
        with refusing():
            collection.check_may_write_off(actor, self.ref.number, self.status,
                                           self.asked.by if self.asked else None, reason)

    @workflow.query
    def current_status(self) -> str:
        return self.status
