"""Inspection (来料检验 / 成品检验): a quarantine lot waits for its inspection; the inspector records how much is
accepted and how much rejected, and why.

Process: open the inspection (its process row and a task in the inbox for whoever holds the inspector duty) → wait
for the result (the `record` Update: refused at once when accepted + rejected is not the lot, when a rejection has
no reason, or when the lot is inspected already) → record it in one activity (accepted goods into stock; rejected
goods back to the supplier, as a reduced receipt or a debit note against the bill, with a nonconformance record) →
tell the bills a debit note reached and the orders waiting for the item.
Waits: on the inspector, without a deadline (the task's due time shows in the inbox). Children: none (started by
the Purchase process that received the goods, and abandoned by it)."""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.quality import QualityActivities
    from domain.quality import rules

from temporalio.common import WorkflowIDReusePolicy

with workflow.unsafe.imports_passed_through():
    from domain.processes import ids

from workflows.common import child_queue, refusing, run, set_stage
from workflows.payment import tell_invoices


@workflow.defn
class Inspection:
    """Invariants: `lot` is None until the inspection is open (a result meanwhile waits for it); `outcome` is set
    once, when the database has recorded the result, under `recording` (two results at once: the second is checked
    after the first and refused). The run waits for the outcome, then for the handlers to finish."""

    def __init__(self) -> None:
        self.lot: rules.LotRef | None = None
        self.outcome: rules.InspectionOutcome | None = None
        self.recording = asyncio.Lock()

    @workflow.run
    async def run(self, lot_number: str, parent_id: str) -> rules.InspectionOutcome:
        wf_id = workflow.info().workflow_id
        self.lot = await run(QualityActivities.open_inspection, lot_number, wf_id, parent_id)
        set_stage("awaiting inspection")
        await workflow.wait_condition(lambda: self.outcome is not None)
        assert self.outcome is not None
        set_stage("inspected")
        await tell_invoices(self.outcome.invoices)
        for waiting in self.outcome.waiting:  # orders waiting for the item: look at stock again
            try:
                await workflow.get_external_workflow_handle(waiting).signal("supply_arrived")
            except Exception:
                workflow.logger.info("not notifying %s: it has ended", waiting)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.outcome

    def _check(self, cmd: rules.InspectionCommand) -> rules.LotRef | None:
        """The lot's rules once it is known (None while the inspection is being opened: the handler waits)."""
        with refusing():
            if self.lot is not None:
                rules.check_result(self.lot.number, self.lot.sku, self.lot.qty,
                                   "open" if self.outcome is None else "inspected", cmd.result)
        return self.lot

    @workflow.update
    async def record(self, cmd: rules.InspectionCommand) -> rules.InspectionOutcome:
        # The lot's process row may be in the database (the API found it) before the run has the activity's answer.
        await workflow.wait_condition(lambda: self.lot is not None)
        async with self.recording:
            lot = self._check(cmd)  # again: another result may have been recorded since the validator ran
            assert lot is not None
            outcome: rules.InspectionOutcome = await run(
                QualityActivities.record_inspection, lot.number, cmd, workflow.info().workflow_id,
                workflow.now().date())
            self.outcome = outcome
        return outcome

    @record.validator
    def _may_record(self, cmd: rules.InspectionCommand) -> None:
        with refusing():
            rules.check_may_inspect(cmd.actor.roles)  # the grants are read here only: a validator is not replayed
        self._check(cmd)

    @workflow.query
    def current_outcome(self) -> rules.InspectionOutcome | None:
        return self.outcome


async def start_inspections(lots: list[str], kind: str) -> None:
    """From the process of `kind` ("purchase-", "production-order-") that received them: an Inspection process per
    quarantined lot, keyed by the lot (a retried receipt finds it started), left running when that process ends
    (the inspector may come after the last receipt)."""
    wf_id = workflow.info().workflow_id
    prefix = ids.prefix_of(wf_id, kind)
    for lot in lots:
        await workflow.start_child_workflow(
            Inspection.run, args=[lot, wf_id], id=ids.inspection(lot, prefix),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON, task_queue=child_queue("Inspection"),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
