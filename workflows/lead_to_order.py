"""LeadToOrder: a lead taken to a sales order. This first part carries the lead to its verdict.

Process: record and score the lead → assign it (given, or round robin over role sales) → wait for
the verdict, with a follow-up clock: no activity for 3 days → a reminder task for the owner;
14 days → a task for the owner's manager; any logged activity resets the clock and closes them →
qualified (customer linked or created, opportunity opened) or disqualified with a reason.
Waits: on people (activities and the verdict arrive as Updates with validators: only the owner,
their manager or an admin) and on the follow-up timers.
Children: none yet; quotations (with their discount-approval children) follow."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from activities.crm import CrmActivities
    from domain import approvals as approval_rules
    from domain import crm as rules
    from domain.errors import Conflict, DomainError, Invalid

from workflows.common import SALESPERSON, STAGE, refusal, run, set_stage


@workflow.defn
class LeadToOrder:
    def __init__(self) -> None:
        self.draft: rules.LeadDraft | None = None
        self.who: rules.LeadRecorded | None = None
        self.recorded = False
        self.status = "new"
        self.verdict: rules.QualifyCommand | None = None  # recorded
        self.settling = False  # a verdict is being recorded: a second one waits its turn as a Conflict
        self.opportunity: str | None = None
        self.activities = 0

    @workflow.run
    async def run(self, draft: rules.LeadDraft) -> str:
        self.draft = draft
        wf_id = workflow.info().workflow_id
        self.who = await run(CrmActivities.record_lead, draft, wf_id)
        self.status, self.recorded = "assigned", True
        workflow.upsert_search_attributes([STAGE.value_set("assigned"), SALESPERSON.value_set(self.who.owner)])
        await self._follow_up(wf_id)  # returns once the verdict is recorded (by the qualify Update)
        assert self.verdict is not None
        self.status = self.verdict.decision
        set_stage(self.status)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def _follow_up(self, wf_id: str) -> None:
        """Until the verdict: remind the owner after 3 quiet days, their manager after 14."""
        assert self.draft is not None and self.who is not None
        seen, reminded, escalated = self.activities, False, False
        quiet_since = workflow.now()
        while self.verdict is None:
            if not reminded:
                due = quiet_since + timedelta(days=rules.FOLLOW_UP_DAYS)
            elif not escalated:
                due = quiet_since + timedelta(days=rules.ESCALATE_DAYS)
            else:
                due = None
            def moved(seen: int = seen) -> bool:
                return self.verdict is not None or self.activities != seen

            try:
                await workflow.wait_condition(moved, timeout=max(due - workflow.now(), timedelta(seconds=1))
                                              if due else None)
            except TimeoutError:
                to_manager = reminded and self.who.owner_manager is not None
                who = self.who.owner_manager if to_manager else self.who.owner
                await run(CrmActivities.open_follow_up, approval_rules.TaskSpec(
                    task_id=str(workflow.uuid4()), workflow_id=f"{wf_id}:follow-up", process_id=wf_id,
                    process_type="lead_to_order", kind="follow_up", business_key=self.draft.number,
                    title=(f"Lead {self.draft.number} ({self.draft.lead.company}) has had no activity for "
                           f"{rules.ESCALATE_DAYS if reminded else rules.FOLLOW_UP_DAYS} days"
                           + (f": {self.who.owner} owns it" if to_manager else "")),
                    amount=self.draft.lead.estimated_value, candidate_user=who, priority=70 if to_manager else 50,
                    due_hours=24))
                reminded, escalated = True, reminded or escalated
                continue
            if self.activities != seen:  # the owner is working the lead: the clock starts again
                seen, reminded, escalated, quiet_since = self.activities, False, False, workflow.now()
                await run(ApprovalActivities.close_open_tasks, f"{wf_id}:follow-up", "completed",
                          "activity logged on the lead")
        await run(ApprovalActivities.close_open_tasks, f"{wf_id}:follow-up", "completed", "lead decided")

    @workflow.update
    async def recorded_state(self) -> str:
        await workflow.wait_condition(lambda: self.recorded)
        return self.status

    def _check_open(self, actor: approval_rules.Actor) -> None:
        assert self.draft is not None
        if self.who is None:
            raise Conflict(f"lead {self.draft.number} is still being recorded")
        rules.check_may_work_lead(actor, self.who.owner, self.who.owner_manager)
        if self.verdict is not None:
            raise Conflict(f"lead {self.draft.number} is already {self.verdict.decision}")
        if self.settling:
            raise Conflict(f"lead {self.draft.number} is being decided right now")

    def _check_qualify(self, cmd: rules.QualifyCommand) -> None:
        try:
            self._check_open(cmd.actor)
            if cmd.decision == "disqualified" and not cmd.reason.strip():
                raise Invalid("say why the lead is disqualified")
        except DomainError as e:
            raise refusal(e) from None

    @workflow.update
    async def qualify(self, cmd: rules.QualifyCommand) -> str | None:
        """The verdict is recorded here, so a refusal (an unknown customer) fails this Update only:
        the lead stays open and nothing changed."""
        self._check_qualify(cmd)
        assert self.draft is not None
        self.settling = True
        try:
            self.opportunity = await run(CrmActivities.settle_lead, self.draft.number, workflow.info().workflow_id,
                                         cmd)
        finally:
            self.settling = False
        self.verdict = cmd
        await workflow.wait_condition(lambda: self.status in ("qualified", "disqualified"))
        return self.opportunity

    @qualify.validator
    def _validate_qualify(self, cmd: rules.QualifyCommand) -> None:
        self._check_qualify(cmd)

    def _check_activity(self, cmd: rules.ActivityCommand) -> None:
        try:
            self._check_open(cmd.actor)
        except DomainError as e:
            raise refusal(e) from None

    @workflow.update
    async def log_activity(self, cmd: rules.ActivityCommand) -> int:
        self._check_activity(cmd)
        assert self.draft is not None
        n = self.activities + 1
        score: int = await run(CrmActivities.log_lead_activity, self.draft.number, cmd,
                               f"{workflow.info().workflow_id}:activity:{n}")
        self.activities = n
        return score

    @log_activity.validator
    def _validate_activity(self, cmd: rules.ActivityCommand) -> None:
        self._check_activity(cmd)
