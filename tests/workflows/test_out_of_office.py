"""Out of office in the approval engine, on the time-skipping server: a task named for someone away opens for
their deputy, an escalation to someone away goes on to their deputy, a role task is not re-routed, and the
histories these runs make replay (processes of this code's generation take the "out-of-office" patch without its
marker: tests/workflows/test_generations.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from api.platform import Platform
from api.starters import approval, expense_claim
from domain.approvals import absence
from domain.approvals.tables import Task, TaskEvent
from domain.core.errors import Forbidden
from tests.helpers import actor, claim_lines, open_task_for
from tests.workflows.test_replay import WORKFLOWS

TODAY = absence.today()


def away(db, user: str, deputy: str, days: int = 10) -> None:
    with db.write() as s:
        absence.create(s, user, frozenset(), deputy=deputy, starts_on=TODAY, ends_on=TODAY + timedelta(days=days))


def trail(db, task_id: str) -> list[tuple[str, str]]:
    with db.read() as s:
        return [(e.event, e.detail) for e in s.execute(
            select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)).scalars()]


async def until(db, task_id: str, check, tries: int = 200) -> Task:
    for _ in range(tries):
        with db.read() as s:
            t = s.get(Task, task_id)
        if check(t):
            return t
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {task_id} never got there: {trail(db, task_id)}")


async def replays(client, workflow_id: str) -> None:
    """The approval's history asked for the deputy (the out-of-office patch applies: with its marker in an approval
    of generation 0, started here directly, without in one a process started) and replays."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
                 if e.HasField("activity_task_scheduled_event_attributes")]
    assert "route_to_deputy" in scheduled, "the deputy was asked for (the out-of-office patch applies)"
    result = await Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter).replay_workflow(history)
    assert result.replay_failure is None


async def test_a_task_for_someone_away_opens_for_the_deputy_and_a_role_task_does_not_move(worker, db, task_queue):
    away(db, "frank", "bob")
    away(db, "grace", "heidi")  # grace's finance step is a role task: anyone in finance takes it
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("2500")))["claim_id"]
    task = await open_task_for(db, number)
    assert task.candidate_user == "bob"
    t = await until(db, task.id, lambda t: len(trail(db, t.id)) >= 2)
    assert trail(db, t.id) == [("created", task.title), (
        "routed to deputy", f"frank is out of office until {(TODAY + timedelta(days=10)).isoformat()}: "
                            "routed to deputy bob")]
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "frank"), task.id, "approve", "")
    await approval.decide(p, actor(db, "bob"), task.id, "approve", "for frank")

    await until(db, task.id, lambda t: t.status == "completed")
    second = None
    for _ in range(200):
        with db.read() as s:
            second = s.execute(select(Task).where(Task.business_key == number, Task.status == "open")).scalar_one_or_none()
        if second is not None:
            break
        await asyncio.sleep(0.05)
    assert second is not None and second.candidate_role == "finance" and second.candidate_user is None
    assert [e for e, _ in trail(db, second.id)] == ["created"]
    await approval.decide(p, actor(db, "grace"), second.id, "approve", "")
    await until(db, second.id, lambda t: t.status == "completed")
    await replays(worker, task.workflow_id)


async def test_an_escalation_to_someone_away_goes_on_to_their_deputy(worker, db, task_queue, time_env):
    away(db, "heidi", "bob")  # frank's manager is away; bob holds the manager role heidi approves with
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("500")))["claim_id"]
    task = await open_task_for(db, number)
    assert task.candidate_user == "frank"  # frank is at work
    await time_env.sleep(timedelta(hours=49))
    await until(db, task.id, lambda t: t.reminded_at is not None)
    await time_env.sleep(timedelta(hours=49))
    t = await until(db, task.id, lambda t: t.candidate_user == "bob")
    events = trail(db, t.id)
    assert ("escalated", "overdue: escalated to heidi") in events
    assert events[-1] == ("routed to deputy", f"heidi is out of office until {(TODAY + timedelta(days=10)).isoformat()}: "
                                              "routed to deputy bob")
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "heidi"), task.id, "approve", "")
    await approval.decide(p, actor(db, "bob"), task.id, "approve", "for heidi")
    await until(db, task.id, lambda t: t.status == "completed")
    await replays(worker, t.workflow_id)
