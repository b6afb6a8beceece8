"""The approval process (workflows/approval.py), every process's child: its tasks' decisions, claims, releases
and hand-ons, each an Update its validator may refuse. Approvals are started by their parent processes."""

from __future__ import annotations

from api.platform import Platform
from domain.approvals import rules as approval_rules
from domain.approvals.tables import Task
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.types import utcnow
from domain.org import services as org
from domain.org.people import Actor
from workflows.approval import Approval

COMMANDS = {"claim": Approval.claim, "unclaim": Approval.unclaim, "reassign": Approval.reassign}


async def _open_task(platform: Platform, task_id: str) -> Task:
    task: Task | None = await platform.read(lambda s, tid: s.get(Task, tid), task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.status != approval_rules.TaskStatus.OPEN:
        raise Conflict(f"this task is already {task.status}")
    if task.kind != "approval":
        raise Conflict("this is an alert; it closes by itself when its cause is resolved")
    return task


async def decide(platform: Platform, actor: Actor, task_id: str, decision: str, comment: str) -> Task:
    task = await _open_task(platform, task_id)
    if decision not in ("approve", "reject"):
        raise Invalid("decision must be approve or reject")
    record: approval_rules.DecisionRecord = await platform.update(
        platform.handle(task.workflow_id), Approval.decide,
        approval_rules.DecideCommand(task_id=task_id, actor=actor, decision=decision, comment=comment),
        recheck=lambda: _open_task(platform, task_id))
    # The workflow answered once the decision was recorded: the task as it now stands, without re-reading.
    task.status, task.decision, task.decided_by = (approval_rules.TaskStatus.COMPLETED, record.decision,
                                                   record.decided_by)
    task.comment, task.closed_at = record.comment, utcnow()
    return task


async def task_command(platform: Platform, verb: str, actor: Actor, task_id: str,
                       target: str | None = None, delegate: bool = False) -> Task:
    """`verb` (claim, unclaim, reassign) on an open task; reassign hands it to `target` (delegated: `delegate`)."""
    task = await _open_task(platform, task_id)
    target_actor = None
    if target is not None:
        target_actor = await platform.read(org.actor, target)
    await platform.update(platform.handle(task.workflow_id), COMMANDS[verb],
                          approval_rules.TaskCommand(task_id=task_id, actor=actor, target=target_actor,
                                                     delegate=delegate),
                          recheck=lambda: _open_task(platform, task_id))
    return await platform.read(lambda s, tid: s.get(Task, tid), task_id)
