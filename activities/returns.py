"""Activities of the sales return process: the return note, the goods back into stock and the credit notes, in
one transaction."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.core.db import Database
from domain.sales import return_services
from domain.sales import returns as rules


class ReturnActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def record_return(self, draft: rules.ReturnDraft, process_id: str) -> rules.ReturnResult:
        """domain.sales.return_services.record_return with its process row, one transaction; a retry finds the
        first result. A refusal (more than was delivered and not yet returned) stores nothing."""
        with self.db.write() as s:
            return return_services.record_return(s, draft, process_id)
