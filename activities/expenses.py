"""Activities of the expense claim process."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.core.db import Database
from domain.expenses import services as expenses
from domain.expenses.rules import ClaimDraft, ClaimStatus
from domain.processes import services as processes


class ExpenseActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def record_claim(self, draft: ClaimDraft, process_id: str) -> list[approval_rules.ChainStep]:
        """The claim document and its process row, in one transaction; answers the approval chain resolved at
        submission (api/starters/expense_claim.py), which the draft carries."""
        with self.db.write() as s:
            expenses.record(s, draft, process_id)
            processes.start(s, process_id, "expense_claim", draft.number, title=f"Expense claim {draft.number}",
                            owner=draft.requester, amount=draft.total)
            # A draft recorded before chains travelled with every draft (an activity retrying across the deploy) has none.
            return draft.steps or approvals.chain_for(s, "expense_claim", draft.total, draft.requester)

    @activity.defn
    @business_errors
    def set_claim_status(self, number: str, process_id: str, status: ClaimStatus, stage: str, post_key: str | None,
                         close: bool) -> None:
        with self.db.write() as s:
            expenses.set_status(s, number, status, post_key=post_key)
            processes.advance(s, process_id, stage, status=processes.closing_status(status) if close else None,
                              close=close)
