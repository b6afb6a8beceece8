"""Activities of the supplier invoice process (workflows/supplier_invoice.py): each one transaction."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.cash import bills
from domain.cash import services as cash
from domain.cash.rules import InvoiceStatus
from domain.core.db import Database
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus


class BillActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def record_bill(self, draft: bills.BillDraft, process_id: str) -> bills.BillState:
        """The bill (checked again under its order's lock; matched → posted) and its process row, together."""
        with self.db.write() as s:
            inv = bills.record(s, draft, process_id)
            processes.start(s, process_id, bills.PROCESS_TYPE, inv.number,
                            title=f"Supplier bill {inv.number} ({inv.party_name} {inv.supplier_ref}) on "
                                  f"{inv.purchase_order_number}",
                            owner=draft.owner, amount=inv.total)
            if inv.status != InvoiceStatus.PENDING_APPROVAL:
                processes.advance(s, process_id, "awaiting payment", detail="matched: posted")
                return bills.state(inv, bills.touched_by_posting(s, inv))
            # its approval steps are recorded by the approval itself ("approval: buyer", …)
            processes.note(s, process_id, "submitted", "does not match: " + "; ".join(draft.match.reasons))
            return bills.state(inv)

    @activity.defn
    @business_errors
    def approve_bill(self, number: str, process_id: str) -> bills.BillState:
        """A mismatched bill approved by the buyer and finance: posted, open for payment."""
        with self.db.write() as s:
            inv = bills.approve(s, number)
            processes.advance(s, process_id, "awaiting payment", detail="approved: posted")
            return bills.state(inv, bills.touched_by_posting(s, inv))

    @activity.defn
    @business_errors
    def reject_bill(self, number: str, process_id: str, reason: str) -> bills.BillState:
        with self.db.write() as s:
            inv = bills.reject(s, number, reason)
            processes.advance(s, process_id, InvoiceStatus.REJECTED, detail=reason[:300],
                              status=ProcessStatus.COMPLETED, close=True)
            return bills.state(inv)

    @activity.defn
    @business_errors
    def read_bill(self, number: str, process_id: str) -> bills.BillState:
        """The bill as it is now; once nothing is outstanding its process row closes too."""
        with self.db.write() as s:
            inv = cash.by_number(s, number)
            if inv.status in (InvoiceStatus.PAID, InvoiceStatus.WRITTEN_OFF):
                processes.advance(s, process_id, inv.status, status=ProcessStatus.COMPLETED, close=True,
                                  detail=f"closed on {inv.closed_on}" if inv.closed_on else "")
            return bills.state(inv)
