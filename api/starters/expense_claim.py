"""The expense claim process (workflows/expense_claim.py): submit, and the requester's cancel and finance's pay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.platform import Platform
from domain.accounting import ledger
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.core import records as common
from domain.core.errors import Conflict
from domain.expenses import advances
from domain.expenses import rules as expenses
from domain.expenses import services as expenses_svc
from domain.org.people import Actor
from domain.processes import ids
from workflows.common import search_attributes, this_generation
from workflows.expense_claim import ExpenseClaim


async def submit(platform: Platform, requester: str, lines: list[expenses.ExpenseLineIn],
                 trip: str | None = None) -> dict[str, Any]:
    total, currency = expenses.total_of(lines)
    expenses.check_dates(lines, datetime.now(UTC).date())

    def allocate(s: Any) -> tuple[str, list[approval_rules.ChainStep]]:
        # A claim in another currency posts at the claim date's rate: none entered → 422 naming it, before any
        # number is taken or process started. The chain's tiers are in the company currency, like the ledger.
        base_total, _ = ledger.in_base(s, total, currency, datetime.now(UTC).date())
        # Resolved here, once: a chain nobody could approve is refused now, and the claim's process takes this one.
        steps = approvals.chain_for(s, "expense_claim", base_total, requester)
        if trip:  # the business trip whose cash advance this claim settles when it is paid
            advances.check_trip(s, trip, requester)
        return common.next_number(s, "EC"), steps

    number, steps = await platform.write(allocate)
    draft = this_generation(expenses.ClaimDraft(number=number, requester=requester, currency=currency, total=total,
                                                lines=lines, steps=steps, trip=trip or None))
    process_id = ids.expense_claim(number, platform.id_prefix)
    status = await platform.start_and_update(ExpenseClaim.run, draft, ExpenseClaim.recorded_state,
                                             workflow_type="ExpenseClaim", id=process_id,
                                             search_attributes=search_attributes("expense_claim", number, requester,
                                                                                 total))
    return {"claim_id": number, "process_id": process_id, "status": status, "total": total}


async def cancel(platform: Platform, actor: Actor, number: str) -> str:
    async def pending() -> None:  # its process may have ended: say the state
        claim = await platform.read(expenses_svc.get, number)
        if claim.status not in (expenses.ClaimStatus.SUBMITTED, expenses.ClaimStatus.PENDING_APPROVAL):
            raise Conflict(f"claim {number} is {claim.status}; only a claim pending approval can be cancelled")

    await pending()
    handle = platform.handle(ids.expense_claim(number, platform.id_prefix))
    return await platform.update(handle, ExpenseClaim.cancel, actor, recheck=pending)


async def pay(platform: Platform, actor: Actor, number: str) -> str:
    async def payable() -> None:
        claim = await platform.read(expenses_svc.get, number)
        if claim.status == expenses.ClaimStatus.PAID:  # its process has ended: say when it was paid, not just "ended"
            on = f" on {claim.paid_at:%Y-%m-%d %H:%M} UTC" if claim.paid_at else ""
            raise Conflict(f"claim {number} is already paid{on}; nothing more to pay")
        if claim.status in (expenses.ClaimStatus.REJECTED, expenses.ClaimStatus.CANCELLED):
            raise Conflict(f"claim {number} is {claim.status}; only an approved claim can be paid")

    await payable()
    handle = platform.handle(ids.expense_claim(number, platform.id_prefix))
    return await platform.update(handle, ExpenseClaim.pay, actor, recheck=payable)
