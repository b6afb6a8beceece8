"""Activities of the inspection process (workflows/inspection.py): open a quarantine lot's inspection (its process
row and its task in the inbox), and record the result in one transaction (goods to stock or back to the supplier,
the nonconformance record, the task closed)."""

from __future__ import annotations

import hashlib
from datetime import date

from temporalio import activity

from activities import business_errors
from domain import permissions
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.core.db import Database
from domain.core.money import qty_str
from domain.inventory import quarantine
from domain.planning import services as planning
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus
from domain.quality import rules
from domain.quality import services as quality


def task_id(process_id: str) -> str:
    """The inspection task's id, the same on a retry; a process id with a test's prefix is longer than a task id
    may be (64), so it is hashed."""
    return "inspect-" + hashlib.sha256(process_id.encode()).hexdigest()[:40]


class QualityActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def open_inspection(self, lot_number: str, process_id: str, parent_id: str) -> rules.LotRef:
        """The lot's process row and its inspection task (candidates: the inspector duty's role), once."""
        with self.db.write() as s:
            lot = quarantine.lot(s, lot_number, lock=True)
            lot.process_id = process_id
            title = (f"Inspect {qty_str(lot.qty)} {lot.sku} received on {lot.source_document} (lot {lot.number})")
            processes.start(s, process_id, rules.PROCESS_TYPE, lot.number, title=title, owner=lot.received_by,
                            first_step="awaiting inspection", parent_id=parent_id or None)
            approvals.open_task(s, approval_rules.TaskSpec(
                task_id=task_id(process_id), workflow_id=process_id, process_id=process_id,
                process_type=rules.PROCESS_TYPE, kind="inspect", title=title, business_key=lot.number,
                candidate_role=permissions.duty_role(permissions.Duty.INSPECTOR), priority=60, due_hours=24))
            return quality.lot_ref(lot)

    @activity.defn
    @business_errors
    def record_inspection(self, lot_number: str, cmd: rules.InspectionCommand, process_id: str,
                          today: date) -> rules.InspectionOutcome:
        """domain.quality.services.record, its task closed and its process completed, one transaction; a retry
        answers the first result (nothing moves twice). A refusal stores nothing."""
        with self.db.write() as s:
            outcome = quality.record(s, lot_number, cmd, process_id, today)
            approvals.close_open_tasks(s, process_id, approval_rules.TaskStatus.COMPLETED,
                                       f"inspected by {cmd.actor.username}", actor=cmd.actor.username)
            detail = f"{qty_str(outcome.accepted_qty)} accepted, {qty_str(outcome.rejected_qty)} rejected"
            if outcome.ncr:
                detail += f" ({outcome.ncr})"
            processes.advance(s, process_id, "inspected", detail=detail, close=True, status=ProcessStatus.COMPLETED)
            waiting = planning.waiting_for(s, quarantine.lot(s, lot_number).sku) if outcome.accepted_qty > 0 else []
            return outcome.model_copy(update={"waiting": waiting})
