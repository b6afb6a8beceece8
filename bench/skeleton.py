"""A skeleton of ExpenseClaim + Approval: the same shape, with every activity a no-op.

Up to "approved", ExpenseClaim runs record_claim, starts an Approval child (open_task, then an
Update `decide` with a validator whose handler runs change_task), and runs set_claim_status; the
API waits on the parent's `recorded_state` Update. These workflows do exactly that and nothing
else (no database, no HTTP, no search attributes), so their rate on the same dev server and
worker process is the floor the engine allows for this shape.

With `engine_features` the skeleton also asks the engine for what ExpenseClaim asks beyond the
shape: custom search attributes at start (the starter passes them), two Stage upserts up to
"approved", and the approval step's SLA timer (started, then cancelled by the decision). That
variant is a diagnostic: it separates engine work our design asks for from our Python code."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), backoff_coefficient=2.0,
                     maximum_interval=timedelta(seconds=30))
_TIMEOUT = timedelta(seconds=30)
_SLA = timedelta(hours=48)
STAGE = SearchAttributeKey.for_keyword("Stage")


@dataclass
class SkelDecision:
    task_id: str
    actor: str
    decision: str


# --- activities: same names as ours, prefixed skel_, each doing nothing (sync, like ours) -----------

@activity.defn
def skel_record_claim(number: str, process_id: str) -> list[str]:
    return ["manager"]


@activity.defn
def skel_set_claim_status(number: str, process_id: str, status: str, stage: str, post_key: str | None,
                          close: bool) -> None:
    return None


@activity.defn
def skel_open_task(task_id: str, workflow_id: str) -> None:
    return None


@activity.defn
def skel_change_task(task_id: str, event: str, seq: int) -> None:
    return None


ACTIVITIES: list[Callable[..., Any]] = [skel_record_claim, skel_set_claim_status, skel_open_task, skel_change_task]


# --- workflows --------------------------------------------------------------------------------------

@workflow.defn
class SkelApproval:
    def __init__(self) -> None:
        self.task_id: str | None = None
        self.deciding: SkelDecision | None = None
        self.decided: SkelDecision | None = None
        self.seq = 0

    @workflow.run
    async def run(self, steps: list[str], sla_timer: bool = False) -> bool:
        approved = True
        for _step in steps:
            self.deciding, self.decided = None, None
            task_id = str(workflow.uuid4())
            await workflow.execute_activity(skel_open_task, args=[task_id, workflow.info().workflow_id],
                                            start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)
            self.task_id = task_id
            await workflow.wait_condition(lambda: self.decided is not None, timeout=_SLA if sla_timer else None)
            assert self.decided is not None
            if self.decided.decision != "approve":
                approved = False
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        return approved

    def _check(self, cmd: SkelDecision) -> None:
        if self.task_id is None or cmd.task_id != self.task_id or self.deciding is not None:
            raise ApplicationError("this task is already decided or no longer open", type="conflict",
                                   non_retryable=True)

    @workflow.update
    async def decide(self, cmd: SkelDecision) -> str:
        self._check(cmd)
        self.deciding = cmd
        self.seq += 1
        await workflow.execute_activity(skel_change_task, args=[cmd.task_id, "decided", self.seq],
                                        start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)
        self.decided = cmd
        return cmd.decision

    @decide.validator
    def _validate_decide(self, cmd: SkelDecision) -> None:
        self._check(cmd)

    @workflow.query
    def task(self) -> str | None:
        """The open task's id: what the inbox GET answers in our flow."""
        return self.task_id if self.deciding is None else None


@workflow.defn
class SkelClaim:
    def __init__(self) -> None:
        self.status = "submitted"
        self.recorded = False

    @workflow.run
    async def run(self, number: str, engine_features: bool = False) -> str:
        wf_id = workflow.info().workflow_id
        steps = await workflow.execute_activity(skel_record_claim, args=[number, wf_id],
                                                start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)
        self.status, self.recorded = "pending_approval", True
        if engine_features:
            workflow.upsert_search_attributes([STAGE.value_set("approval")])
        child = await workflow.start_child_workflow(SkelApproval.run, args=[steps, engine_features],
                                                    id=f"{wf_id}/approval")
        await workflow.wait_condition(lambda: child.done())
        approved = child.result()
        self.status = "approved" if approved else "rejected"
        if engine_features:
            workflow.upsert_search_attributes([STAGE.value_set("awaiting payment")])
        await workflow.execute_activity(skel_set_claim_status,
                                        args=[number, wf_id, self.status, self.status, f"{wf_id}:accrual", False],
                                        start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    @workflow.update
    async def recorded_state(self) -> str:
        await workflow.wait_condition(lambda: self.recorded)
        return self.status


def build_skeleton_worker(client: Client, task_queue: str, threads: int = 32) -> Worker:
    """The skeleton's worker, configured like worker.build_worker (sync activities on a thread pool)."""
    return Worker(client, task_queue=task_queue, workflows=[SkelClaim, SkelApproval], activities=ACTIVITIES,
                  activity_executor=ThreadPoolExecutor(max_workers=threads), max_concurrent_activities=threads)
