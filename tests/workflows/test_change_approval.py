"""ChangeApproval + Approval on the time-skipping server, activities real against the database: a change of a
role's actions, of an approval policy, of a credit limit above the threshold takes effect only once a second
approver (another admin, else the cfo) said yes; the proposer cannot approve it; a rejection changes nothing;
applying is idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from api.platform import Platform
from api.starters import approval, change_approval
from domain import permissions
from domain.approvals import services as approvals
from domain.audit import services as audit
from domain.changes import services as changes
from domain.core.errors import Forbidden, Invalid
from domain.org import grants
from domain.org import services as org
from domain.parties.tables import Customer
from domain.processes.tables import Process
from tests.helpers import actor, eventually, open_task_for


@pytest.fixture(autouse=True)
def _default_grants() -> Iterator[None]:
    yield
    permissions.use_grants({str(k): v for k, v in permissions.DEFAULT_GRANTS.items()}, 0)


async def test_a_role_change_waits_for_the_cfo_and_applies_once(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    started = await change_approval.propose(p, "admin", "role_grants", "buyer",
                                            {"actions": ["item.edit", "supplier.create", "supplier.read"]})
    assert started["status"] == "pending_approval"
    assert started["process_id"] == changes.process_id(started["change_id"], p.id_prefix)
    with db.read() as s:
        assert "purchase.see_all" in grants.role_actions(s, "buyer")  # nothing yet
    task = await open_task_for(db, f"change-{started['change_id']}")
    assert task.process_type == "change" and task.candidate_role == "cfo"  # no second admin: the cfo
    with pytest.raises(Forbidden):
        await approval.decide(p, actor(db, "admin"), task.id, "approve", "")  # nobody approves their own change
    await approval.decide(p, actor(db, "heidi"), task.id, "approve", "fine")
    assert await p.handle(started["process_id"]).result() == "applied"
    with db.read() as s:
        assert grants.role_actions(s, "buyer") == ["item.edit", "supplier.create", "supplier.read"]
        proc = s.get(Process, started["process_id"])
        assert proc is not None and (proc.status, proc.stage) == ("completed", "applied")
        [line] = audit.trail(s, "role", "buyer")
        assert line["actor"] == "admin"
    with db.write() as s:  # the activity again (a retry): nothing more
        changes.apply(s, started["change_id"], "heidi")
    with db.read() as s:
        assert len(audit.trail(s, "role", "buyer")) == 1


async def test_a_second_admin_approves_a_policy_change_and_a_rejection_changes_nothing(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    with db.write() as s:
        org.create_user(s, "adam", "a long secret 1", ["admin"], "Adam Second")
        before = approvals.tiers(s, "expense_claim")
    tiers = [{"above": "0", "steps": [{"kind": "manager"}]}]
    rejected = await change_approval.propose(p, "admin", "approval_policy", "expense_claim", {"tiers": tiers})
    task = await open_task_for(db, f"change-{rejected['change_id']}")
    assert task.candidate_role == "admin"
    await approval.decide(p, actor(db, "adam"), task.id, "reject", "not now")
    assert await p.handle(rejected["process_id"]).result() == "rejected"
    with db.read() as s:
        assert approvals.tiers(s, "expense_claim") == before
        assert changes.get(s, rejected["change_id"]).status == "rejected"
    applied = await change_approval.propose(p, "admin", "approval_policy", "expense_claim", {"tiers": tiers})
    task = await open_task_for(db, f"change-{applied['change_id']}")
    await approval.decide(p, actor(db, "adam"), task.id, "approve", "")
    assert await p.handle(applied["process_id"]).result() == "applied"
    with db.read() as s:
        assert len(approvals.tiers(s, "expense_claim")) == 1
        assert audit.trail(s, "approval_policy", "expense_claim")[0]["after"]["tiers"][0]["steps"][0]["kind"] == \
            "manager"


async def test_a_credit_limit_above_the_threshold_waits_one_under_it_does_not(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    with db.read() as s:
        cid = s.query(Customer).order_by(Customer.id).first().id  # type: ignore[union-attr]
    small = await change_approval.set_credit_limit(p, "grace", cid, Decimal("1234.50"))
    assert small["status"] == "applied"
    big = await change_approval.set_credit_limit(p, "grace", cid, changes.CREDIT_LIMIT_THRESHOLD + 1)
    assert big["status"] == "pending_approval"
    with db.read() as s:
        assert s.get(Customer, cid).credit_limit == Decimal("1234.50")  # type: ignore[union-attr]
    task = await open_task_for(db, f"change-{big['change_id']}")
    assert task.candidate_role == "admin"  # grace proposed it: an admin is the second approver
    await approval.decide(p, actor(db, "admin"), task.id, "approve", "")
    await eventually(db, lambda s: s.get(Customer, cid).credit_limit == changes.CREDIT_LIMIT_THRESHOLD + 1)


def test_a_change_nobody_else_may_approve_is_refused_before_it_starts(fresh_db):
    from domain import demo
    with fresh_db.write() as s:
        demo.first_admin(s, "a long secret 1")  # a new company: admin alone
    with fresh_db.read() as s, pytest.raises(Invalid, match="nobody but admin"):
        changes.approver_steps(s, "admin")


async def test_an_approved_change_the_rules_refuse_by_then_is_recorded_as_rejected(worker, db, task_queue):
    from domain.org.tables import Role

    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    with db.write() as s:
        grants.create_role(s, "temp", "", "admin")
    started = await change_approval.propose(p, "admin", "role_grants", "temp", {"actions": ["ledger.read"]})
    with db.write() as s:
        s.delete(s.get_one(Role, "temp"))  # gone meanwhile
    task = await open_task_for(db, f"change-{started['change_id']}")
    await approval.decide(p, actor(db, "heidi"), task.id, "approve", "")
    assert await p.handle(started["process_id"]).result() == "rejected"
    with db.read() as s:
        row = changes.get(s, started["change_id"])
        assert row.status == "rejected" and "could not be applied" in row.comment and "no role" in row.comment
