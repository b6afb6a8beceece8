"""Activities of the purchase return process (workflows/purchase_return.py): a supplier's credit note against a
posted bill, with any goods sent back, in one transaction."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.cash import purchase_return_services
from domain.cash import purchase_returns as rules
from domain.core.db import Database


class PurchaseReturnActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def record_supplier_credit(self, draft: rules.CreditDraft, process_id: str) -> rules.CreditResult:
        """domain.cash.purchase_return_services.record with its process row, one transaction; a retry finds the
        first result. A refusal (more than the bill has left to credit, not enough on hand, a closed period)
        stores nothing."""
        with self.db.write() as s:
            return purchase_return_services.record(s, draft, process_id)
