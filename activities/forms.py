"""Activities of the form request process (workflows/form_request.py)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities import business_errors
from domain.core.db import Database
from domain.forms import request_rules, requests
from domain.forms.request_rules import RequestDraft, RequestStatus
from domain.processes import services as processes


class FormRequestActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def record_request(self, draft: RequestDraft, process_id: str) -> None:
        """The request and its process row, in one transaction."""
        with self.db.write() as s:
            requests.record(s, draft, process_id)
            processes.start(s, process_id, requests.KIND, draft.number, title=draft.title[:200],
                            owner=draft.requester, amount=request_rules.amount_of(draft.values))

    @activity.defn
    @business_errors
    def set_request_status(self, number: str, process_id: str, status: RequestStatus, close: bool) -> None:
        """The request's status, its effect when approved and the requester told of a decision, and its process's
        stage, in one transaction."""
        with self.db.write() as s:
            requests.set_status(s, number, status)
            processes.advance(s, process_id, str(status), status=processes.closing_status(status) if close else None,
                              close=close)

    @activity.defn
    @business_errors
    def store_request_values(self, number: str, values: dict[str, Any]) -> None:
        with self.db.write() as s:
            requests.store_values(s, number, values)
