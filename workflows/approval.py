"""Approval: the one approval engine every business process uses as a child workflow.

Process: one human task per step of the resolved chain, in order; the first reject ends it.
Waits: on people (decisions, claims, reassignments arrive as Updates with validators that enforce
segregation of duties) and on SLA timers: a task not decided in time gets a reminder, and if it
is still waiting after another SLA period it is escalated to the next one up.
Children: none. Cancelled by its parent (the requester withdrew): open tasks are closed."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from domain.approvals import rules
    from domain.core.errors import Conflict, Forbidden, Invalid
    from domain.org.people import Actor

from workflows.common import patched, refusing, run, search_attributes, this_generation

TASK_CHANGES_IN_TURN = "task-changes-in-turn"  # workflow.patched: claims, hand-ons and escalations in turn


async def start_approval(req: rules.ApprovalRequest, child_id: str, *, customer: str | None = None,
                         salesperson: str | None = None) -> Any:
    """Start the approval child of the calling process, searchable like every process (type approval,
    the business key, requester, amount, and customer and salesperson where there are)."""
    req = this_generation(req)
    return await workflow.start_child_workflow(Approval.run, req, id=child_id, search_attributes=search_attributes(
        "approval", req.business_key, req.requester, req.amount, stage=None, salesperson=salesperson,
        customer=customer))


_SAFE = {"cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED}


class _Withdrawn(Exception):
    """Raised inside run() where it next looks, once a withdrawal was taken: the approval ends there."""


@dataclass
class _Part:
    """One open task of a step of several parts (会签 / 或签): its own approver, holder and decision."""

    task_id: str
    step: rules.ChainStep
    assignee: str | None = None
    deciding: rules.DecideCommand | None = None
    closed: bool = False  # decided, or closed with its step
    routed: str = ""  # why it went to a deputy


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
        # Issue 19 (OA): the chain as it now stands (加签 inserts steps), the position under way, the open parts of a
        # step of several parts, and the OA actions' state.
        self.steps: list[rules.ChainStep] = []
        self.pos = 0
        self.parts: dict[str, _Part] = {}
        self.verdict_taken: tuple[rules.Decision, str] | None = None  # a parts step's outcome, taken (sync)
        self.verdict: rules.Decision | None = None  # ... and recorded
        self.parts_over = False
        self.interrupt: str | None = None  # the open task(s) closed by a send back or an approver added before
        self.sent_back: rules.SentBack | None = None
        self.resubmit_task_id: str | None = None
        self.resubmitted: rules.ResubmitCommand | None = None
        self.urged_at: datetime | None = None
        self.copied: list[str] = []

    @workflow.run
    async def run(self, req: rules.ApprovalRequest) -> rules.ApprovalOutcome:
        self.req = req
        self.steps = list(req.steps)
        try:
            n = 0
            while n < len(self.steps):
                step = self.steps[n]
                self.pos, self.last = n, n == len(self.steps) - 1
                once = rules.deduped(step, self.steps[n - 1] if n else None, self.decisions) if req.dedupe else None
                if once is not None:
                    await self._approve_once(once)
                    n += 1
                    continue
                decision = await (self._parts_step(step) if step.parts else self._step(step))
                if decision is None:  # sent back (the route restarts here once resubmitted), or an approver added
                    if self.sent_back is not None:  # before: the route goes on from self.steps[n] as it now is
                        await self._await_resubmit()
                    continue
                if decision == "reject":
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    return rules.ApprovalOutcome(approved=False, decisions=self.decisions,
                                                 rejected_at_step=step.index, decided_at=self.final_at)
                if self.withdrawal is not None:  # taken while this (not the last) decision was being recorded
                    raise _Withdrawn
                n += 1
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

    async def _step(self, step: rules.ChainStep) -> rules.Decision | None:
        """One approver's step: its decision, or None when its task was sent back or an approver added before."""
        assert self.req is not None
        self.step, self.assignee, self.deciding, self.decided = step, None, None, None
        self.interrupt, self.parts = None, {}
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
                return self.decided.decision if self.decided is not None else None
            except TimeoutError:
                if self._busy():
                    continue  # a decision (a send back, an added approver) is being recorded right now
                if not reminded:
                    reminded = True
                    await self._change("reminded", detail=f"not decided within {self.step.sla_hours} h")
                    self._halt_if_withdrawn()
                    continue
                async with self._in_turn():
                    # A decision taken while this waited its turn (behind a claim or a hand-on) lands first.
                    escalated = None if self._busy() else await self._escalate()
                if escalated is None:
                    continue
                if not escalated:  # there is no one higher: the task waits for its decision
                    await workflow.wait_condition(self._decided_or_withdrawn)
                    self._halt_if_withdrawn()
                    return self.decided.decision if self.decided is not None else None
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
        return self._busy() and patched(TASK_CHANGES_IN_TURN, self._generation())

    def _in_turn(self) -> contextlib.AbstractAsyncContextManager[None]:
        """The task lock, or nothing for processes started before it (their histories replay without it)."""
        return self.task_lock if patched(TASK_CHANGES_IN_TURN, self._generation()) else contextlib.nullcontext()

    def _generation(self) -> int:
        """The generation of this execution (workflows.common.patched); 0 until run() has its request."""
        return self.req.generation if self.req is not None else 0

    def _busy(self) -> bool:
        """A decision, a send back or an approver added before is being taken on the open task."""
        return self.deciding is not None or self.interrupt is not None

    def _decided_or_withdrawn(self) -> bool:
        return (self.decided is not None or (self.withdrawal is not None and self.deciding is None)
                or self.interrupt is not None)

    def _part_recording(self) -> bool:
        return any(p.deciding is not None and not p.closed for p in self.parts.values())

    def _halt_if_withdrawn(self) -> None:
        """Ends the approval here if it was withdrawn, unless a decision is being recorded (it came first: it
        lands, and the approval ends right after it)."""
        if self.withdrawal is not None and self.deciding is None and not self._part_recording():
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
        if not step.candidate_user or not patched("out-of-office", self._generation()):
            return None
        assert self.req is not None
        later = self.steps[self.pos + 1:]
        routed: rules.DeputyRoute | None = await run(
            ApprovalActivities.route_to_deputy, step, self.req.requester, [d.decided_by for d in self.decisions],
            later, **_SAFE)
        return routed

    def _later(self) -> list[rules.ChainStep]:
        assert self.req is not None and self.step is not None
        later = self.steps[self.pos + 1:]
        if self.req.dedupe:  # 去重: the next step of this step's (or a part's) one approver is approved once
            named = {self.step.candidate_user, *(p.step.candidate_user for p in self.parts.values())} - {None}
            while later and later[0].candidate_user in named and not later[0].parts:
                later = later[1:]
        return later

    def _excluded(self) -> list[str]:
        assert self.req is not None
        return [self.req.requester, *(d.decided_by for d in self.decisions)]

    async def _change(self, event: str, **kw: object) -> None:
        assert self.task_id is not None
        await self._change_on(self.task_id, event, **kw)

    async def _change_on(self, task_id: str, event: str, **kw: Any) -> None:
        self.seq += 1
        await run(ApprovalActivities.change_task, rules.TaskChange(task_id=task_id, event=event, seq=self.seq, **kw),
                  **_SAFE)

    # --- Issue 19 (OA): steps of several parts, 去重, send back and resubmit ----------------------------------

    async def _approve_once(self, record: rules.DecisionRecord) -> None:
        """去重: the step's one approver approved the step before it: approved at once, a trail line, no task."""
        assert self.req is not None
        if self.last:
            self.final_at = workflow.now()
        await run(ApprovalActivities.record_decision, workflow.info().workflow_id, self.req.process_id,
                  self.req.business_key, record, **_SAFE)
        self.decisions.append(record)
        self._halt_if_withdrawn()

    def _parts_done(self) -> bool:
        return (self.verdict_taken is not None or self.interrupt is not None or self.parts_over or self.withdrawn
                or self.withdrawal is not None)

    async def _parts_step(self, step: rules.ChainStep) -> rules.Decision | None:
        """A step of several approvers at once: one task per part, all opened together; "all" needs every part's
        approval, "any" the first; one rejection rejects it. The other parts' tasks close once it is decided.
        None when it was sent back."""
        assert self.req is not None
        self.step, self.task_id, self.assignee, self.deciding, self.decided = step, None, None, None, None
        self.interrupt, self.verdict_taken, self.verdict, self.parts_over, self.parts = None, None, None, False, {}
        parts = [_Part(task_id=str(workflow.uuid4()), step=p.model_copy(update={
            "index": step.index, "label": rules.part_label(step, p), "sla_hours": p.sla_hours or step.sla_hours}))
            for p in step.parts]
        for p in parts:
            routed = await self._deputy_for(p.step)
            if routed is not None:
                p.step, p.routed = routed.step, routed.reason
        self._halt_if_withdrawn()
        self.parts = {p.task_id: p for p in parts}
        watchers: list[asyncio.Task[None]] = []
        try:
            for p in parts:
                await run(ApprovalActivities.open_task, rules.TaskSpec(
                    task_id=p.task_id, workflow_id=workflow.info().workflow_id, process_id=self.req.process_id,
                    process_type=self.req.process_type, title=self.req.title, business_key=self.req.business_key,
                    amount=self.req.amount, requester=self.req.requester, step=p.step, priority=self.req.priority,
                    due_hours=p.step.sla_hours), **_SAFE)
            self._halt_if_withdrawn()
            for p in parts:
                if p.routed:
                    await self._change_on(p.task_id, "routed to deputy", detail=p.routed)
            watchers = [asyncio.create_task(self._watch(p)) for p in parts]
            await workflow.wait_condition(lambda: self.verdict is not None or self.interrupt is not None or (
                self.withdrawal is not None and not self._part_recording()))
            self._halt_if_withdrawn()
            if self.verdict is None:
                return None  # sent back: its handler closed the open parts
            assert self.verdict_taken is not None
            verb = "rejected" if self.verdict == "reject" else "decided"
            for p in parts:
                if not p.closed:
                    p.closed = True
                    await self._change_on(p.task_id, "cancelled", detail=f"{verb} by {self.verdict_taken[1]}",
                                          status=rules.TaskStatus.CANCELLED)
            return self.verdict
        finally:
            self.parts_over = True
            if watchers:
                await asyncio.gather(*watchers)
            self.parts = {}

    async def _watch(self, p: _Part) -> None:
        """The SLA of one part's task: a reminder, then an escalation to the next one up (their deputy when away)."""
        reminded, stuck = False, False
        while not stuck:
            try:
                await workflow.wait_condition(lambda: p.closed or self._parts_done(),
                                              timeout=timedelta(hours=p.step.sla_hours))
                return
            except TimeoutError:
                if p.deciding is not None:
                    continue
                if not reminded:
                    reminded = True
                    await self._change_on(p.task_id, "reminded", detail=f"not decided within {p.step.sla_hours} h")
                    continue
                async with self.task_lock:
                    if p.deciding is not None or p.closed or self._parts_done():
                        continue
                    holders = [q.step.candidate_user for q in self.parts.values() if q is not p and q.step.candidate_user]
                    target = await run(ApprovalActivities.escalation_target, p.step,
                                       [*self._excluded(), *(h for h in holders if h)], self._later(), **_SAFE)
                    if p.deciding is not None or p.closed or self._parts_done():
                        continue
                    if target is None:
                        await self._change_on(p.task_id, "escalated",
                                              detail="overdue, and there is no one higher to escalate to")
                        stuck = True
                        continue
                    routed = await self._deputy_for(target)
                    if p.deciding is not None or p.closed or self._parts_done():
                        continue
                    escalated_to = target.candidate_user or target.candidate_role
                    if routed is not None:
                        target = routed.step
                    p.step, p.assignee = target.model_copy(update={"index": p.step.index}), None
                    await self._change_on(p.task_id, "escalated", detail=f"overdue: escalated to {escalated_to}",
                                          candidate_user=target.candidate_user, candidate_role=target.candidate_role,
                                          clear_assignee=True, due_hours=target.sla_hours)
                    if routed is not None:
                        await self._change_on(p.task_id, "routed to deputy", detail=routed.reason)
                    reminded = False
        await workflow.wait_condition(lambda: p.closed or self._parts_done())

    async def _await_resubmit(self) -> None:
        """Sent back: the requester's "resubmit" task, until they resubmit (or the parent says the values changed);
        then the route restarts at the step that sent it back."""
        assert self.req is not None and self.sent_back is not None
        self.task_id, self.resubmit_task_id = None, str(workflow.uuid4())
        step = rules.ChainStep(index=self.sent_back.step, label="resubmit", candidate_user=self.req.requester)
        await run(ApprovalActivities.open_task, rules.TaskSpec(
            task_id=self.resubmit_task_id, workflow_id=workflow.info().workflow_id, process_id=self.req.process_id,
            process_type=self.req.process_type, kind="resubmit", title=self.req.title,
            business_key=self.req.business_key, amount=self.req.amount, step=step, priority=self.req.priority),
            **_SAFE)
        await self._change_on(self.resubmit_task_id, "sent back", actor=self.sent_back.by,
                              detail=self.sent_back.comment[:500])  # why, on the requester's own task
        await workflow.wait_condition(lambda: self.resubmitted is not None or self.withdrawal is not None)
        if self.resubmitted is None:
            raise _Withdrawn
        r = self.resubmitted
        await self._change_on(self.resubmit_task_id, "resubmitted", actor=r.actor.username,
                              detail=(r.comment or "resubmitted as it is")[:500], status=rules.TaskStatus.COMPLETED)
        self.sent_back, self.resubmitted, self.resubmit_task_id, self.interrupt = None, None, None, None

    # --- Updates: each validator answers at once; its handler checks again (an Update or the run came first) ---

    def _open(self, task_id: str) -> rules.ChainStep:
        """The step of the task, while it takes commands (else the domain's refusal)."""
        return rules.check_task_open(task_id, self.task_id, self.step, withdrawn=self.withdrawn,
                                     withdrawal=self.withdrawal, deciding=self.deciding)

    def _task(self, task_id: str) -> tuple[rules.ChainStep, str | None, _Part | None]:
        """The step, holder and part (None: the step's one task) of an open task, while it takes commands."""
        p = self.parts.get(task_id)
        if p is None:
            step = self._open(task_id)
            if self.interrupt is not None:
                raise Conflict(f"this task was closed: {self.interrupt}")
            return step, self.assignee, None
        step = rules.check_task_open(task_id, p.task_id, p.step, withdrawn=self.withdrawn,
                                     withdrawal=self.withdrawal, deciding=p.deciding)
        if self.interrupt is not None:
            raise Conflict(f"this task was closed: {self.interrupt}")
        if self.verdict_taken is not None:
            verb = "rejected" if self.verdict_taken[0] == "reject" else "decided"
            raise Conflict(f"this step was already {verb} by {self.verdict_taken[1]}")
        if p.closed:
            raise Conflict("this task is already decided; the approval has moved on")
        return step, p.assignee, p

    def _prior(self, part: _Part | None = None) -> list[str]:
        """Who decided a step (or, for a part, another part of this step: nobody decides two)."""
        others = [q.deciding.actor.username for q in self.parts.values() if q is not part and q.deciding is not None
                  and q.deciding.actor.username not in (d.decided_by for d in self.decisions)] if part else []
        return [d.decided_by for d in self.decisions] + others

    def _open_task_ids(self) -> list[str]:
        """The approval's open tasks: the open parts, the step's one task, or the requester's resubmit task."""
        if self.resubmit_task_id is not None:
            return [self.resubmit_task_id]
        return self._approver_task_ids()

    def _approver_task_ids(self) -> list[str]:
        if self.interrupt is not None or self.final_at is not None or self.withdrawal is not None:
            return []
        if self.parts:
            return [p.task_id for p in self.parts.values() if not p.closed and p.deciding is None]
        return [self.task_id] if self.task_id and self.deciding is None else []

    @workflow.update
    async def decide(self, cmd: rules.DecideCommand) -> rules.DecisionRecord:
        self._may_decide(cmd)
        part = self.parts.get(cmd.task_id)
        if part is not None:
            return await self._decide_part(part, cmd)
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

    async def _decide_part(self, p: _Part, cmd: rules.DecideCommand) -> rules.DecisionRecord:
        assert self.step is not None
        p.deciding = cmd
        taken = [q.deciding.decision for q in self.parts.values() if q.deciding is not None]
        verdict = rules.step_verdict(self.step.mode, taken, len(self.parts))
        if verdict is not None:
            self.verdict_taken = (verdict, cmd.actor.username)
            if verdict == "reject" or self.last:
                self.final_at = workflow.now()
        record = rules.DecisionRecord(step=p.step.index, role=p.step.label, decided_by=cmd.actor.username,
                                      decision=cmd.decision, comment=cmd.comment)
        await self._change_on(cmd.task_id, "decided", actor=cmd.actor.username,
                              detail=f"{cmd.decision}: {cmd.comment}"[:500], status=rules.TaskStatus.COMPLETED,
                              decision=record)
        p.closed = True
        self.decisions.append(record)
        if verdict is not None:
            self.verdict = verdict
        return record

    @decide.validator
    def _may_decide(self, cmd: rules.DecideCommand) -> None:
        assert self.req is not None
        with refusing():
            step, assignee, part = self._task(cmd.task_id)
            rules.check_may_decide(step, cmd.actor, self.req.requester, self._prior(part), assignee, self._later(),
                                   decision=cmd.decision, comment=cmd.comment)

    @workflow.update
    async def claim(self, cmd: rules.TaskCommand) -> str:
        async with self._in_turn():
            self._may_claim(cmd)
            part = self.parts.get(cmd.task_id)
            if part is not None:
                part.assignee = cmd.actor.username
            else:
                self.assignee = cmd.actor.username
            await self._change_on(cmd.task_id, "claimed", actor=cmd.actor.username, assignee=cmd.actor.username)
        return "claimed"

    @claim.validator
    def _may_claim(self, cmd: rules.TaskCommand) -> None:
        assert self.req is not None
        with refusing():
            step, assignee, part = self._task(cmd.task_id)
            rules.check_may_claim(step, cmd.actor, self.req.requester, self._prior(part), assignee, self._later())

    @workflow.update
    async def unclaim(self, cmd: rules.TaskCommand) -> str:
        async with self._in_turn():
            self._may_unclaim(cmd)
            part = self.parts.get(cmd.task_id)
            if part is not None:
                part.assignee = None
            else:
                self.assignee = None
            await self._change_on(cmd.task_id, "unclaimed", actor=cmd.actor.username, clear_assignee=True)
        return "unclaimed"

    @unclaim.validator
    def _may_unclaim(self, cmd: rules.TaskCommand) -> None:
        with refusing():
            _, assignee, _ = self._task(cmd.task_id)
            rules.check_may_unclaim(cmd.actor, assignee)

    @workflow.update
    async def reassign(self, cmd: rules.TaskCommand) -> str:
        async with self._in_turn():
            self._may_reassign(cmd)
            assert cmd.target is not None and self.step is not None
            target = cmd.target.username
            part = self.parts.get(cmd.task_id)
            step = part.step if part is not None else self.step
            if step.candidate_user:
                # A step named for one person is handed on by delegation: the delegate becomes the approver.
                step = step.model_copy(update={"candidate_user": target, "eligible": [target]})
                if part is not None:
                    part.step, part.assignee = step, None
                else:
                    self.step, self.assignee = step, None
                await self._change_on(cmd.task_id, "delegated", actor=cmd.actor.username,
                                      detail=f"delegated to {target}", candidate_user=target, clear_assignee=True)
            else:
                if part is not None:
                    part.assignee = target
                else:
                    self.assignee = target
                await self._change_on(cmd.task_id, "reassigned", actor=cmd.actor.username,
                                      detail=f"reassigned to {target}", assignee=target)
        return "reassigned"

    @reassign.validator
    def _may_reassign(self, cmd: rules.TaskCommand) -> None:
        assert self.req is not None
        with refusing():
            step, assignee, part = self._task(cmd.task_id)
            rules.check_may_reassign(step, cmd.actor, cmd.target, self.req.requester, self._prior(part), assignee,
                                     self._later())

    # --- OA actions (issue 19): send back, resubmit, add approver, copy to, urge --------------------------------

    @workflow.update
    async def send_back(self, cmd: rules.SendBackCommand) -> str:
        """退回: the open task(s) of the step close, the requester gets a "resubmit" task, the approval waits."""
        self._may_send_back(cmd)
        assert self.step is not None
        open_ids = self._approver_task_ids()
        self.interrupt = f"sent back by {cmd.actor.username}"
        self.sent_back = rules.SentBack(by=cmd.actor.username, comment=cmd.comment, step=self.step.index,
                                        at=workflow.now())
        self.resubmitted = None
        # The step starts again once resubmitted: approvals its parts gave before are taken again.
        self.decisions = [d for d in self.decisions if d.step != self.step.index]
        for p in self.parts.values():
            p.closed = True
        for tid in open_ids:
            await self._change_on(tid, "sent back", actor=cmd.actor.username, detail=cmd.comment[:500],
                                  status=rules.TaskStatus.CANCELLED)
        return "sent back"

    @send_back.validator
    def _may_send_back(self, cmd: rules.SendBackCommand) -> None:
        assert self.req is not None
        with refusing():
            step, assignee, part = self._task(cmd.task_id)
            rules.check_may_decide(step, cmd.actor, self.req.requester, self._prior(part), assignee, self._later())
            rules.check_send_back_comment(cmd.comment)

    @workflow.update
    async def resubmit(self, cmd: rules.ResubmitCommand) -> str:
        """The requester sends the request back on its route (as it is), from the step that sent it back."""
        self._may_resubmit(cmd)
        self.resubmitted = cmd
        return "resubmitted"

    @resubmit.validator
    def _may_resubmit(self, cmd: rules.ResubmitCommand) -> None:
        assert self.req is not None
        with refusing():
            if self.withdrawal is not None or self.withdrawn:
                raise Conflict("the request was withdrawn")
            rules.check_may_resubmit(cmd.actor, self.req.requester, self.sent_back, self.resubmitted is not None)

    @workflow.signal(name="resubmitted")
    def resubmitted_signal(self, comment: str = "") -> None:
        """From the parent: the requester changed the sent-back document's values and filed it again."""
        assert self.req is not None
        if self.sent_back is not None and self.resubmitted is None and self.withdrawal is None:
            self.resubmitted = rules.ResubmitCommand(actor=Actor(username=self.req.requester),
                                                     comment=comment or "resubmitted with changes")

    @workflow.update
    async def add_approver(self, cmd: rules.AddApproverCommand) -> str:
        """加签: before: the target decides first (this task closes, and comes back once they approve); after: a new
        one-person step right after this one."""
        self._may_add_approver(cmd)
        assert self.step is not None
        step, _, _ = self._task(cmd.task_id)
        added = rules.added_step(step, cmd.actor.username, cmd.target, cmd.position)
        detail = f"{cmd.target.username} added {cmd.position} {cmd.actor.username}" + (
            f": {cmd.comment}" if cmd.comment else "")
        if cmd.position == "before":
            self.interrupt = f"{cmd.target.username} was added before {cmd.actor.username}"
            self.steps[self.pos:self.pos + 1] = [added, self.step]
            await self._change_on(cmd.task_id, "approver added", actor=cmd.actor.username, detail=detail[:500],
                                  status=rules.TaskStatus.CANCELLED)
        else:
            self.steps.insert(self.pos + 1, added)
            self.last = False
            await self._change_on(cmd.task_id, "approver added", actor=cmd.actor.username, detail=detail[:500])
        return "approver added"

    @add_approver.validator
    def _may_add_approver(self, cmd: rules.AddApproverCommand) -> None:
        assert self.req is not None
        with refusing():
            step, assignee, part = self._task(cmd.task_id)
            rules.check_may_decide(step, cmd.actor, self.req.requester, self._prior(part), assignee, self._later())
            if cmd.position == "before" and part is not None:
                raise Conflict("an approver is added before only on a step of one approver; add them after it")
            holders = [q.step.candidate_user or "" for q in self.parts.values() if not q.closed]
            rules.check_added_approver(cmd.target, cmd.actor, self.req.requester, self._prior(part), holders)
            if any(s.candidate_user == cmd.target.username for s in self.steps[self.pos + 1:]):
                raise Forbidden(f"{cmd.target.username} approves a later step of this approval")

    @workflow.update
    async def copy_to(self, cmd: rules.CopyToCommand) -> list[str]:
        """抄送: the people named may read the document (stored in approval_copies) and are told; they do not decide."""
        self._may_copy_to(cmd)
        assert self.req is not None
        new = [u for u in dict.fromkeys(cmd.usernames) if u not in self.copied]
        self.copied.extend(new)
        self.seq += 1
        await run(ApprovalActivities.copy_to, self.req.process_id, new, cmd.actor.username,
                  f"{workflow.info().workflow_id}:copy:{self.seq}", **_SAFE)
        for n, tid in enumerate(self._open_task_ids()):  # those copied are told once (the first line names them)
            await self._change_on(tid, "copied", actor=cmd.actor.username, detail=f"copied to {', '.join(new)}"[:500],
                                  notify=new if n == 0 else [])
        return new

    @copy_to.validator
    def _may_copy_to(self, cmd: rules.CopyToCommand) -> None:
        assert self.req is not None
        with refusing():
            if self.withdrawal is not None or self.withdrawn:
                raise Conflict("the request was withdrawn")
            if cmd.actor.username != self.req.requester:
                if cmd.task_id is None:
                    raise Forbidden("only the requester or the current approver can copy this approval to others")
                step, assignee, part = self._task(cmd.task_id)
                rules.check_may_decide(step, cmd.actor, self.req.requester, self._prior(part), assignee, self._later())
            if self.req.requester in cmd.usernames:
                raise Invalid(f"{self.req.requester} made this request; there is no need to copy it to them")
            if all(u in self.copied for u in cmd.usernames):
                raise Conflict(f"already copied to {', '.join(cmd.usernames)}")

    @workflow.update
    async def urge(self, cmd: rules.UrgeCommand) -> list[str]:
        """催办: a line "urged" on each open approval task (its approvers are told), at most once an hour."""
        self._may_urge(cmd)
        self.urged_at = workflow.now()
        ids = self._approver_task_ids()
        for tid in ids:
            await self._change_on(tid, "urged", actor=cmd.actor.username,
                                  detail=(cmd.comment or f"urged by {cmd.actor.username}")[:500])
        return ids

    @urge.validator
    def _may_urge(self, cmd: rules.UrgeCommand) -> None:
        assert self.req is not None
        with refusing():
            rules.check_may_urge(cmd.actor, self.req.requester, bool(self._approver_task_ids()), self.urged_at,
                                 workflow.now())

    @workflow.query
    def state(self) -> dict[str, object]:
        return {"task_id": self.task_id, "step": self.step.model_dump() if self.step else None,
                "assignee": self.assignee, "decisions": [d.model_dump() for d in self.decisions],
                "open_tasks": self._open_task_ids(), "sent_back": self.sent_back is not None,
                "sent_back_by": self.sent_back.model_dump() if self.sent_back else None,
                "resubmit_task_id": self.resubmit_task_id, "copied": list(self.copied),
                "urged_at": self.urged_at.isoformat() if self.urged_at else None}
