"""SupplierInvoice (供应商发票 / 三单匹配): a supplier's bill against its purchase order, matched three ways
(ordered price × received quantity against what is billed) and then paid.

Process: record the bill (its match checked again under the order's lock: another bill taking the same goods
meanwhile refuses this one, nothing stored) → matched: posted at once (goods received not invoiced at the
order's price and the price variance against payables), open for payment → a mismatch: recorded unposted, an
Approval child (the buyer, then finance; never the one who entered it) → approved: posted the same way, open;
rejected: the bill is rejected, nothing posted, the process ends → open: waits to be paid (the `payment_allocated`
signal, and a daily re-read, so a lost signal only delays), ends when nothing is outstanding.
Waits: on the approval, on payments, on a daily timer. Children: Approval."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.bills import BillActivities
    from domain.approvals import rules as approval_rules
    from domain.cash.bills import PROCESS_TYPE, BillDraft, BillState
    from domain.cash.rules import InvoiceStatus
    from domain.processes import ids

from workflows.approval import start_approval
from workflows.common import record_or_fail, run, set_stage
from workflows.payment import PAYMENT_ALLOCATED, tell_invoices

RE_READ = timedelta(days=1)  # an open bill reads itself again at least this often
ENDED = (InvoiceStatus.PAID, InvoiceStatus.WRITTEN_OFF, InvoiceStatus.REJECTED)


@workflow.defn
class SupplierInvoice:
    """Invariants: `bill` is None until the bill is in the database (then `recorded_state` answers with its
    status); `refused` instead when recording was refused (kind, sentence), and then nothing was stored and the
    process fails with it. `told` counts the `payment_allocated` signals; the run re-reads the bill whenever it
    grew, or a day passed. Only the run writes (through activities); the signal handler only counts."""

    def __init__(self) -> None:
        self.bill: BillState | None = None
        self.refused: tuple[str, str] | None = None
        self.told = 0

    def _refused(self, why: tuple[str, str]) -> None:
        self.refused = why

    @workflow.run
    async def run(self, draft: BillDraft) -> str:
        wf_id = workflow.info().workflow_id
        bill: BillState = await record_or_fail(run(BillActivities.record_bill, draft, wf_id), self._refused)
        self.bill = bill
        await tell_invoices(bill.touched)
        if bill.status == InvoiceStatus.PENDING_APPROVAL:
            set_stage("approval")
            child = await start_approval(
                approval_rules.ApprovalRequest(
                    process_id=wf_id, process_type=PROCESS_TYPE, business_key=draft.number,
                    title=f"Supplier bill {draft.number} ({draft.supplier} {draft.supplier_ref}) on "
                          f"{draft.purchase_order_number} does not match: {draft.match.billed} billed, "
                          f"{draft.match.expected} expected",
                    amount=draft.match.billed, requester=draft.entered_by, steps=draft.steps),
                ids.approval(wf_id))
            outcome: approval_rules.ApprovalOutcome = await child
            if not outcome.approved:
                why = next((d.comment for d in reversed(outcome.decisions) if d.decision == "reject"), "")
                self.bill = await run(BillActivities.reject_bill, draft.number, wf_id, why)
                set_stage(InvoiceStatus.REJECTED)
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self.bill.status
            self.bill = await run(BillActivities.approve_bill, draft.number, wf_id)
            await tell_invoices(self.bill.touched)
        await self._await_payment(draft.number, wf_id)
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self.bill is not None
        return self.bill.status

    async def _await_payment(self, number: str, wf_id: str) -> None:
        """Until nothing is outstanding: re-read the bill when told of a payment, or once a day."""
        assert self.bill is not None
        stage, seen = "", 0
        while self.bill.status not in ENDED:
            now = "overdue" if workflow.now().date() > self.bill.due_on else "awaiting payment"
            if now != stage:
                stage = now
                set_stage(stage)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(self._told_since(seen), timeout=RE_READ)
            seen = self.told  # a signal while the bill is read counts for the next round
            self.bill = await run(BillActivities.read_bill, number, wf_id)
        set_stage(self.bill.status)

    def _told_since(self, seen: int) -> Callable[[], bool]:
        return lambda: self.told > seen

    @workflow.signal(name=PAYMENT_ALLOCATED)
    def payment_allocated(self) -> None:
        self.told += 1

    @workflow.update
    async def recorded_state(self) -> str:
        """Answers once the bill is in the database (its status), or with the refusal that stored nothing."""
        await workflow.wait_condition(lambda: self.bill is not None or self.refused is not None)
        if self.refused is not None:
            raise ApplicationError(self.refused[1], type=self.refused[0], non_retryable=True)
        assert self.bill is not None
        return self.bill.status

    @workflow.query
    def current_status(self) -> str:
        return self.bill.status if self.bill else ("refused" if self.refused else "submitted")
