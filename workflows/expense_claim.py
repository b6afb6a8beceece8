"""ExpenseClaim (费用报销): an employee's claim, approved along the chain its amount calls for.

Process: record the claim → Approval child (manager; + finance above 1,000; + cfo above 10,000)
→ approved: accrual journal (expense accounts vs employee payable) → finance marks it paid:
payment journal (employee payable vs bank) → paid. Rejected at any step → rejected.
Waits: on the approval child, on the requester's cancel (while pending), on finance's payment, shown to
finance as a Pay task in the inbox from approval until paid (PAY_TASK).
Children: Approval."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from activities.expenses import ExpenseActivities
    from domain import permissions
    from domain.approvals import rules as approval_rules
    from domain.expenses.rules import ClaimDraft, ClaimStatus, check_may_pay
    from domain.org.people import Actor
    from domain.processes import ids

from workflows.approval import start_approval
from workflows.common import WithdrawableDocument, patched, refusing, run, set_stage

PAY_TASK = "pay-task"  # workflow.patched: an approved claim opens a Pay task for finance, closed once it is paid


@workflow.defn
class ExpenseClaim(WithdrawableDocument):
    """Invariants, besides those of a `WithdrawableDocument` (its `cancel` Update, its `recorded_state`): `paid_by`
    and `paid_at` are set by the one pay taken, only once the claim is approved (a second pay, or one before, is
    refused); the run writes the payment and then `status` becomes paid. No handler awaits an activity: each
    changes the state at once and waits for the run, which alone writes to the database, so handlers cannot
    interleave half-way and need no lock; the run waits for them to finish before it returns."""

    def __init__(self) -> None:
        super().__init__()
        self.draft: ClaimDraft | None = None
        self.paid_by: str | None = None
        self.paid_at: datetime | None = None

    @workflow.run
    async def run(self, draft: ClaimDraft) -> str:
        self.draft = draft
        wf_id = workflow.info().workflow_id
        steps = await run(ExpenseActivities.record_claim, draft, wf_id)
        self.status, self.recorded = ClaimStatus.PENDING_APPROVAL, True
        set_stage("approval")
        child = await start_approval(
            approval_rules.ApprovalRequest(process_id=wf_id, process_type="expense_claim", business_key=draft.number,
                                           title=f"Expense claim {draft.number} by {draft.requester}: "
                                                 f"{draft.total} {draft.currency}",
                                           amount=draft.total, requester=draft.requester, steps=steps),
            ids.approval(wf_id))
        outcome = await self._approved_or_cancelled(child)
        if outcome is None:
            return await self._close(ClaimStatus.CANCELLED)
        if not outcome.approved:
            return await self._close(ClaimStatus.REJECTED)
        self.status = ClaimStatus.APPROVED  # from here on a cancel is refused (Conflict)
        set_stage("awaiting payment")
        await run(ExpenseActivities.set_claim_status, draft.number, wf_id, ClaimStatus.APPROVED, "awaiting payment",
                  f"{wf_id}:accrual", False)
        pay_task = patched(PAY_TASK, draft.generation)
        if pay_task:  # the wait for the payment is finance's task in the inbox, not a silence
            await run(ApprovalActivities.open_task, approval_rules.TaskSpec(
                task_id=str(workflow.uuid4()), workflow_id=f"{wf_id}:pay", process_id=wf_id,
                process_type="expense_claim", kind="pay", business_key=draft.number, amount=draft.total,
                title=f"Pay expense claim {draft.number} to {draft.requester}: {draft.total:,.2f} {draft.currency}",
                requester=draft.requester, priority=50, due_hours=72,
                candidate_role=permissions.duty_role(permissions.Duty.EXPENSE_PAYER)))
        await workflow.wait_condition(lambda: self.paid_by is not None)
        await run(ExpenseActivities.set_claim_status, draft.number, wf_id, ClaimStatus.PAID, "paid", f"{wf_id}:payment",
                  True)
        if pay_task:
            await run(ApprovalActivities.close_open_tasks, f"{wf_id}:pay", approval_rules.TaskStatus.COMPLETED,
                      "paid", self.paid_by or "system")
        self.status = ClaimStatus.PAID
        set_stage("paid")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    def _requester(self) -> str:
        assert self.draft is not None
        return self.draft.requester

    def _document(self) -> str:
        assert self.draft is not None
        return f"claim {self.draft.number}"

    async def _write_end(self, status: str, reason: str) -> None:
        assert self.draft is not None
        await run(ExpenseActivities.set_claim_status, self.draft.number, workflow.info().workflow_id, status,
                  status, None, True)

    @workflow.update
    async def pay(self, actor: Actor) -> str:
        self._may_pay(actor)
        self.paid_by, self.paid_at = actor.username, workflow.now()
        await workflow.wait_condition(lambda: self.status == ClaimStatus.PAID)
        return self.status

    @pay.validator
    def _may_pay(self, actor: Actor) -> None:
        assert self.draft is not None
        with refusing():
            check_may_pay(actor, self.draft.number, self.draft.requester, self.shown_status, self.paid_by,
                          self.paid_at)

    @workflow.query
    def current_status(self) -> str:
        return self.status
