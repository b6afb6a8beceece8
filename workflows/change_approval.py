"""ChangeApproval: a change of approval policies, of the actions a role holds, or of a customer's credit limit
above the threshold takes effect only once a second admin or the cfo approved it (admin has no bypass).

Process: the proposal is stored by the API (domain.changes.propose: the change, what was stored before, the
process row "proposed") → an Approval child asks a holder of change.approve other than the proposer (nobody
approves their own change) → approved: the change is applied by an idempotent activity, with its line in the
audit trail ("applied"); one the rules refuse by then is recorded as rejected with the reason → rejected:
recorded as such, nothing changed.
Waits: on the second approver's decision.
Children: Approval."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.changes import ChangeActivities
    from domain.approvals import rules as approval_rules
    from domain.changes.services import PROCESS_TYPE, ChangeStart
    from domain.processes import ids

from workflows.approval import start_approval
from workflows.common import run, set_stage


@workflow.defn
class ChangeApproval:
    """Invariants: `status` is pending_approval, then applied or rejected; the run alone writes."""

    def __init__(self) -> None:
        self.status = "pending_approval"

    @workflow.run
    async def run(self, req: ChangeStart) -> str:
        wf_id = workflow.info().workflow_id
        set_stage("awaiting approval")
        child = await start_approval(
            approval_rules.ApprovalRequest(process_id=wf_id, process_type=PROCESS_TYPE,
                                           business_key=f"change-{req.change_id}", title=req.summary,
                                           requester=req.requested_by, steps=req.steps),
            ids.approval(wf_id))
        outcome: approval_rules.ApprovalOutcome = await child
        last = outcome.decisions[-1] if outcome.decisions else None
        if not outcome.approved:
            await run(ChangeActivities.reject_proposed_change, req.change_id, last.decided_by if last else "",
                      last.comment if last else "")
            return self._end("rejected")
        try:
            await run(ChangeActivities.apply_proposed_change, req.change_id, last.decided_by if last else "")
        except ActivityError as e:  # the rules refuse it now (a role it names was removed meanwhile): not applied
            cause = e.cause if isinstance(e.cause, ApplicationError) else None
            await run(ChangeActivities.reject_proposed_change, req.change_id, "",
                      f"approved, but it could not be applied: {cause.message if cause else e}"[:500])
            return self._end("rejected")
        return self._end("applied")

    def _end(self, status: str) -> str:
        self.status = status
        set_stage(status)
        return status

    @workflow.query
    def current_status(self) -> str:
        return self.status
