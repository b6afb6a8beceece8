"""Changes that wait for a second approval (workflows/change_approval.py): the proposal is checked and stored, then
its process starts; the caller answers 202 {change_id, process_id, status: "pending_approval"}."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from api.platform import Platform
from domain.audit import services as audit
from domain.changes import services as changes
from domain.parties.tables import Customer
from workflows.change_approval import ChangeApproval
from workflows.common import search_attributes


async def propose(platform: Platform, actor: str, kind: str, target: str, proposal: dict[str, Any]) -> dict[str, Any]:
    """Stores the change (refused at once, 422/404, when it could not be applied or nobody else could approve
    it) and starts its process. Nothing takes effect until a second admin or the cfo approves."""

    def prepare(s: Session) -> changes.ChangeStart:
        steps = changes.approver_steps(s, actor)  # before anything is stored: a change nobody may approve is refused
        view = changes.propose(s, kind, target, proposal, actor, platform.id_prefix)
        return changes.start_of(s, view.change_id, steps)

    start = await platform.write(prepare)
    pid = changes.process_id(start.change_id, platform.id_prefix)
    await platform.start(ChangeApproval.run, start, workflow_type="ChangeApproval", id=pid,
                         search_attributes=search_attributes(changes.PROCESS_TYPE, f"change-{start.change_id}", actor,
                                                             stage="awaiting approval"))
    return {"change_id": start.change_id, "process_id": pid, "status": changes.PENDING, "summary": start.summary}


async def set_credit_limit(platform: Platform, actor: str, customer_id: int, limit: Decimal) -> dict[str, Any]:
    """A customer's credit limit: at or under the threshold (or lowered) it is stored at once, with its audit line
    ({status: "applied"}); above it, a change waiting for a second approval ({status: "pending_approval", …})."""
    needs = await platform.read(lambda s: changes.needs_second_approval(s, customer_id, limit))
    if needs:
        return await propose(platform, actor, "credit_limit", str(customer_id), {"credit_limit": format(limit, "f")})

    def store(s: Session) -> dict[str, Any]:
        value = changes.credit_limit(limit)
        before = changes.current(s, "credit_limit", str(customer_id))
        row = s.get(Customer, customer_id)
        assert row is not None  # current() raised NotFound otherwise
        row.credit_limit = value
        s.flush()
        audit.record(s, actor, "customer", customer_id, before, changes.current(s, "credit_limit", str(customer_id)))
        return {"status": changes.APPLIED, "credit_limit": value}

    return await platform.write(store)
