"""ExpenseClaim (费用报销): an employee's claim, approved along the chain its amount calls for.

Process: record the claim → Approval child (manager; + finance above 1,000; + cfo above 10,000)
→ approved: accrual journal (expense accounts vs employee payable) → finance marks it paid:
payment journal (employee payable vs bank) → paid. Rejected at any step → rejected.
Waits: on the approval child, on the requester's cancel (while pending), on finance's payment.
Children: Approval."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.expenses import ExpenseActivities
    from domain import permissions
    from domain.approvals import rules as approval_rules
    from domain.core.errors import Conflict, DomainError, Forbidden
    from domain.expenses.rules import ClaimDraft
    from domain.org.people import Actor
    from domain.processes import ids

from workflows.approval import start_approval
from workflows.common import approval_or_withdrawal, check_withdraw, refusal, run, set_stage


@workflow.defn
class ExpenseClaim:
    def __init__(self) -> None:
        self.draft: ClaimDraft | None = None
        self.status = "submitted"
        self.recorded = False
        self.cancel_by: str | None = None
        self.cancel_refused: str | None = None  # the 409 for a cancel that came after the last decision
        self.ending: str | None = None  # the status being written as the claim ends
        self.paid_by: str | None = None
        self.paid_at: datetime | None = None

    @workflow.run
    async def run(self, draft: ClaimDraft) -> str:
        self.draft = draft
        wf_id = workflow.info().workflow_id
        steps = await run(ExpenseActivities.record_claim, draft, wf_id)
        self.status, self.recorded = "pending_approval", True
        set_stage("approval")
        child = await start_approval(
            approval_rules.ApprovalRequest(process_id=wf_id, process_type="expense_claim", business_key=draft.number,
                                           title=f"Expense claim {draft.number} by {draft.requester}: "
                                                 f"{draft.total} {draft.currency}",
                                           amount=draft.total, requester=draft.requester, steps=steps),
            ids.approval(wf_id))
        outcome = await approval_or_withdrawal(child, lambda: self.cancel_by is not None, self._withdrawal)
        if outcome is None:
            return await self._finish("cancelled")
        if self.cancel_by is not None:  # the approval took its last decision before the cancel: refused
            self.cancel_refused = approval_rules.late_withdrawal_refusal(self._withdrawal(), outcome)
            self.cancel_by = None
        if not outcome.approved:
            return await self._finish("rejected")
        self.status = "approved"  # from here on a cancel is refused (Conflict)
        set_stage("awaiting payment")
        await run(ExpenseActivities.set_claim_status, draft.number, wf_id, "approved", "awaiting payment",
                  f"{wf_id}:accrual", False)
        await workflow.wait_condition(lambda: self.paid_by is not None)
        await run(ExpenseActivities.set_claim_status, draft.number, wf_id, "paid", "paid", f"{wf_id}:payment", True)
        self.status = "paid"
        set_stage("paid")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    def _withdrawal(self) -> approval_rules.Withdrawal:
        assert self.draft is not None and self.cancel_by is not None
        return approval_rules.Withdrawal(by=self.cancel_by, document=f"claim {self.draft.number}")

    async def _finish(self, status: str) -> str:
        assert self.draft is not None
        self.ending = status
        set_stage(status)
        await run(ExpenseActivities.set_claim_status, self.draft.number, workflow.info().workflow_id, status,
                  status, None, True)
        self.status = status
        await workflow.wait_condition(workflow.all_handlers_finished)
        return status

    @workflow.update
    async def recorded_state(self) -> str:
        """Answers once the claim is in the database, so the API's 201 is followed by a readable GET."""
        await workflow.wait_condition(lambda: self.recorded)
        return self.status

    @workflow.update
    async def cancel(self, actor: Actor) -> str:
        """Withdraws the claim through its approval, which takes it or its last decision first: a cancel that
        comes after the last decision fails (409) and is on the trail."""
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
                       f"claim {self.draft.number}")

    @workflow.update
    async def pay(self, actor: Actor) -> str:
        self._check_pay(actor)
        self.paid_by, self.paid_at = actor.username, workflow.now()
        await workflow.wait_condition(lambda: self.status == "paid")
        return self.status

    @pay.validator
    def _validate_pay(self, actor: Actor) -> None:
        self._check_pay(actor)

    def _check_pay(self, actor: Actor) -> None:
        assert self.draft is not None
        try:
            permissions.check(actor.roles, permissions.Action.EXPENSE_PAY, "only finance can pay a claim")
            if actor.username == self.draft.requester:
                raise Forbidden("nobody pays their own claim")
            if self.paid_by is not None:
                state = "already paid" if self.status == "paid" else "being paid"
                on = f" on {self.paid_at:%Y-%m-%d %H:%M} UTC" if self.paid_at else ""
                raise Conflict(f"claim {self.draft.number} is {state} (by {self.paid_by}{on}); nothing more to pay")
            if self.status != "approved":
                raise Conflict(f"claim {self.draft.number} is {self.ending or self.status}; only an approved claim "
                               "can be paid")
        except DomainError as e:
            raise refusal(e) from None

    @workflow.query
    def current_status(self) -> str:
        return self.status
