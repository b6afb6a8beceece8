"""Activities of a change waiting for a second approval (workflows/change_approval.py): apply it once approved
(idempotent: an applied change is not applied twice), record its rejection."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.changes import services as changes
from domain.core.db import Database


class ChangeActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def apply_proposed_change(self, change_id: int, approved_by: str) -> str:
        with self.db.write() as s:
            return changes.apply(s, change_id, approved_by).status

    @activity.defn
    @business_errors
    def reject_proposed_change(self, change_id: int, rejected_by: str, comment: str) -> str:
        with self.db.write() as s:
            return changes.reject(s, change_id, rejected_by, comment).status
