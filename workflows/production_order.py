"""ProductionOrder (生产任务单): one order to make an item, from release to the last finished goods.

Process: wait for the kit (every component free in stock; rechecked when supply arrives, and twice a day) →
released (a `kitted` order gets its whole kit issued now) → progress reports (Updates: good units, labour
hours, scrap; a `backflush` order consumes its components with each) each receive finished goods into stock
at actual cost → completed when all are made.
Waits: on the kit, on progress, and on the due date: when it ends unfinished, an alert task for the planners
and a notice for the sales order's salesperson (cleared at completion).
Change requests (qty or date, 生产任务变更) go through an Approval child (the planner's manager) before they
apply. A planner's move (Update `reschedule`: new release and due dates, issue 20) applies at once.
Children: Approval. Tells its `notify` processes (the parent order, the sales order) when finished goods arrive."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.production import ProductionActivities
    from domain.approvals import rules as approval_rules
    from domain.org.people import Actor
    from domain.processes import ids
    from domain.production import reschedule as reschedule_rules
    from domain.production import rules
    from domain.production.rules import ProductionStatus as Status

from workflows.approval import start_approval
from workflows.common import approval_or_withdrawal, record_or_fail, refusing, run, set_stage
from workflows.inspection import start_inspections

RECHECK = timedelta(hours=12)  # a waiting order looks at stock again at least this often (besides signals)
PROGRESS_BOUNDS = "progress-bounds"  # workflow.patched: reports are held to domain.production.check_bounds
PROGRESS_IN_TURN = "progress-in-turn"  # workflow.patched: reports and approved changes write the state in turn
FINAL_INSPECTION = "final-inspection"  # workflow.patched: goods a report quarantined get their Inspection (issue 20)


class ProgressCommand(BaseModel):
    actor: Actor
    progress: rules.ProgressIn


class ChangeCommand(BaseModel):
    actor: Actor
    change: rules.ChangeIn


class RescheduleCommand(BaseModel):
    actor: Actor
    move: reschedule_rules.RescheduleIn
    today: date


async def notify(workflow_ids: list[str]) -> None:
    """Tell the processes waiting for this supply to look at stock again (a finished one is skipped)."""
    for wf_id in workflow_ids:
        try:
            await workflow.get_external_workflow_handle(wf_id).signal("supply_arrived")
        except Exception:
            workflow.logger.info("not notifying %s: it has ended", wf_id)


@workflow.defn
class ProductionOrder:
    """Invariants: `state` is the order as recorded (its status moves waiting_material -> released -> completed);
    `change_open` is true from a change request until its approval is decided and, if approved, applied: a second
    request meanwhile is refused (one change at a time); `late_key` is set while the order is marked late.

    Who writes `state`: the run (release, while the order waits for material), progress reports (only once it is
    released) and an approved change (its quantity or due date, from the task that waits for its approval). Reports
    and changes await an activity between reading the state and writing it back, and may come at once (two desks,
    an approval landing). So each holds the `writing` lock from its check until the database took it: a report is
    checked against the reports and change recorded before it, and counted only once recorded, so the run, which
    ends the process when the order is completed, never sees a report the database may still refuse. Processes
    started before that lock (PROGRESS_IN_TURN) replay the former way: each report counted at once, given back if
    refused. The run waits for an open change and for every handler before it returns."""

    def __init__(self) -> None:
        self.ref: rules.ProductionRef | None = None
        self.state: rules.ProductionState | None = None
        self.recheck = False
        self.reports = 0
        self.receipts = 0  # finished-goods receipts not yet announced to `notify`
        self.changes = 0
        self.change_open = False
        self.late_key: str | None = None
        self.seen: rules.ProductionState | None = None  # the state the main loop last looked at
        self.moves = 0  # reschedules taken (each recorded under its own key)
        self.writing = asyncio.Lock()  # held by a report or an approved change from its check until it is recorded
        self.recorded = False  # made to stock (ref.to_stock): until this process recorded the order
        self.refused: tuple[str, str] | None = None  # ... or the refusal that recorded nothing

    def _refused(self, why: tuple[str, str]) -> None:
        self.refused = why

    @workflow.run
    async def run(self, ref: rules.ProductionRef) -> str:
        self.ref = ref
        if ref.to_stock:  # made to stock through the API (issue 20): recorded here first; others came recorded
            await record_or_fail(run(ProductionActivities.record_stock_order, ref, workflow.info().workflow_id),
                                 self._refused)
        self.recorded = True
        self.state = rules.ProductionState(number=ref.number, sku=ref.sku, qty=ref.qty, issue_method=ref.issue_method,
                                           due_date=ref.due_date)
        wf_id = workflow.info().workflow_id
        set_stage("waiting for material")
        self.recheck = True
        while self.state.status != Status.COMPLETED:
            if self.state.status != Status.WAITING_MATERIAL:
                self.recheck = False  # supply arriving after release changes nothing here
            if self.state.status == Status.WAITING_MATERIAL and self.recheck:
                self.recheck = False
                r: rules.ReleaseOutcome = await run(ProductionActivities.try_release, ref.number, f"{wf_id}:release")
                if r.status == Status.RELEASED and self.state.status == Status.WAITING_MATERIAL:
                    self.state = self.state.model_copy(update={"status": Status.RELEASED, "wait_reason": ""})
                    set_stage("in production")
                elif r.status == Status.WAITING_MATERIAL:
                    self.state = self.state.model_copy(update={"wait_reason": r.wait_reason})
            if self.receipts:
                self.receipts = 0
                await notify(ref.notify)
            deadline = datetime.combine(self.state.due_date + timedelta(days=1), time(0), tzinfo=workflow.now().tzinfo)
            if self.late_key is None and workflow.now() >= deadline:
                self.late_key = str(workflow.uuid4())
                await run(ProductionActivities.mark_late, ref.number, wf_id, self.late_key)
                set_stage("late")
            waits = [RECHECK] if self.state.status == Status.WAITING_MATERIAL else []
            if self.late_key is None:
                waits.append(max(deadline - workflow.now(), timedelta(seconds=1)))
            due, self.seen = self.state.due_date, self.state
            try:
                await workflow.wait_condition(lambda: self.recheck or self.receipts > 0 or self.state is not self.seen,
                                              timeout=min(waits) if waits else None)
            except TimeoutError:
                self.recheck = self.state.status == Status.WAITING_MATERIAL
            if self.state.due_date != due and self.late_key is not None:  # a new date: lateness starts over
                await run(ProductionActivities.clear_late, ref.number, wf_id)
                self.late_key = None
        await workflow.wait_condition(lambda: not self.change_open and workflow.all_handlers_finished())
        if self.late_key is not None:
            await run(ProductionActivities.clear_late, ref.number, wf_id)
        await notify(ref.notify)
        set_stage("completed")
        return "completed"

    @workflow.signal
    def supply_arrived(self) -> None:
        self.recheck = True

    # --- progress -------------------------------------------------------------------------------------

    def _report(self, cmd: ProgressCommand, *, bounded: bool = True) -> rules.ProductionState:
        """The state after the report, or the refusal the Update fails with."""
        assert self.state is not None
        with refusing():
            return rules.check_may_report_progress(cmd.actor, self.state, cmd.progress, bounded=bounded)

    def _in_turn(self) -> contextlib.AbstractAsyncContextManager[None]:
        """The `writing` lock, or nothing for processes started before it (their histories replay without it)."""
        return self.writing if workflow.patched(PROGRESS_IN_TURN) else contextlib.nullcontext()

    @workflow.update
    async def progress(self, cmd: ProgressCommand) -> rules.ProductionState:
        assert self.ref is not None
        # Reports taken before the bounds on scrap and hours (issue 15) replay without them (the validator, which
        # replay skips, always applies them).
        bounded = workflow.patched(PROGRESS_BOUNDS)
        if not workflow.patched(PROGRESS_IN_TURN):
            return await self._progress_at_once(cmd, bounded)
        wf_id = workflow.info().workflow_id
        async with self.writing:
            after = self._report(cmd, bounded=bounded)  # against what was recorded before it, which it may have awaited
            self.reports += 1
            result: rules.ProductionState = await run(ProductionActivities.report_progress, self.ref.number,
                                                      cmd.progress, cmd.actor.username,
                                                      f"{wf_id}:progress:{self.reports}")
            self.state = after  # counted once recorded (a refusal of the database raised above: nothing counted)
        if cmd.progress.completed_qty:
            self.receipts += 1
        if result.quarantined and workflow.patched(FINAL_INSPECTION):
            await start_inspections(result.quarantined, "production-order-")
        return result

    async def _progress_at_once(self, cmd: ProgressCommand, bounded: bool) -> rules.ProductionState:
        """A report as processes started before PROGRESS_IN_TURN take it (their histories replay this): counted at
        once, so a concurrent report is checked against it, and given back if the database refuses it."""
        assert self.ref is not None
        self.state = self._report(cmd, bounded=bounded)
        self.reports += 1
        wf_id = workflow.info().workflow_id
        p = cmd.progress
        try:
            result: rules.ProductionState = await run(ProductionActivities.report_progress, self.ref.number, p,
                                                      cmd.actor.username, f"{wf_id}:progress:{self.reports}")
        except ActivityError:
            # Refused by the database (components not on hand): give back what this report had counted.
            assert self.state is not None
            self.state = self.state.model_copy(update={
                "completed_qty": self.state.completed_qty - p.completed_qty,
                "scrap_qty": self.state.scrap_qty - p.scrap_qty, "status": Status.RELEASED})
            raise
        if p.completed_qty:
            self.receipts += 1
        return result

    @progress.validator
    def _may_report(self, cmd: ProgressCommand) -> None:
        self._report(cmd)

    # --- change requests ------------------------------------------------------------------------------

    @workflow.update
    async def request_change(self, cmd: ChangeCommand) -> str:
        """Starts the approval and answers at once; the change applies when (and if) it is approved."""
        self._may_request_change(cmd)
        self.change_open = True
        self.changes += 1
        try:
            steps = await run(ProductionActivities.change_steps, self.state.number if self.state else "",
                              cmd.actor.username)
        except ActivityError:
            self.change_open = False  # nobody can approve it (422): the request fails and leaves no change open
            raise
        asyncio.create_task(self._decide_change(cmd, steps, self.changes))  # noqa: RUF006 (awaited via change_open)
        return "pending_approval"

    @request_change.validator
    def _may_request_change(self, cmd: ChangeCommand) -> None:
        assert self.state is not None
        with refusing():
            rules.check_may_request_change(cmd.actor, self.state, cmd.change, change_open=self.change_open)

    async def _decide_change(self, cmd: ChangeCommand, steps: list[approval_rules.ChainStep], n: int) -> None:
        assert self.ref is not None and self.state is not None
        wf_id = workflow.info().workflow_id
        c = cmd.change
        what = "; ".join(x for x in (f"quantity → {c.qty.normalize():f}" if c.qty is not None else "",
                                     f"due → {c.due_date}" if c.due_date is not None else "") if x)
        try:
            child = await start_approval(approval_rules.ApprovalRequest(
                process_id=wf_id, process_type="production_order", business_key=self.ref.number,
                title=f"Change {self.ref.number} ({self.ref.sku}): {what}. {c.reason}"[:200],
                amount=None, requester=cmd.actor.username, steps=steps), ids.change_approval(wf_id, n))
            outcome = await approval_or_withdrawal(
                child, lambda: self.state is not None and self.state.status == Status.COMPLETED,
                lambda: approval_rules.Withdrawal(by="the shop floor", document=f"production order {self.ref.number}"
                                                  if self.ref else "production order", what="completion",
                                                  reason="the order is completed", refused_when_late=False))
            if outcome is not None and outcome.approved:
                async with self._in_turn():
                    try:
                        new = await run(ProductionActivities.apply_change, self.ref.number, c, f"{wf_id}:change:{n}")
                        self.state = self.state.model_copy(update={"qty": new.qty, "due_date": new.due_date})
                        self.recheck = True
                    except ActivityError:
                        workflow.logger.info("change %s of %s no longer applies", n, self.ref.number)
        finally:
            self.change_open = False

    @workflow.update
    async def recorded_state(self) -> str:
        """Answers once the order is in the database (made to stock: recorded by this process), or with the
        refusal that stored nothing."""
        await workflow.wait_condition(lambda: self.recorded or self.refused is not None)
        if self.refused is not None:
            raise ApplicationError(self.refused[1], type=self.refused[0], non_retryable=True)
        return self.state.status if self.state else "waiting_material"

    # --- moves (the planner levels the load, issue 20) --------------------------------------------------

    @workflow.update
    async def reschedule(self, cmd: RescheduleCommand) -> rules.ProductionState:
        """New release and due dates, recorded at once (no approval: the planner's own plan; a date past the sales
        order's is refused where it is recorded). The lateness timer follows the new due date."""
        assert self.ref is not None
        wf_id = workflow.info().workflow_id
        async with self.writing:
            self._may_reschedule(cmd)
            self.moves += 1
            new: rules.ProductionState = await run(ProductionActivities.reschedule, self.ref.number, cmd.move,
                                                   cmd.actor.username, cmd.today, f"{wf_id}:move:{self.moves}")
            assert self.state is not None
            self.state = self.state.model_copy(update={"due_date": new.due_date})
        return new

    @reschedule.validator
    def _may_reschedule(self, cmd: RescheduleCommand) -> None:
        assert self.state is not None
        with refusing():
            reschedule_rules.check_may_reschedule(cmd.actor, self.state, cmd.move)

    @workflow.query
    def current_status(self) -> str:
        return self.state.status if self.state else "starting"
