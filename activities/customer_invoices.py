"""Activities of the CustomerInvoice process: reading the invoice again, raising its reminders, the cfo's chain
for a write-off and the write-off itself, and the end of the collection."""

from __future__ import annotations

from datetime import date

from temporalio import activity

from activities import business_errors
from domain.approvals import rules as approval_rules
from domain.cash import collection, invoicing
from domain.cash import services as cash
from domain.core.db import Database


class CustomerInvoiceActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def collection_state(self, number: str, today: date) -> collection.CollectionState:
        with self.db.read() as s:
            return invoicing.collection_state(s, number, today)

    @activity.defn
    @business_errors
    def raise_reminder(self, number: str, process_id: str, level: int, today: date,
                       task_ids: list[str]) -> collection.CollectionState:
        with self.db.write() as s:
            return invoicing.raise_reminder(s, number, process_id, level, today, task_ids)

    @activity.defn
    @business_errors
    def write_off_steps(self, number: str, process_id: str, requester: str,
                        reason: str) -> list[approval_rules.ChainStep]:
        """The cfo's step; the monitor says a write-off was asked for."""
        with self.db.write() as s:
            steps = invoicing.write_off_steps(s, requester)
            invoicing.note_write_off(s, process_id, "write-off asked", f"by {requester}: {reason}")
            return steps

    @activity.defn
    @business_errors
    def write_off(self, number: str, process_id: str, by: str, reason: str, on: date) -> None:
        """The cfo approved: what the invoice still owes goes to bad debts (once)."""
        with self.db.write() as s:
            cash.write_off(s, number, by=by, reason=reason, on=on, key=f"{process_id}:write-off")

    @activity.defn
    @business_errors
    def write_off_rejected(self, process_id: str, detail: str) -> None:
        with self.db.write() as s:
            invoicing.note_write_off(s, process_id, "collecting", detail)

    @activity.defn
    @business_errors
    def end_collection(self, number: str, process_id: str, status: str) -> None:
        with self.db.write() as s:
            invoicing.end_collection(s, number, process_id, status)
