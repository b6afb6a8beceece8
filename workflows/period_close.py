"""PeriodClose (月结): finance closes a month; the cfo approves its checks; the month is locked.

Process: run the checks (nothing unposted dated in the period, each sub-ledger equal to its control account, the
trial balance even) and record them on the period (closing) → any check fails: the close ends checks_failed, the
period open, the report on the period page (fix, then start the close again) → all pass: an Approval child asks
the cfo (Duty.PERIOD_CLOSE_APPROVER), the report shown on the task → approved: the checks run again and the
period is closed (domain.accounting.ledger.post refuses any posting dated in it from then on; the cfo may reopen
it, with a reason) → rejected: the period is open again.
Waits: on the cfo's decision.
Children: Approval."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.period_close import CloseActivities
    from domain.approvals import rules as approval_rules
    from domain.cash.close_rules import CloseEnd, CloseReport, CloseRequest, summary
    from domain.processes import ids

from workflows.approval import start_approval
from workflows.common import run, set_stage


@workflow.defn
class PeriodClose:
    """Invariants: `report` is set once, when the checks are recorded; `status` is checking, then awaiting approval,
    then the end (a CloseEnd). The run alone writes; the one Update (`checked`) only waits for the checks."""

    def __init__(self) -> None:
        self.status = "checking"
        self.report: CloseReport | None = None

    @workflow.run
    async def run(self, req: CloseRequest) -> str:
        wf_id = workflow.info().workflow_id
        # A period closed meanwhile (between the API's check and this) fails the process with that Conflict.
        self.report = await run(CloseActivities.begin_close, req, wf_id)
        if not self.report.passed:
            return self._end(CloseEnd.CHECKS_FAILED)
        self.status = "awaiting approval"
        set_stage(self.status)
        child = await start_approval(
            approval_rules.ApprovalRequest(process_id=wf_id, process_type="period_close", business_key=req.period,
                                           title=f"Close {req.period}: {summary(self.report)}",
                                           requester=req.requested_by, steps=req.steps),
            ids.approval(wf_id))
        outcome: approval_rules.ApprovalOutcome = await child
        last = outcome.decisions[-1] if outcome.decisions else None
        if not outcome.approved:
            await run(CloseActivities.close_rejected, req.period, wf_id, last.decided_by if last else "",
                      last.comment if last else "")
            return self._end(CloseEnd.REJECTED)
        end: CloseEnd = await run(CloseActivities.finish_close, req.period, wf_id, last.decided_by if last else "")
        return self._end(end)

    def _end(self, end: CloseEnd) -> str:
        self.status = end
        set_stage(end)
        return self.status

    @workflow.update
    async def checked(self) -> CloseReport:
        """Answers once the checks are recorded (the API's answer to the start carries the report). A close whose
        checks failed has ended by then, as a rule: the API reads its report from the period instead."""
        await workflow.wait_condition(lambda: self.report is not None)
        assert self.report is not None
        return self.report

    @workflow.query
    def current_status(self) -> str:
        return self.status
