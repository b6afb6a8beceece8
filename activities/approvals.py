"""Activities of the approval engine: the inbox projection and the approval trail."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.approvals import absence, rules
from domain.approvals import services as approvals
from domain.core.db import Database
from domain.org import services as org
from domain.processes import services as processes


class ApprovalActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def open_task(self, spec: rules.TaskSpec) -> None:
        """The inbox row, and the parent process's step moved to this approval, in one transaction."""
        with self.db.write() as s:
            approvals.open_task(s, spec)
            if spec.step is not None:
                who = spec.step.candidate_user or f"role {spec.step.candidate_role}"
                processes.advance(s, spec.process_id, f"approval: {spec.step.label}", detail=f"waiting for {who}")

    @activity.defn
    @business_errors
    def change_task(self, change: rules.TaskChange) -> None:
        with self.db.write() as s:
            approvals.apply_change(s, change)

    @activity.defn
    @business_errors
    def close_open_tasks(self, workflow_id: str, status: rules.TaskStatus, reason: str, actor: str = "system") -> int:
        with self.db.write() as s:
            return approvals.close_open_tasks(s, workflow_id, status, reason, actor)

    @activity.defn
    @business_errors
    def note_late_withdrawal(self, workflow_id: str, actor: str, detail: str, refused: bool) -> None:
        """On the trail of the approval `workflow_id`: a withdrawal came after its last decision."""
        with self.db.write() as s:
            approvals.note_late_withdrawal(s, workflow_id, actor, detail, refused)

    @activity.defn
    @business_errors
    def record_decision(self, workflow_id: str, process_id: str, business_key: str,
                        record: rules.DecisionRecord) -> None:
        """去重: a step approved at once (its approver approved the step before): the trail line, once."""
        with self.db.write() as s:
            approvals.record_decision(s, workflow_id, process_id, business_key, record)

    @activity.defn
    @business_errors
    def copy_to(self, process_id: str, usernames: list[str], by: str, key: str) -> list[str]:
        """抄送: the people who may now read the document (idempotent: a retry adds nobody twice)."""
        with self.db.write() as s:
            return approvals.add_copies(s, process_id, usernames, by)

    @activity.defn
    @business_errors
    def escalation_target(self, step: rules.ChainStep, excluded: list[str],
                          later: list[rules.ChainStep]) -> rules.ChainStep | None:
        with self.db.read() as s:
            return rules.escalation_target(step, org.people(s), org.role_escalation(s), set(excluded), later)

    @activity.defn
    @business_errors
    def route_to_deputy(self, step: rules.ChainStep, requester: str, prior_deciders: list[str],
                        later: list[rules.ChainStep]) -> rules.DeputyRoute | None:
        """The step for the deputy of its named approver if that person is out of office today (and the
        deputy may take it), else None. Reads only: the workflow records the routing on the task."""
        if not step.candidate_user:
            return None
        with self.db.read() as s:
            day = absence.today()
            away = absence.absences_on(s, day)
            if not away:
                return None
            return rules.route_to_deputy(step, day, away, org.people(s), requester, prior_deciders, later)
