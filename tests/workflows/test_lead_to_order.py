"""LeadToOrder (lead stage) on the time-skipping server: assignment, follow-up clock, verdicts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from api.platform import Platform
from api.starters import lead_to_order
from domain.approvals.tables import Task
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.processes.tables import Process
from tests.helpers import actor

LEAD = crm.LeadIn(company="Wayne Enterprises", contact="Lucius Fox", email="lucius@wayne.example",
                  phone="+1 555 0100", source="referral", estimated_value=Decimal("60000"))


def qualify(db, who: str, decision: str = "qualified", reason: str = "") -> crm.QualifyCommand:
    return crm.QualifyCommand(actor=actor(db, who), decision=decision, reason=reason)  # type: ignore[arg-type]


async def follow_ups(db, number: str, status: str = "open", want: int = 1) -> list[Task]:
    for _ in range(200):
        with db.read() as s:
            rows = list(s.execute(select(Task).where(Task.business_key == number, Task.kind == "follow_up",
                                                     Task.status == status)).scalars())
        if len(rows) >= want:
            return rows
        await asyncio.sleep(0.05)
    return rows


async def test_qualified_by_its_owner_opens_an_opportunity(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    out = await lead_to_order.create(p, "alice", LEAD, None)
    number = out["lead_id"]
    with db.read() as s:
        view = crm_svc.lead_view(s, crm_svc.lead(s, number))
    assert view["owner"] == "alice" and view["status"] == "assigned" and view["score"] > 0
    assert next(r["rule"] for r in view["score_reasons"]) == "referral"
    with pytest.raises(Forbidden):
        await lead_to_order.qualify(p, qualify(db, "carol"), number)  # not hers
    with pytest.raises(Invalid):
        await lead_to_order.qualify(p, qualify(db, "alice", "disqualified"), number)  # a reason is required
    opportunity = await lead_to_order.qualify(p, qualify(db, "alice"), number)
    assert opportunity and opportunity.startswith("OP-")
    with pytest.raises(Conflict):
        await lead_to_order.qualify(p, qualify(db, "bob"), number)  # qualifying twice
    with db.read() as s:
        view = crm_svc.lead_view(s, crm_svc.lead(s, number))
        proc = s.get(Process, out["process_id"])
    assert view["status"] == "qualified" and view["opportunity_id"] == opportunity
    assert proc is not None and proc.stage == "qualification" and proc.status == "running"  # now the opportunity


async def test_quiet_leads_remind_the_owner_then_the_manager_and_activity_resets_the_clock(worker, db, task_queue,
                                                                                          time_env):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await lead_to_order.create(p, "bob", LEAD, "alice"))["lead_id"]
    await time_env.sleep(timedelta(days=3, hours=1))
    first = await follow_ups(db, number)
    assert [t.candidate_user for t in first] == ["alice"]
    score = await lead_to_order.log_activity(p, crm.ActivityCommand(actor=actor(db, "alice"), kind="call", note="intro"),
                                      number)
    assert score > 0
    assert [t.id for t in await follow_ups(db, number, "completed")] == [first[0].id]
    await time_env.sleep(timedelta(days=3, hours=1))
    await follow_ups(db, number, want=1)  # quiet again: alice is reminded again
    await time_env.sleep(timedelta(days=11))
    tasks = await follow_ups(db, number, want=2)
    assert sorted(t.candidate_user for t in tasks) == ["alice", "bob"]  # 14 quiet days: her manager too
    await lead_to_order.qualify(p, qualify(db, "bob", "disqualified", "no budget this year"), number)
    assert len(await follow_ups(db, number, "completed", want=3)) == 3
    with db.read() as s:
        assert crm_svc.lead(s, number).disqualify_reason == "no budget this year"
        assert not list(s.execute(select(Task).where(Task.business_key == number, Task.status == "open")).scalars())
