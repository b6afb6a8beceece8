"""Activities of the lead-to-order process."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain import approvals as approval_rules
from domain import crm as rules
from domain.db import Database
from domain.services import approvals, crm, org, processes


class CrmActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def record_lead(self, draft: rules.LeadDraft, process_id: str) -> rules.LeadRecorded:
        """The scored lead, its owner (given or round robin over sales) and its process row, in one transaction."""
        with self.db.write() as s:
            crm.record_lead(s, draft, process_id)
            owner = crm.assign(s, draft.number, draft.owner)
            processes.start(s, process_id, "lead_to_order", draft.number, title=f"Lead {draft.number}: "
                            f"{draft.lead.company}", owner=owner, amount=draft.lead.estimated_value)
            processes.advance(s, process_id, "assigned", detail=f"assigned to {owner}")
            who = org.person(s, owner)
            return rules.LeadRecorded(owner=owner, owner_manager=who.manager if who else None)

    @activity.defn
    @business_errors
    def log_lead_activity(self, number: str, cmd: rules.ActivityCommand, key: str) -> int:
        with self.db.write() as s:
            return crm.add_activity(s, number, cmd.kind, cmd.note, cmd.actor.username, key).score

    @activity.defn
    @business_errors
    def open_follow_up(self, spec: approval_rules.TaskSpec) -> None:
        with self.db.write() as s:
            approvals.open_task(s, spec)
            processes.note(s, spec.process_id, "assigned", spec.title)

    @activity.defn
    @business_errors
    def settle_lead(self, number: str, process_id: str, cmd: rules.QualifyCommand) -> str | None:
        """Qualified (customer + opportunity) or disqualified; returns the opportunity number."""
        with self.db.write() as s:
            if cmd.decision == "disqualified":
                crm.disqualify(s, number, cmd.reason)
                processes.advance(s, process_id, "disqualified", detail=cmd.reason[:300], status="completed",
                                  close=True)
                return None
            opp = crm.qualify(s, number, customer_id=cmd.customer_id, actor=cmd.actor.username)
            processes.advance(s, process_id, "qualified", detail=f"opportunity {opp.number}", close=True,
                              status="completed")
            return opp.number
