"""Activities of the purchase process."""

from __future__ import annotations

from datetime import date

from temporalio import activity

from activities import business_errors
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.core.db import Database
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus
from domain.purchasing import rules
from domain.purchasing import services as purchasing


class PurchaseActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def record_requisition(self, draft: rules.RequisitionDraft, process_id: str) -> list[approval_rules.ChainStep]:
        """The requisition and its process row, in one transaction; answers the approval chain resolved when it was
        made (api/starters/purchase.py, or planning.create_supply for MRP's), which the draft carries."""
        with self.db.write() as s:
            purchasing.record_requisition(s, draft, process_id)
            processes.start(s, process_id, "purchase", draft.number, title=f"Purchase requisition {draft.number}",
                            owner=draft.requester, amount=draft.total,
                            parent_id=draft.notify[0] if draft.sales_order and draft.notify else None)
            # A draft made before chains were resolved where drafts are made (MRP's requisitions before 2026-12, stored
            # in a supply batch under its idempotency key, or an activity still retrying across the deploy) has none.
            return draft.steps or approvals.chain_for(s, "purchase_requisition", draft.total, draft.requester)

    @activity.defn
    @business_errors
    def set_requisition_status(self, number: str, process_id: str, status: rules.RequisitionStatus, stage: str,
                               close: bool) -> None:
        with self.db.write() as s:
            purchasing.set_requisition_status(s, number, status)
            processes.advance(s, process_id, stage, status=processes.closing_status(status) if close else None,
                              close=close)

    @activity.defn
    @business_errors
    def create_purchase_order(self, requisition_number: str, process_id: str, buyer: str, today: date,
                              key: str) -> rules.OrderState:
        with self.db.write() as s:
            state = purchasing.create_order(s, requisition_number, buyer=buyer, today=today, key=key)
            processes.advance(s, process_id, "awaiting goods", detail=f"{state.number} sent to supplier")
            return state

    @activity.defn
    @business_errors
    def receive_goods(self, po_number: str, process_id: str, lines: list[rules.ReceiptLineIn], actor: str,
                      key: str) -> rules.OrderState:
        with self.db.write() as s:
            state = purchasing.receive(s, po_number, lines, actor=actor, key=key)
            done = state.fully_received
            received = sum(1 for ln in state.lines if ln.received_qty >= ln.qty)
            processes.advance(s, process_id, "received" if done else "awaiting goods",
                              detail=f"{received} of {len(state.lines)} lines received", close=done,
                              status=ProcessStatus.COMPLETED if done else None)
            return state

    @activity.defn
    @business_errors
    def open_alert(self, spec: approval_rules.TaskSpec) -> None:
        with self.db.write() as s:
            approvals.open_task(s, spec)
