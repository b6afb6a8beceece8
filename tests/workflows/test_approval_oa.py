"""The approval engine's OA side (issue 19), on the time-skipping server with the real activities: steps of several
parts (会签 all of, 或签 any of), 去重, send back and resubmit, add approver before and after, copy to, urge, and
segregation of duties across parts. Approvals are started directly (as a form request's child would be)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle

from api.platform import Platform
from api.starters import approval
from domain.approvals import access
from domain.approvals import rules as r
from domain.approvals import services as approvals
from domain.approvals.tables import ApprovalDecision, Task, TaskEvent
from domain.core.db import Database
from domain.core.errors import Conflict, Forbidden, Invalid
from tests.helpers import actor, eventually
from tests.workflows.test_out_of_office import replays
from workflows.approval import Approval


def user(u: str, index: int = 0) -> r.ChainStep:
    return r.ChainStep(index=index, label=u, candidate_user=u, eligible=[u])


def role(name: str, index: int = 0) -> r.ChainStep:
    return r.ChainStep(index=index, label=name, candidate_role=name)


def parts(index: int, mode: str, *ps: r.ChainStep, label: str = "step") -> r.ChainStep:
    return r.ChainStep(index=index, label=label, name=label, mode=mode, parts=list(ps))  # type: ignore[arg-type]


async def start(client: Client, tq: str, steps: list[r.ChainStep], *, dedupe: bool = False,
                requester: str = "erin") -> tuple[WorkflowHandle[Any, Any], str]:
    key = f"FR-{uuid.uuid4().hex[:8]}"
    req = r.ApprovalRequest(process_id=f"form-request-{key}", process_type="form_request", business_key=key,
                            title=f"request {key}", requester=requester, steps=steps, dedupe=dedupe)
    wid = f"{tq}/approval-{key}"
    return await client.start_workflow(Approval.run, req, id=wid, task_queue=tq), wid


async def tasks_open(db: Database, wid: str, n: int, kind: str = "approval") -> list[Task]:
    def check(s: Any) -> list[Task] | None:
        rows = list(s.execute(select(Task).where(Task.workflow_id == wid, Task.status == "open", Task.kind == kind)
                              .order_by(Task.step_label, Task.id)).scalars())
        return rows if len(rows) == n else None
    result: list[Task] = await eventually(db, check)
    return result


def events(db: Database, task_id: str) -> list[tuple[str, str]]:
    with db.read() as s:
        return [(e.event, e.detail) for e in s.execute(
            select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)).scalars()]


def task(db: Database, task_id: str) -> Task:
    with db.read() as s:
        t = s.get(Task, task_id)
        assert t is not None
        return t


@pytest.fixture
def p(worker: Client, db: Database, task_queue: str) -> Platform:
    return Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")


async def test_all_of_two_roles_needs_both_in_any_order(worker, db, task_queue, p):
    h, wid = await start(worker, task_queue, [parts(1, "all", role("it"), role("finance"), label="it and finance")])
    fin, it = await tasks_open(db, wid, 2)  # ordered by label: "finance (all of)", "it (all of)"
    assert (fin.step_label, it.step_label) == ("finance (all of)", "it (all of)") and fin.step == it.step == 1
    await approval.decide(p, actor(db, "grace"), fin.id, "approve", "budget ok")
    assert task(db, it.id).status == "open"  # one approval is not enough
    await approval.decide(p, actor(db, "tom"), it.id, "approve", "model ok")
    outcome = r.ApprovalOutcome.model_validate(await h.result())
    assert outcome.approved and {d.decided_by for d in outcome.decisions} == {"grace", "tom"}


async def test_all_of_one_rejection_ends_it_and_closes_the_other_part(worker, db, task_queue, p):
    h, wid = await start(worker, task_queue, [parts(1, "all", role("it"), role("finance")), user("heidi", 2)])
    fin, it = await tasks_open(db, wid, 2)
    with pytest.raises(Invalid):
        await approval.decide(p, actor(db, "tom"), it.id, "reject", "")
    await approval.decide(p, actor(db, "tom"), it.id, "reject", "wrong model")
    outcome = r.ApprovalOutcome.model_validate(await h.result())
    assert not outcome.approved and outcome.rejected_at_step == 1
    await eventually(db, lambda s: s.get(Task, fin.id).status == "cancelled")
    assert events(db, fin.id)[-1] == ("cancelled", "rejected by tom")


async def test_any_of_first_approval_wins_and_the_other_task_closes(worker, db, task_queue, p):
    h, wid = await start(worker, task_queue, [parts(1, "any", user("frank"), user("bob"), label="a manager")])
    bob, frank = await tasks_open(db, wid, 2)
    assert (bob.candidate_user, frank.candidate_user) == ("bob", "frank")
    await approval.decide(p, actor(db, "frank"), frank.id, "approve", "")
    with pytest.raises(Conflict):
        await approval.decide(p, actor(db, "bob"), bob.id, "approve", "")
    outcome = r.ApprovalOutcome.model_validate(await h.result())
    assert outcome.approved and [d.decided_by for d in outcome.decisions] == ["frank"]
    await eventually(db, lambda s: s.get(Task, bob.id).status == "cancelled")
    assert events(db, bob.id)[-1] == ("cancelled", "decided by frank")


async def test_all_of_a_role_expanded_to_its_holders(worker, db, task_queue, p):
    # mode "all" on role:manager, as the form types resolve it: one part per active holder, the requester aside
    h, wid = await start(worker, task_queue, [parts(1, "all", user("bob"), user("frank"), user("heidi"))])
    tasks = await tasks_open(db, wid, 3)
    for t in tasks:
        await approval.decide(p, actor(db, t.candidate_user or ""), t.id, "approve", "")
    outcome = r.ApprovalOutcome.model_validate(await h.result())
    assert outcome.approved and sorted(d.decided_by for d in outcome.decisions) == ["bob", "frank", "heidi"]
    await replays(worker, wid)


async def test_nobody_decides_two_parts(worker, db, task_queue, p):
    # heidi holds manager and cfo: she may take either part, not both
    h, wid = await start(worker, task_queue, [parts(1, "all", role("cfo"), role("manager"))])
    cfo, mgr = await tasks_open(db, wid, 2)
    await approval.decide(p, actor(db, "heidi"), mgr.id, "approve", "")
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "heidi"), cfo.id, "approve", "")
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "erin"), cfo.id, "approve", "")  # never the requester
    assert task(db, cfo.id).status == "open"
    await h.terminate("done")


async def test_dedupe_approves_once_for_one_person_met_twice(worker, db, task_queue, p):
    h, wid = await start(worker, task_queue, [user("frank", 1), user("frank", 2), user("heidi", 3)], dedupe=True)
    (t1,) = await tasks_open(db, wid, 1)
    await approval.decide(p, actor(db, "frank"), t1.id, "approve", "fine")
    (t3,) = await tasks_open(db, wid, 1)
    assert t3.candidate_user == "heidi" and t3.step == 3
    with db.read() as s:
        rows = list(s.execute(select(ApprovalDecision).where(ApprovalDecision.process_id == t1.process_id)
                              .order_by(ApprovalDecision.id)).scalars())
    assert [(x.step, x.decided_by, x.comment) for x in rows] == [
        (1, "frank", "fine"), (2, "frank", "approved once: frank approved step 1")]
    await approval.decide(p, actor(db, "heidi"), t3.id, "approve", "")
    assert r.ApprovalOutcome.model_validate(await h.result()).approved
    await replays(worker, wid)


async def test_send_back_then_resubmit_restarts_at_that_step(worker, db, task_queue, p):
    h, wid = await start(worker, task_queue, [user("frank", 1), parts(2, "all", role("it"), role("finance"))])
    (t1,) = await tasks_open(db, wid, 1)
    await approval.decide(p, actor(db, "frank"), t1.id, "approve", "")
    fin, it = await tasks_open(db, wid, 2)
    await approval.decide(p, actor(db, "tom"), it.id, "approve", "")
    with pytest.raises(Invalid):
        await approval.send_back(p, actor(db, "grace"), fin.id, " ")
    with pytest.raises(Forbidden):
        await approval.send_back(p, actor(db, "erin"), fin.id, "nope")
    await approval.send_back(p, actor(db, "grace"), fin.id, "attach the quote")
    (rs,) = await tasks_open(db, wid, 1, kind="resubmit")
    assert rs.candidate_user == "erin"
    assert events(db, fin.id)[-1] == ("sent back", "attach the quote")
    assert (await approval.state(p, wid))["sent_back"] is True
    with pytest.raises(Forbidden):
        await approval.resubmit(p, actor(db, "frank"), rs.id, "")
    with pytest.raises(Conflict):
        await approval.decide(p, actor(db, "grace"), fin.id, "approve", "")
    await approval.resubmit(p, actor(db, "erin"), rs.id, "quote attached")
    fin2, it2 = await tasks_open(db, wid, 2)  # step 2 again, both parts (tom approves again)
    assert {fin2.id, it2.id}.isdisjoint({fin.id, it.id}) and fin2.step == 2
    assert events(db, rs.id)[-1] == ("resubmitted", "quote attached")
    with db.read() as s:  # the pages offer tom his part again: his approval before the send back no longer counts
        assert approvals.earlier_deciders(s, [it2])[wid] == ["frank"]
    await approval.decide(p, actor(db, "tom"), it2.id, "approve", "")
    await approval.decide(p, actor(db, "grace"), fin2.id, "approve", "")
    outcome = r.ApprovalOutcome.model_validate(await h.result())
    assert outcome.approved and [d.decided_by for d in outcome.decisions] == ["frank", "tom", "grace"]
    await replays(worker, wid)


async def test_add_approver_before_then_the_task_comes_back(worker, db, task_queue, p):
    h, wid = await start(worker, task_queue, [user("frank", 1), user("heidi", 2)])
    (t1,) = await tasks_open(db, wid, 1)
    with pytest.raises(Forbidden):
        await approval.add_approver(p, actor(db, "frank"), t1.id, "erin", "before", "")  # the requester
    with pytest.raises(Forbidden):
        await approval.add_approver(p, actor(db, "bob"), t1.id, "tom", "before", "")  # not his task
    await approval.add_approver(p, actor(db, "frank"), t1.id, "tom", "before", "IT should check the model")
    (t2,) = await tasks_open(db, wid, 1)
    assert t2.candidate_user == "tom" and task(db, t1.id).status == "cancelled"
    await approval.decide(p, actor(db, "tom"), t2.id, "approve", "model ok")
    (t3,) = await tasks_open(db, wid, 1)
    assert t3.candidate_user == "frank" and t3.step == 1
    await approval.decide(p, actor(db, "frank"), t3.id, "approve", "")
    (t4,) = await tasks_open(db, wid, 1)
    await approval.decide(p, actor(db, "heidi"), t4.id, "approve", "")
    outcome = r.ApprovalOutcome.model_validate(await h.result())
    assert [d.decided_by for d in outcome.decisions] == ["tom", "frank", "heidi"]


async def test_add_approver_after_is_a_new_step(worker, db, task_queue, p):
    h, wid = await start(worker, task_queue, [user("frank", 1)])
    (t1,) = await tasks_open(db, wid, 1)
    await approval.add_approver(p, actor(db, "frank"), t1.id, "lena", "after", "legal should see it")
    assert events(db, t1.id)[-1] == ("approver added", "lena added after frank: legal should see it")
    with pytest.raises(Conflict):
        await approval.add_approver(p, actor(db, "frank"), t1.id, "frank", "after", "")
    await approval.decide(p, actor(db, "frank"), t1.id, "approve", "")
    (t2,) = await tasks_open(db, wid, 1)
    assert t2.candidate_user == "lena"
    await approval.decide(p, actor(db, "lena"), t2.id, "reject", "no contract")
    outcome = r.ApprovalOutcome.model_validate(await h.result())
    assert not outcome.approved and [d.decided_by for d in outcome.decisions] == ["frank", "lena"]


async def test_copy_to_lets_them_read_but_not_decide(worker, db, task_queue, p):
    h, wid = await start(worker, task_queue, [user("frank", 1)])
    (t1,) = await tasks_open(db, wid, 1)
    with db.read() as s:
        assert not access.may_see(s, "ivan", set(), "process", "erin", t1.process_id)
    with pytest.raises(Forbidden):
        await approval.copy_to(p, actor(db, "bob"), t1.id, ["ivan"])  # neither requester nor approver
    assert await approval.copy_to(p, actor(db, "frank"), t1.id, ["ivan", "carol"]) == ["ivan", "carol"]
    with pytest.raises(Conflict):
        await approval.copy_to(p, actor(db, "erin"), t1.id, ["ivan"])
    with db.read() as s:
        assert access.may_see(s, "ivan", set(), "process", "erin", t1.process_id)
    assert ("copied", "copied to ivan, carol") in events(db, t1.id)
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "ivan"), t1.id, "approve", "")
    await h.terminate("done")


async def test_urge_once_an_hour(worker, db, task_queue, p, time_env):
    h, wid = await start(worker, task_queue, [parts(1, "all", role("it"), role("finance"))])
    fin, it = await tasks_open(db, wid, 2)
    process_id = fin.process_id
    with pytest.raises(Forbidden):
        await approval.urge(p, actor(db, "frank"), process_id)
    assert sorted(await approval.urge(p, actor(db, "erin"), process_id)) == sorted([fin.id, it.id])
    with pytest.raises(Conflict, match="next urge is allowed from"):
        await approval.urge(p, actor(db, "erin"), process_id)
    assert events(db, it.id)[-1] == ("urged", "urged by erin")
    await time_env.sleep(timedelta(minutes=61))
    await approval.urge(p, actor(db, "erin"), process_id)
    await h.terminate("done")


async def test_each_part_is_reminded_and_escalated_and_routed_to_a_deputy(worker, db, task_queue, p, time_env):
    from tests.workflows.test_out_of_office import away

    away(db, "bob", "frank")  # bob's part opens for his deputy frank
    bob = user("bob").model_copy(update={"authority": ["manager", "sales_manager"]})  # as routes resolve it
    h, wid = await start(worker, task_queue, [parts(1, "all", bob, user("grace"))])
    a, b = await tasks_open(db, wid, 2)
    assert {a.candidate_user, b.candidate_user} == {"frank", "grace"}
    frank_part = a if a.candidate_user == "frank" else b
    grace_part = b if frank_part is a else a
    await eventually(db, lambda s: [e for e, _ in events(db, frank_part.id)] == ["created", "routed to deputy"])
    await approval.decide(p, actor(db, "frank"), frank_part.id, "approve", "for bob")
    await time_env.sleep(timedelta(hours=49))
    await eventually(db, lambda s: s.get(Task, grace_part.id).reminded_at is not None)
    await time_env.sleep(timedelta(hours=49))
    t = await eventually(db, lambda s: (x := s.get(Task, grace_part.id)).candidate_user == "heidi" and x)
    assert ("escalated", "overdue: escalated to heidi") in events(db, t.id)
    assert all(e != "reminded" for e, _ in events(db, frank_part.id))  # a decided part is not reminded
    await approval.decide(p, actor(db, "heidi"), t.id, "approve", "for grace")
    assert r.ApprovalOutcome.model_validate(await h.result()).approved
    await replays(worker, wid)


async def test_a_withdrawal_while_sent_back_closes_the_resubmit_task(worker, db, task_queue, p):
    h, wid = await start(worker, task_queue, [user("frank", 1)])
    (t1,) = await tasks_open(db, wid, 1)
    await approval.send_back(p, actor(db, "frank"), t1.id, "which project?")
    (rs,) = await tasks_open(db, wid, 1, kind="resubmit")
    await eventually(db, lambda s: events(db, rs.id)[-1] == ("sent back", "which project?"))
    await h.signal(Approval.withdraw, r.Withdrawal(by="erin", document="request X"))
    outcome = r.ApprovalOutcome.model_validate(await h.result())
    assert not outcome.approved and outcome.withdrawn is not None
    assert task(db, rs.id).status == "cancelled"


async def test_the_parents_resubmitted_signal_restarts_the_step(worker, db, task_queue, p):
    h, wid = await start(worker, task_queue, [user("frank", 1), user("heidi", 2)])
    (t1,) = await tasks_open(db, wid, 1)
    await approval.decide(p, actor(db, "frank"), t1.id, "approve", "")
    t2 = (await tasks_open(db, wid, 1))[0]
    t2 = t2 if t2.candidate_user == "heidi" else (await tasks_open(db, wid, 1))[0]
    with pytest.raises(Conflict):
        await p.update(h, Approval.resubmit, r.ResubmitCommand(actor=actor(db, "erin")))
    await approval.send_back(p, actor(db, "heidi"), t2.id, "the amount changed?")
    await tasks_open(db, wid, 1, kind="resubmit")
    await h.signal("resubmitted", "values changed: amount 900")
    (t3,) = await tasks_open(db, wid, 1)
    assert t3.candidate_user == "heidi" and t3.step == 2 and t3.id != t2.id
    await approval.decide(p, actor(db, "heidi"), t3.id, "approve", "")
    outcome = r.ApprovalOutcome.model_validate(await h.result())
    assert [d.decided_by for d in outcome.decisions] == ["frank", "heidi"]
