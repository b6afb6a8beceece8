"""LeadToOrder: a lead taken to a sales order, one process per lead (business key: the lead number).

Process: record and score the lead → assign it (given, or round robin over role sales) → wait for
the verdict, with a follow-up clock: no activity for 3 days → a reminder task for the owner;
14 days → a task for the owner's manager; any logged activity resets the clock and closes them →
disqualified with a reason (the end), or qualified: customer linked or created, opportunity opened,
and the process carries on as the opportunity → quotations on it (each a child process) and stage
moves (qualification ⇄ proposal ⇄ negotiation) → won when the customer accepts a quotation (its sales
order is created and fulfilment started by that quotation), or lost with a reason. Either way the
opportunity's other quotations still open are withdrawn.
Waits: on people (activities, the verdict, quotations, stage moves and the loss arrive as Updates with
validators: only the owner, their manager or an admin), on the follow-up timers, on its quotations.
Children: Quotation (with its own Approval and OrderFulfilment children)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from activities.crm import CrmActivities
    from domain.approvals import rules as approval_rules
    from domain.crm import rules
    from domain.processes import ids
    from domain.sales import rules as sales_rules

from workflows.common import (
    CUSTOMER,
    SALESPERSON,
    STAGE,
    refusing,
    run,
    search_attributes,
    set_stage,
)
from workflows.quotation import Quotation


@workflow.defn
class LeadToOrder:
    """Invariants: `who` is set once the lead is recorded; `verdict` once the verdict is recorded (with `opp`, the
    opportunity, when qualified), after which the lead takes no more commands; `lost` or `won` once the opportunity
    closes, after which it takes none either; `opp.stage` is its stage as recorded.

    Updates that await an activity, and what keeps them apart:
    - `qualify` records the verdict with `settling` set: meanwhile every command on the lead (a second verdict, an
      activity) is refused at once with "being decided right now", never queued behind it (it may change the lead
      for good); it clears whether the verdict was recorded or refused.
    - `move_stage` and `lose` record their change with `busy` set (what the opportunity is being): meanwhile every
      command on the opportunity (another move, the loss, a quotation) is refused at once with "try again".
    - `log_activity` may run beside another (each numbered before it awaits: its own key); `quote` beside another
      (each its own child). `starting` counts the quotations being started: `lose` waits for them so that the
      quotations it withdraws include them.
    Flags rather than a lock: nothing here waits its turn (a lock would queue a command that is to be refused),
    and each flag is set and cleared in the handler that owns it, around its one await."""

    def __init__(self) -> None:
        self.draft: rules.LeadDraft | None = None
        self.who: rules.LeadRecorded | None = None
        self.recorded = False
        self.status: str = rules.LeadStatus.NEW  # then the verdict, or the opportunity's stage
        self.verdict: rules.QualifyCommand | None = None  # recorded
        self.settling = False  # a verdict is being recorded: a second one waits its turn as a Conflict
        self.opportunity: str | None = None
        self.opp: rules.OpportunityRef | None = None  # once qualified: the opportunity, its stage kept here
        self.activities = 0  # logged (the follow-up clock watches this)
        self.numbered = 0  # activities given a key, logged or being logged
        self.quotes: dict[str, Any] = {}  # quotation number → its child handle
        self.lost: str | None = None  # the reason, once lost
        self.won: str | None = None  # the accepted quotation
        self.busy: str | None = None  # a stage move or the loss being recorded: others wait their turn
        self.starting = 0  # quotations being started: the loss waits for them, so it withdraws them too

    @workflow.run
    async def run(self, draft: rules.LeadDraft) -> str:
        self.draft = draft
        wf_id = workflow.info().workflow_id
        self.who = await run(CrmActivities.record_lead, draft, wf_id)
        self.status, self.recorded = rules.LeadStatus.ASSIGNED, True
        workflow.upsert_search_attributes([STAGE.value_set("assigned"), SALESPERSON.value_set(self.who.owner)])
        await self._follow_up(wf_id)  # returns once the verdict is recorded (by the qualify Update)
        assert self.verdict is not None
        if self.opp is None:
            self.status = self.verdict.decision
            set_stage(self.status)
        else:
            self.status = await self._opportunity(wf_id, self.opp)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def _opportunity(self, wf_id: str, opp: rules.OpportunityRef) -> str:
        """Until a quotation is accepted (won) or the opportunity is lost; then its other quotations still
        open are withdrawn and waited for."""
        self.status = opp.stage
        workflow.upsert_search_attributes([STAGE.value_set(opp.stage), CUSTOMER.value_set(opp.customer)])

        await workflow.wait_condition(lambda: self.lost is not None or self._accepted() is not None)
        self.won = None if self.lost is not None else self._accepted()
        reason = f"opportunity lost: {self.lost}" if self.lost is not None else f"quotation {self.won} was accepted"
        for handle in self.quotes.values():
            if not handle.done():
                await handle.signal(Quotation.withdraw, reason)
        await workflow.wait_condition(lambda: all(h.done() for h in self.quotes.values()))
        if self.won is not None:
            await run(CrmActivities.opportunity_won, opp.number, wf_id, self.won)
            opp.stage = rules.OpportunityStage.WON
        set_stage(opp.stage)
        return opp.stage

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
                await run(ApprovalActivities.close_open_tasks, f"{wf_id}:follow-up",
                          approval_rules.TaskStatus.COMPLETED, "activity logged on the lead")
        await run(ApprovalActivities.close_open_tasks, f"{wf_id}:follow-up", approval_rules.TaskStatus.COMPLETED,
                  "lead decided")

    @workflow.update
    async def recorded_state(self) -> str:
        await workflow.wait_condition(lambda: self.recorded)
        return self.status

    def _lead(self) -> rules.LeadState:
        """The lead's process as its commands are checked against."""
        assert self.draft is not None
        return rules.LeadState(number=self.draft.number, status=self.status,
                               owner=self.who.owner if self.who else None,
                               owner_manager=self.who.owner_manager if self.who else None,
                               verdict=self.verdict.decision if self.verdict else None, settling=self.settling,
                               opportunity=self.opp, lost=self.lost, won=self.won, busy=self.busy)

    @workflow.update
    async def qualify(self, cmd: rules.QualifyCommand) -> str | None:
        """The verdict is recorded here, so a refusal (an unknown customer) fails this Update only:
        the lead stays open and nothing changed."""
        self._may_qualify(cmd)
        assert self.draft is not None
        self.settling = True
        try:
            self.opp = await run(CrmActivities.settle_lead, self.draft.number, workflow.info().workflow_id, cmd)
        finally:
            self.settling = False
        self.opportunity = self.opp.number if self.opp else None
        self.verdict = cmd
        return self.opportunity

    @qualify.validator
    def _may_qualify(self, cmd: rules.QualifyCommand) -> None:
        with refusing():
            rules.check_may_qualify(cmd.actor, cmd.decision, cmd.reason, self._lead())

    @workflow.update
    async def log_activity(self, cmd: rules.ActivityCommand) -> int:
        self._may_log_activity(cmd)
        assert self.draft is not None
        self.numbered += 1  # numbered before the await: activities logged at once each get their own key
        score: int = await run(CrmActivities.log_lead_activity, self.draft.number, cmd,
                               f"{workflow.info().workflow_id}:activity:{self.numbered}")
        self.activities += 1
        return score

    @log_activity.validator
    def _may_log_activity(self, cmd: rules.ActivityCommand) -> None:
        with refusing():
            rules.check_may_log_activity(cmd.actor, self._lead())

    def _accepted(self) -> str | None:
        """The quotation whose process ended accepted (the customer's yes, the order created), if any."""
        return next((n for n, h in self.quotes.items()
                     if h.done() and h.exception() is None and h.result() == "accepted"), None)

    # --- the opportunity ------------------------------------------------------------------------------

    @workflow.update
    async def quote(self, cmd: sales_rules.QuoteCommand) -> str:
        """Start the quotation as a child; answers its process id (the caller waits on that for its status)."""
        self._may_quote(cmd)
        assert self.opp is not None
        draft = cmd.draft
        child_id = ids.quotation(draft.number, draft.id_prefix)
        total = sales_rules.price(draft.lines, draft.tax_rate).total
        self.starting += 1
        try:
            self.quotes[draft.number] = await self._start_quotation(draft, child_id, total)
        finally:
            self.starting -= 1
        if self.opp.stage == rules.OpportunityStage.QUALIFICATION:  # its first quotation records the move to proposal
            self.opp.stage = self.status = rules.OpportunityStage.PROPOSAL
            set_stage("proposal")
        return child_id

    async def _start_quotation(self, draft: sales_rules.QuotationDraft, child_id: str, total: Any) -> Any:
        assert self.opp is not None
        return await workflow.start_child_workflow(
            Quotation.run, draft, id=child_id, search_attributes=search_attributes(
                "quotation", draft.number, self.opp.owner, total, salesperson=self.opp.owner,
                customer=self.opp.customer))

    @quote.validator
    def _may_quote(self, cmd: sales_rules.QuoteCommand) -> None:
        with refusing():
            rules.check_may_quote(cmd.actor, cmd.draft.opportunity, self._accepted(), self._lead())

    @workflow.update
    async def move_stage(self, cmd: rules.StageCommand) -> str:
        self._may_move_stage(cmd)
        assert self.opp is not None
        self.busy = "moved"
        try:
            await run(CrmActivities.move_opportunity, self.opp.number, workflow.info().workflow_id, cmd.stage,
                      cmd.actor.username)
        finally:
            self.busy = None
        self.opp.stage = self.status = cmd.stage
        set_stage(cmd.stage)
        return cmd.stage

    @move_stage.validator
    def _may_move_stage(self, cmd: rules.StageCommand) -> None:
        with refusing():
            rules.check_may_move_stage(cmd.actor, cmd.stage, self._lead())

    @workflow.update
    async def lose(self, cmd: rules.LoseCommand) -> list[str]:
        """Lost with its reason, unless the customer has accepted one of its quotations (decided in the
        database under the opportunity's lock); answers the quotations withdrawn with it."""
        self._may_lose(cmd)
        assert self.opp is not None
        self.busy = "closed"
        try:
            await workflow.wait_condition(lambda: self.starting == 0)  # its record sees them: they are withdrawn too
            withdrawn: list[str] = await run(CrmActivities.lose_opportunity, self.opp.number,
                                             workflow.info().workflow_id, cmd.reason)
        finally:
            self.busy = None
        self.opp.stage, self.lost = rules.OpportunityStage.LOST, cmd.reason
        return withdrawn

    @lose.validator
    def _may_lose(self, cmd: rules.LoseCommand) -> None:
        with refusing():
            rules.check_may_lose(cmd.actor, cmd.reason, self._lead())
