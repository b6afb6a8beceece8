"""Activities of the MrpRelease process: claim the planned orders, make each production order, make each
supplier's requisition, close. Each is one transaction and finds what it made when retried."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.core.db import Database
from domain.planning import release
from domain.planning.release_rules import ReleasePlan, ReleaseProgress, ReleaseRequest
from domain.production import rules as production_rules
from domain.purchasing import rules as purchasing_rules


class MrpReleaseActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def claim_planned_orders(self, req: ReleaseRequest, process_id: str) -> ReleasePlan:
        with self.db.write() as s:
            return release.claim(s, req, process_id)

    @activity.defn
    @business_errors
    def make_production_order(self, req: ReleaseRequest, n: int, process_id: str, prefix: str
                              ) -> production_rules.ProductionRef:
        with self.db.write() as s:
            return release.make_production(s, req, n, process_id, prefix)

    @activity.defn
    @business_errors
    def make_requisition(self, req: ReleaseRequest, ns: list[int], process_id: str, prefix: str, seq: int
                         ) -> purchasing_rules.RequisitionDraft:
        with self.db.write() as s:
            return release.make_requisition(s, req, ns, process_id, prefix, seq)

    @activity.defn
    @business_errors
    def finish_release(self, req: ReleaseRequest, process_id: str) -> ReleaseProgress:
        with self.db.write() as s:
            return release.finish(s, req, process_id)
