"""Approval: the one approval engine every business process uses as a child workflow.

Process: one human task per step of the resolved chain, in order; the first reject ends it.
Waits: on people (decisions, claims, reassignments arrive as Updates with validators that enforce
segregation of duties) and on SLA timers: a task not decided in time gets a reminder, and if it
is still waiting after another SLA period it is escalated to the next one up.
Children: none. Cancelled by its parent (the requester withdrew): open tasks are closed."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from domain.approvals import rules

from workflows.common import refusing, run, search_attributes

TASK_CHANGES_IN_TURN = "task-changes-in-turn"  # workflow.patched: claims, hand-ons and escalations in turn


async def start_approval(req: rules.ApprovalRequest, child_id: str, *, customer: str | None = None,
                         salesperson: str | None = None) -> Any:
    """Start the approval child of the calling process, searchable like every process (type approval,
    the business key, requester, amount, and customer and salesperson where there are)."""
    return await workflow.start_child_workflow(Approval.run, req, id=child_id, search_attributes=search_attributes(
        "approval", req.business_key, req.requester, req.amount, stage=None, salesperson=salesperson,
        customer=customer))


_SAFE = {"cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED}


class _Withdrawn(Exception):
    """Raised inside run() where it next looks, once a withdrawal was taken: the approval ends there."""


@workflow.defn
class Approval:
    """Invariants: `step` and `task_id` are the open task (a new one per step; `step` is re-addressed by a
    delegation or an escalation); `assignee` is who claimed it, if anyone; `decisions` are the decisions recorded,
    in step order. `deciding` is set the moment a decision is taken (before it is recorded) and stays until the
    next step opens: from then on no other command on the task is taken (`check_task_open`), and the run neither
    reminds nor escalates. `withdrawal` is taken only before the last decision (`final_at` unset; a last decision
    being recorded counts as taken), `withdrawn` once the parent cancels: from either on, nothing is taken.

    Interleaving: every handler changes the state at once, before it awaits the task's projection, so the next
    command is checked against it. A decision never waits: it is taken in the order Temporal delivers it, against
    a withdrawal too (that order is the one answer the requester and the approver both get). Claims, releases and
    hand-ons record their change under `task_lock`, and so does the run's escalation: the inbox's task gets those
    changes in the order the workflow made them (its projection writes the last one it is given), and a command
    that waited its turn is checked again against the task as the one before it left it (an escalated step, a new
    holder). Processes started before that lock (TASK_CHANGES_IN_TURN) replay without it."""

    def __init__(self) -> None:
        self.req: rules.ApprovalRequest | None = None
        self.step: rules.ChainStep | None = None
        self.task_id: str | None = None
        self.assignee: str | None = None
        self.deciding: rules.DecideCommand | None = None  # taken synchronously: blocks a second decision
        self.decided: rules.DecideCommand | None = None  # set once the decision is recorded
        self.decisions: list[rules.DecisionRecord] = []
        self.seq = 0
        self.withdrawn = False  # the parent cancelled the request: its tasks are closing
        self.withdrawal: rules.Withdrawal | None = None  # taken before the last decision: it ends the approval
        self.last = False  # the step under way is the chain's last
        self.final_at: datetime | None = None  # when the last decision (an approve of the last step, a reject) came
        self.task_lock = asyncio.Lock()  # held while a claim, release, hand-on or escalation changes the task

    @workflow.run
    async def run(self, req: rules.ApprovalRequest) -> rules.ApprovalOutcome:
        self.req = req
        try:
            for n, step in enumerate(req.steps):
                self.last = n == len(req.steps) - 1
                decision = await self._step(step)
                if decision.decision == "reject":
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    return rules.ApprovalOutcome(approved=False, decisions=self.decisions,
                                                 rejected_at_step=step.index, decided_at=self.final_at)
                if self.withdrawal is not None:  # taken while this (not the last) decision was being recorded
                    raise _Withdrawn
            await workflow.wait_condition(workflow.all_handlers_finished)
            return rules.ApprovalOutcome(approved=True, decisions=self.decisions, decided_at=self.final_at)
        except _Withdrawn:
            # Withdrawn before the last decision: a decision being recorded finishes first (it came first), then
            # the open tasks close, and the parent gets the withdrawal back as the outcome.
            assert self.withdrawal is not None
            await workflow.wait_condition(workflow.all_handlers_finished)
            await run(ApprovalActivities.close_open_tasks, workflow.info().workflow_id, rules.TaskStatus.CANCELLED,
                      rules.withdrawn_note(self.withdrawal), self.withdrawal.by, **_SAFE)
            return rules.ApprovalOutcome(approved=False, decisions=self.decisions, withdrawn=self.withdrawal)
        except asyncio.CancelledError:
            # From here on nothing more is decided; a decision being recorded right now finishes first,
            # so its approver gets a true answer.
            self.withdrawn = True
            await workflow.wait_condition(workflow.all_handlers_finished)
            await run(ApprovalActivities.close_open_tasks, workflow.info().workflow_id, rules.TaskStatus.CANCELLED,
                      "the request was withdrawn", **_SAFE)
            raise

    async def _step(self, step: rules.ChainStep) -> rules.DecideCommand:
        assert self.req is not None
        self.step, self.assignee, self.deciding, self.decided = step, None, None, None
        self.task_id = str(workflow.uuid4())
        routed = await self._deputy_for(step)
        self._halt_if_withdrawn()
        if routed is not None:
            step = self.step = routed.step
        await run(ApprovalActivities.open_task, rules.TaskSpec(
            task_id=self.task_id, workflow_id=workflow.info().workflow_id, process_id=self.req.process_id,
            process_type=self.req.process_type, title=self.req.title, business_key=self.req.business_key,
            amount=self.req.amount, requester=self.req.requester, step=step, priority=self.req.priority,
            due_hours=step.sla_hours), **_SAFE)
        self._halt_if_withdrawn()
        if routed is not None:
            await self._change("routed to deputy", detail=routed.reason)
        reminded = False
        while True:
            sla = timedelta(hours=self.step.sla_hours)
            try:
                await workflow.wait_condition(self._decided_or_withdrawn, timeout=sla)
                self._halt_if_withdrawn()
                assert self.decided is not None
                return self.decided
            except TimeoutError:
                if self.deciding is not None:
                    continue  # a decision is being recorded right now
                if not reminded:
                    reminded = True
                    await self._change("reminded", detail=f"not decided within {self.step.sla_hours} h")
                    self._halt_if_withdrawn()
                    continue
                async with self._in_turn():
                    # A decision taken while this waited its turn (behind a claim or a hand-on) lands first.
                    escalated = None if self.deciding is not None else await self._escalate()
                if escalated is None:
                    continue
                if not escalated:  # there is no one higher: the task waits for its decision
                    await workflow.wait_condition(self._decided_or_withdrawn)
                    self._halt_if_withdrawn()
                    assert self.decided is not None
                    return self.decided
                reminded = False
                self._halt_if_withdrawn()

    async def _escalate(self) -> bool | None:
        """Hands the overdue task to the next one up (their deputy, when away); False when there is no one higher
        (the trail says so); None when a decision came while it looked for them (the decision stands)."""
        assert self.step is not None
        target = await run(ApprovalActivities.escalation_target, self.step, self._excluded(), self._later(), **_SAFE)
        self._halt_if_withdrawn()
        if self._decision_came():
            return None
        if target is None:
            await self._change("escalated", detail="overdue, and there is no one higher to escalate to")
            return False
        routed = await self._deputy_for(target)
        self._halt_if_withdrawn()
        if self._decision_came():
            return None
        escalated_to = target.candidate_user or target.candidate_role
        if routed is not None:
            target = routed.step
        self.step, self.assignee = target, None
        await self._change("escalated", detail=f"overdue: escalated to {escalated_to}",
                           candidate_user=target.candidate_user, candidate_role=target.candidate_role,
                           clear_assignee=True, due_hours=target.sla_hours)
        if routed is not None:
            await self._change("routed to deputy", detail=routed.reason)
        return True

    def _decision_came(self) -> bool:
        """A decision is being taken (or was) while the escalation looked for whom to hand the task to: it stands,
        and the task is not moved under it. Processes started before the task lock escalated all the same."""
        return self.deciding is not None and workflow.patched(TASK_CHANGES_IN_TURN)

    def _in_turn(self) -> contextlib.AbstractAsyncContextManager[None]:
        """The task lock, or nothing for processes started before it (their histories replay without it)."""
        return self.task_lock if workflow.patched(TASK_CHANGES_IN_TURN) else contextlib.nullcontext()

    def _decided_or_withdrawn(self) -> bool:
        return self.decided is not None or (self.withdrawal is not None and self.deciding is None)

    def _halt_if_withdrawn(self) -> None:
        """Ends the approval here if it was withdrawn, unless a decision is being recorded (it came first: it
        lands, and the approval ends right after it)."""
        if self.withdrawal is not None and self.deciding is None:
            raise _Withdrawn

    @workflow.signal
    def withdraw(self, w: rules.Withdrawal) -> None:
        """From the parent: its document is withdrawn (the requester cancelled it, its opportunity was lost).
        Taken only before the last decision (a last decision being recorded counts as taken): then no more
        decisions are taken, and the approval ends with the open tasks closed and the withdrawal as its outcome.
        After the last decision it is ignored: the parent sees the decision in the outcome and answers its
        caller (a 409 for a claim's cancel). Signals and Updates are taken in one order here, so exactly one of
        a withdrawal and the last decision wins."""
        if self.withdrawal is None and self.final_at is None and not self.withdrawn:
            self.withdrawal = w.model_copy(update={"at": workflow.now()})

    async def _deputy_for(self, step: rules.ChainStep) -> rules.DeputyRoute | None:
        """The step re-addressed to the deputy of its named approver, who is out of office today; None
        when the step is for a role (anyone holding it can take it), its approver is at work, or no
        deputy may take it. Histories recorded before out-of-office replay without this activity."""
        if not step.candidate_user or not workflow.patched("out-of-office"):
            return None
        assert self.req is not None
        later = [s for s in self.req.steps if s.index > step.index]
        routed: rules.DeputyRoute | None = await run(
            ApprovalActivities.route_to_deputy, step, self.req.requester, [d.decided_by for d in self.decisions],
            later, **_SAFE)
        return routed

    def _later(self) -> list[rules.ChainStep]:
        assert self.req is not None and self.step is not None
        return [s for s in self.req.steps if s.index > self.step.index]

    def _excluded(self) -> list[str]:
        assert self.req is not None
        return [self.req.requester, *(d.decided_by for d in self.decisions)]

    async def _change(self, event: str, **kw: object) -> None:
        assert self.task_id is not None
        self.seq += 1
        await run(ApprovalActivities.change_task, rules.TaskChange(task_id=self.task_id, event=event, seq=self.seq,
                                                                   **kw), **_SAFE)

    # --- Updates: each validator answers at once; its handler checks again (an Update or the run came first) ---

    def _open(self, task_id: str) -> rules.ChainStep:
        """The step of the task, while it takes commands (else the domain's refusal)."""
        return rules.check_task_open(task_id, self.task_id, self.step, withdrawn=self.withdrawn,
                                     withdrawal=self.withdrawal, deciding=self.deciding)

    def _prior(self) -> list[str]:
        return [d.decided_by for d in self.decisions]

    @workflow.update
    async def decide(self, cmd: rules.DecideCommand) -> rules.DecisionRecord:
        self._may_decide(cmd)
        assert self.step is not None
        self.deciding = cmd
        if cmd.decision == "reject" or self.last:
            self.final_at = workflow.now()  # from here on a withdrawal comes too late
        record = rules.DecisionRecord(step=self.step.index, role=self.step.label, decided_by=cmd.actor.username,
                                      decision=cmd.decision, comment=cmd.comment)
        self.seq += 1
        await run(ApprovalActivities.change_task, rules.TaskChange(
            task_id=cmd.task_id, event="decided", seq=self.seq, actor=cmd.actor.username,
            detail=f"{cmd.decision}: {cmd.comment}"[:500], status=rules.TaskStatus.COMPLETED, decision=record),
            **_SAFE)
        self.decisions.append(record)
        self.decided = cmd
        return record

    @decide.validator
    def _may_decide(self, cmd: rules.DecideCommand) -> None:
        assert self.req is not None
        with refusing():
            rules.check_may_decide(self._open(cmd.task_id), cmd.actor, self.req.requester, self._prior(),
                                   self.assignee, self._later(), decision=cmd.decision, comment=cmd.comment)

    @workflow.update
    async def claim(self, cmd: rules.TaskCommand) -> str:
        async with self._in_turn():
            self._may_claim(cmd)
            self.assignee = cmd.actor.username
            await self._change("claimed", actor=cmd.actor.username, assignee=cmd.actor.username)
        return "claimed"

    @claim.validator
    def _may_claim(self, cmd: rules.TaskCommand) -> None:
        assert self.req is not None
        with refusing():
            rules.check_may_claim(self._open(cmd.task_id), cmd.actor, self.req.requester, self._prior(),
                                  self.assignee, self._later())

    @workflow.update
    async def unclaim(self, cmd: rules.TaskCommand) -> str:
        async with self._in_turn():
            self._may_unclaim(cmd)
            self.assignee = None
            await self._change("unclaimed", actor=cmd.actor.username, clear_assignee=True)
        return "unclaimed"

    @unclaim.validator
    def _may_unclaim(self, cmd: rules.TaskCommand) -> None:
        with refusing():
            self._open(cmd.task_id)
            rules.check_may_unclaim(cmd.actor, self.assignee)

    @workflow.update
    async def reassign(self, cmd: rules.TaskCommand) -> str:
        async with self._in_turn():
            self._may_reassign(cmd)
            assert cmd.target is not None and self.step is not None
            target = cmd.target.username
            if self.step.candidate_user:
                # A step named for one person is handed on by delegation: the delegate becomes the approver.
                self.step = self.step.model_copy(update={"candidate_user": target, "eligible": [target]})
                self.assignee = None
                await self._change("delegated", actor=cmd.actor.username, detail=f"delegated to {target}",
                                   candidate_user=target, clear_assignee=True)
            else:
                self.assignee = target
                await self._change("reassigned", actor=cmd.actor.username, detail=f"reassigned to {target}",
                                   assignee=target)
        return "reassigned"

    @reassign.validator
    def _may_reassign(self, cmd: rules.TaskCommand) -> None:
        assert self.req is not None
        with refusing():
            rules.check_may_reassign(self._open(cmd.task_id), cmd.actor, cmd.target, self.req.requester,
                                     self._prior(), self.assignee, self._later())

    @workflow.query
    def state(self) -> dict[str, object]:
        return {"task_id": self.task_id, "step": self.step.model_dump() if self.step else None,
                "assignee": self.assignee, "decisions": [d.model_dump() for d in self.decisions]}
