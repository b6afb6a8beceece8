"""The approval process (workflows/approval.py), every process's child: its tasks' decisions, claims, releases
and hand-ons, each an Update its validator may refuse. Approvals are started by their parent processes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.platform import Platform
from domain.approvals import rules as approval_rules
from domain.approvals.tables import Task
from domain.core import records
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.types import utcnow
from domain.org import services as org
from domain.org.people import Actor
from workflows.approval import Approval

MAX_COPY_TO = 20  # people copied by one 抄送 (the API's limit too)
COMMANDS = {"claim": Approval.claim, "unclaim": Approval.unclaim, "reassign": Approval.reassign}


async def _open_task(platform: Platform, task_id: str) -> Task:
    return _open(await _task(platform, task_id), task_id)


async def _task(platform: Platform, task_id: str) -> Task | None:
    task: Task | None = await platform.glance(lambda s, tid: s.get(Task, tid), task_id)  # by its key
    return task


def _open(task: Task | None, task_id: str) -> Task:
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.status != approval_rules.TaskStatus.OPEN:
        raise Conflict(f"this task is already {task.status}")
    if task.kind != "approval":
        raise Conflict("this is an alert; it closes by itself when its cause is resolved")
    return task


async def decide(platform: Platform, actor: Actor, task_id: str, decision: str, comment: str) -> Task:
    found = await _task(platform, task_id)
    if (records.keyed_request.get() is not None and found is not None
            and found.status == approval_rules.TaskStatus.COMPLETED
            and found.decided_by == actor.username and found.decision == decision):
        # A request under an Idempotency-Key (or a form's token) run again after its API process died or it answered
        # a 5xx: when its first run's decision is the task's, the answer is the task as that decision left it, not a
        # refusal of the decision the request itself made.
        return found
    task = _open(found, task_id)
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


# --- OA actions (issue 19): send back, resubmit, add approver, copy to, urge ---------------------------------

async def send_back(platform: Platform, actor: Actor, task_id: str, comment: str) -> Task:
    """退回: the current approver sends the request back to its requester (comment required)."""
    task = await _open_task(platform, task_id)
    await platform.update(platform.handle(task.workflow_id), Approval.send_back,
                          approval_rules.SendBackCommand(task_id=task_id, actor=actor, comment=comment),
                          recheck=lambda: _open_task(platform, task_id))
    return await platform.read(lambda s, tid: s.get(Task, tid), task_id)


async def add_approver(platform: Platform, actor: Actor, task_id: str, username: str, position: str,
                       comment: str) -> Task:
    """加签: `username` decides before (the task comes back afterwards) or after the current approver."""
    task = await _open_task(platform, task_id)
    if position not in ("before", "after"):
        raise Invalid("position must be before or after")
    target = await platform.read(org.actor, username)
    await platform.update(platform.handle(task.workflow_id), Approval.add_approver,
                          approval_rules.AddApproverCommand(task_id=task_id, actor=actor, target=target,
                                                            position=position, comment=comment),
                          recheck=lambda: _open_task(platform, task_id))
    return await platform.read(lambda s, tid: s.get(Task, tid), task_id)


async def copy_to(platform: Platform, actor: Actor, task_id: str, usernames: list[str]) -> list[str]:
    """抄送 from a task of the approval: the people named may read the document; the names newly copied."""
    task: Task | None = await platform.read(lambda s, tid: s.get(Task, tid), task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.status != approval_rules.TaskStatus.OPEN:
        raise Conflict(f"this task is already {task.status}")
    usernames = list(dict.fromkeys(usernames))
    if not usernames:
        raise Invalid("name at least one user to copy to")
    if len(usernames) > MAX_COPY_TO:  # the page's field took hundreds of names: a mail each
        raise Invalid(f"copy to at most {MAX_COPY_TO} people at once, not {len(usernames)}")
    for u in usernames:
        await platform.read(org.actor, u)  # unknown or inactive: the 404 / 422 naming them
    added: list[str] = await platform.update(
        platform.handle(task.workflow_id), Approval.copy_to,
        approval_rules.CopyToCommand(actor=actor, usernames=usernames,
                                     task_id=task_id if task.kind == "approval" else None))
    return added


async def resubmit(platform: Platform, actor: Actor, task_id: str, comment: str) -> Task:
    """The requester's "resubmit" task: the request goes back on its route from the step that sent it back."""
    task: Task | None = await platform.read(lambda s, tid: s.get(Task, tid), task_id)
    if task is None or task.kind != "resubmit":
        raise NotFound(f"no resubmit task {task_id}")
    if task.status != approval_rules.TaskStatus.OPEN:
        raise Conflict(f"this request was already {task.status}: there is nothing to resubmit")
    await platform.update(platform.handle(task.workflow_id), Approval.resubmit,
                          approval_rules.ResubmitCommand(actor=actor, comment=comment))
    return task


def _open_approval_tasks(s: Session, process_id: str) -> list[Task]:
    return list(s.execute(select(Task).where(Task.process_id == process_id,
                                             Task.status == approval_rules.TaskStatus.OPEN,
                                             Task.kind.in_(("approval", "resubmit")))
                          .order_by(Task.created_at)).scalars())


async def urge(platform: Platform, actor: Actor, process_id: str) -> list[str]:
    """催办: the requester reminds the approver(s) of the open approval of `process_id` (once an hour)."""
    tasks = await platform.read(_open_approval_tasks, process_id)
    if not tasks:
        raise Conflict(f"{process_id} has no approval task open to urge")
    ids: list[str] = await platform.update(platform.handle(tasks[0].workflow_id), Approval.urge,
                                           approval_rules.UrgeCommand(actor=actor))
    return ids


async def state(platform: Platform, workflow_id: str) -> dict[str, object]:
    """The approval's own state (its open tasks, "sent_back"), asked of the running process."""
    answer: dict[str, object] = await platform.handle(workflow_id).query(Approval.state)
    return answer
