"""MrpRelease (生产任务单批量新增 over a stored run): chosen planned orders of an MRP run become orders, in one
action, once.

Process: claim the planned orders (each of a run is claimed once, ever: a second release of it is refused and
creates nothing) → each planned production order becomes a production order and its `ProductionOrder` process →
the planned purchases become one requisition per default supplier and its `Purchase` process (approved by amount
like any requisition) → done. Each step is one activity that finds what it made when retried, so a worker killed
half way makes nothing twice; the monitor and the run page show "7 of 12 created" as it goes.
Waits: on nothing but its own steps. Children: ProductionOrder and Purchase processes, started as children that
outlive it (ABANDON)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.mrp_release import MrpReleaseActivities
    from domain.planning.release_rules import ReleasePlan, ReleaseProgress, ReleaseRequest
    from domain.processes import ids

from workflows.common import child_queue, record_or_fail, run, search_attributes, set_stage, this_generation
from workflows.production_order import ProductionOrder
from workflows.purchase import Purchase


@workflow.defn
class MrpRelease:
    """Invariants: `plan` is set once the claim is in the database, `refused` instead when the claim was refused
    (kind, sentence), and then nothing was stored; `made` counts the planned orders made so far (never above the
    plan's total); the `claimed` Update waits for the claim and changes nothing."""

    def __init__(self) -> None:
        self.req: ReleaseRequest | None = None
        self.plan: ReleasePlan | None = None
        self.refused: tuple[str, str] | None = None
        self.made = 0
        self.done = False

    def _refused(self, why: tuple[str, str]) -> None:
        self.refused = why

    @workflow.run
    async def run(self, req: ReleaseRequest) -> ReleaseProgress:
        self.req = req
        wf_id = workflow.info().workflow_id
        prefix = ids.prefix_of_release(wf_id)
        plan: ReleasePlan = await record_or_fail(
            run(MrpReleaseActivities.claim_planned_orders, req, wf_id), self._refused)
        self.plan = plan
        set_stage("creating")
        for n in plan.production:
            ref = await run(MrpReleaseActivities.make_production_order, req, n, wf_id, prefix)
            await workflow.start_child_workflow(
                ProductionOrder.run, ref, id=ids.production_order(ref.number, prefix),
                task_queue=child_queue("ProductionOrder"), parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=search_attributes("production_order", ref.number, ref.planner, 0,
                                                    stage="waiting for material"))
            self.made += 1
        for seq, group in enumerate(plan.purchases, 1):
            draft = await run(MrpReleaseActivities.make_requisition, req, group, wf_id, prefix, seq)
            await workflow.start_child_workflow(
                Purchase.run, this_generation(draft), id=ids.purchase(draft.number, prefix), task_queue=child_queue("Purchase"),
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=search_attributes("purchase", draft.number, draft.requester, draft.total))
            self.made += len(group)
        result: ReleaseProgress = await run(MrpReleaseActivities.finish_release, req, wf_id)
        self.done = True
        set_stage("created")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    def _progress(self) -> ReleaseProgress:
        assert self.req is not None
        return ReleaseProgress(release_id=self.req.number, run_id=self.req.run, made=self.made,
                               total=self.plan.total if self.plan else len(self.req.ns), done=self.done)

    @workflow.update
    async def claimed(self) -> ReleaseProgress:
        """Answers once the planned orders are claimed (or with the refusal that stored nothing)."""
        await workflow.wait_condition(lambda: self.plan is not None or self.refused is not None)
        if self.refused is not None:
            raise ApplicationError(self.refused[1], type=self.refused[0], non_retryable=True)
        return self._progress()

    @workflow.query
    def progress(self) -> ReleaseProgress:
        return self._progress()
