"""Activities of the payment process: the payment, its allocation and its posting, in one transaction."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.cash import rules
from domain.cash import services as cash
from domain.core.db import Database
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus


class PaymentActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def record_payment(self, p: rules.PaymentIn, by: str, process_id: str) -> rules.PaymentResult:
        """The payment and its allocation (domain.cash.services.record_payment) with its process row, one
        transaction; a retry, or the same reference again, finds the first payment. A refusal stores nothing."""
        with self.db.write() as s:
            result = cash.record_payment(s, p, by=by, process_id=process_id)
            if not result.existing:
                pay = cash.find_payment(s, p.direction, p.party_id, p.reference)
                assert pay is not None
                what = "Receipt" if p.direction == rules.Direction.IN else "Payment"
                processes.start(s, process_id, "payment", result.payment_id,
                                title=f"{what} {result.payment_id} ({p.reference[:60]}), {pay.party_name}",
                                owner=by, amount=p.amount, first_step="allocated",
                                customer=pay.party_name if p.direction == rules.Direction.IN else None)
                told = ", ".join(a.number for a in result.allocations[:10]) + (
                    f" and {len(result.allocations) - 10} more" if len(result.allocations) > 10 else "")
                detail = (f"allocated to {told}" if told else "nothing open to allocate to") + (
                    f"; {result.unallocated} {p.currency} kept as credit" if result.unallocated else "")
                processes.advance(s, process_id, "allocated", detail=detail, close=True,
                                  status=ProcessStatus.COMPLETED)
            return result
