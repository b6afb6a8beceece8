"""FormRequest (表单审批): any request filed on a form type an admin designed, run by interpreting the form type
version it was filed on (the samples-python DSL pattern: the definition is data, this is its interpreter).

Process: record the request → Approval child along the route the form resolved for these values (its steps, any
or all of several approvers each, conditional steps already applied; `dedupe` as the form says) → approved: the
form's effect (leave: the days off the balance and the requester out of office with the deputy; a business trip:
its cash advance) and the requester told → approved. Rejected → rejected. The requester may cancel while it is
pending, and resubmit changed values when an approver sent it back.
Waits: on the approval child, on the requester's cancel and resubmission.
Children: Approval."""

from __future__ import annotations

import contextlib
from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.forms import FormRequestActivities
    from domain.approvals import rules as approval_rules
    from domain.forms import request_rules as rules
    from domain.forms.request_rules import RequestDraft, RequestStatus
    from domain.org.people import Actor
    from domain.processes import ids

from workflows.approval import start_approval
from workflows.common import WithdrawableDocument, refusing, run, set_stage


@workflow.defn
class FormRequest(WithdrawableDocument):
    """Invariants, besides those of a `WithdrawableDocument` (its `cancel` Update, its `recorded_state`): `draft`
    is the request as filed, on the form type version it was filed on, and nothing later changes which version it
    runs; `values` are its values now (a resubmission replaces them, stored before the approval hears of it)."""

    def __init__(self) -> None:
        super().__init__()
        self.draft: RequestDraft | None = None
        self.values: dict[str, Any] = {}
        self.child: Any = None
        self.resubmissions = 0

    @workflow.run
    async def run(self, draft: RequestDraft) -> str:
        self.draft, self.values = draft, dict(draft.values)
        wf_id = workflow.info().workflow_id
        await run(FormRequestActivities.record_request, draft, wf_id)
        self.status, self.recorded = RequestStatus.PENDING_APPROVAL, True
        set_stage("approval")
        self.child = await start_approval(
            approval_rules.ApprovalRequest(process_id=wf_id, process_type="form_request", business_key=draft.number,
                                           title=draft.title, amount=rules.amount_of(draft.values),
                                           requester=draft.requester, steps=draft.steps, dedupe=draft.dedupe),
            ids.approval(wf_id))
        outcome = await self._approved_or_cancelled(self.child)
        if outcome is None:
            return await self._close(RequestStatus.CANCELLED)
        if not outcome.approved:
            return await self._close(RequestStatus.REJECTED)
        return await self._close(RequestStatus.APPROVED)  # its effect is written with the status, once

    def _requester(self) -> str:
        assert self.draft is not None
        return self.draft.requester

    def _document(self) -> str:
        assert self.draft is not None
        return f"request {self.draft.number}"

    async def _write_end(self, status: str, reason: str) -> None:
        assert self.draft is not None
        await run(FormRequestActivities.set_request_status, self.draft.number, workflow.info().workflow_id,
                  RequestStatus(status), True)

    @workflow.update
    async def resubmit(self, actor: Actor, values: dict[str, Any]) -> str:
        """The requester's changed values (the API checked them against this request's form version): stored,
        then the approval, which sent the request back, takes the route up again."""
        self._may_resubmit(actor, values)
        assert self.draft is not None
        self.resubmissions += 1
        self.values = dict(values)
        await run(FormRequestActivities.store_request_values, self.draft.number, self.values)
        if self.child is not None and not self.child.done():
            with contextlib.suppress(FailureError):
                await self.child.signal("resubmitted")
        return self.status

    @resubmit.validator
    def _may_resubmit(self, actor: Actor, values: dict[str, Any]) -> None:
        assert self.draft is not None
        with refusing():
            rules.check_may_resubmit(actor, self.draft.requester, self.shown_status, self.draft.number)

    @workflow.query
    def current_status(self) -> str:
        return self.status

