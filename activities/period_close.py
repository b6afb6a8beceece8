"""Activities of the month-end close: run its checks and record them on the period, close it once the cfo
approved (checking again), open it again when the cfo rejected."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.cash import close
from domain.cash.close_rules import CloseEnd, CloseReport, CloseRequest
from domain.core.db import Database
from domain.core.types import utcnow
from domain.sales import month_end


class CloseActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def begin_close(self, req: CloseRequest, process_id: str) -> CloseReport:
        """The checks, stored on the period with its status (closing when they pass, open when not) and the
        process row, in one transaction; Conflict when the period was closed meanwhile."""
        with self.db.write() as s:
            close.lock_row(s, req.period)  # a posting that checks the period's status waits for this close
            report = month_end.checks(s, req.period)
            return close.begin(s, req.period, process_id, req.requested_by, report, utcnow().date())

    @activity.defn
    @business_errors
    def finish_close(self, period: str, process_id: str, by: str) -> CloseEnd:
        """The cfo approved: the checks again under the period's lock, then closed (or open, they failed now)."""
        with self.db.write() as s:
            close.lock_row(s, period)
            report = month_end.checks(s, period)
            return close.finish(s, period, process_id, by, report)

    @activity.defn
    @business_errors
    def close_rejected(self, period: str, process_id: str, by: str, comment: str) -> None:
        with self.db.write() as s:
            close.rejected(s, period, process_id, by, comment)
