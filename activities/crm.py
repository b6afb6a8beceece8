"""Activities of the lead-to-order process."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.core.db import Database
from domain.crm import rules
from domain.crm import services as crm
from domain.org import services as org
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus
from domain.sales import services as sales


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
                            f"{draft.lead.company}", owner=owner, amount=draft.lead.estimated_value,
                            customer=draft.lead.company)
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
    def settle_lead(self, number: str, process_id: str, cmd: rules.QualifyCommand) -> rules.OpportunityRef | None:
        """Qualified (customer + opportunity: the process carries on with it) or disqualified (it ends)."""
        with self.db.write() as s:
            if cmd.decision == "disqualified":
                crm.disqualify(s, number, cmd.reason)
                processes.advance(s, process_id, "disqualified", detail=cmd.reason[:300],
                                  status=ProcessStatus.COMPLETED, close=True)
                return None
            opp = crm.qualify(s, number, customer_id=cmd.customer_id, actor=cmd.actor.username)
            processes.advance(s, process_id, "qualification", detail=f"qualified: opportunity {opp.number}")
            return crm.opportunity_ref(s, opp)

    @activity.defn
    @business_errors
    def move_opportunity(self, number: str, process_id: str, stage: str, actor: str) -> None:
        with self.db.write() as s:
            sales.move_opportunity(s, number, stage)  # crm's move, refused back to qualification with a quotation out
            processes.advance(s, process_id, stage, detail=f"moved by {actor}")

    @activity.defn
    @business_errors
    def lose_opportunity(self, number: str, process_id: str, reason: str) -> list[str]:
        """Lost with its reason; returns the quotations that were withdrawn with it."""
        with self.db.write() as s:
            withdrawn = sales.lose_opportunity(s, number, reason)
            processes.advance(s, process_id, "lost", detail=reason[:300], status=ProcessStatus.COMPLETED, close=True)
            return withdrawn

    @activity.defn
    @business_errors
    def opportunity_won(self, number: str, process_id: str, quotation: str) -> None:
        """The sales order recorded the win; the lead's process closes with it."""
        with self.db.write() as s:
            processes.advance(s, process_id, "won", detail=f"quotation {quotation} accepted ({number})",
                              status=ProcessStatus.COMPLETED, close=True)
