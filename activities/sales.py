"""Activities of the quotation process."""

from __future__ import annotations

from temporalio import activity

from activities import business_errors
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.core.db import Database
from domain.parties.tables import Customer
from domain.processes import ids
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus
from domain.sales import pricing as pricing_rules
from domain.sales import pricing_policies as pricing
from domain.sales import rules
from domain.sales import services as sales


class SalesActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def record_quotation(self, draft: rules.QuotationDraft, process_id: str) -> rules.QuotationRecorded:
        with self.db.write() as s:
            stage = sales.opportunity(s, draft.opportunity).stage
            q = sales.record_quotation(s, draft, process_id)
            opp = sales.opportunity(s, draft.opportunity)
            if opp.stage != stage:  # its first quotation took the opportunity to proposal
                processes.advance(s, opp.process_id, opp.stage, detail=f"quotation {q.number}")
            customer = s.get(Customer, q.customer_id)
            processes.start(s, process_id, "quotation", draft.number, title=f"Quotation {draft.number}",
                            owner=opp.owner, amount=q.total, customer=customer.name if customer else None,
                            parent_id=opp.process_id)
            # The review it was recorded with decides (a retry gets the same chain); one recorded before
            # reviews existed had only the discount rule.
            review = pricing_rules.Review.model_validate(q.price_review) if q.price_review else None
            steps: list[approval_rules.ChainStep] = []
            if q.status == rules.QuotationStatus.PENDING_APPROVAL:
                steps = (pricing.chain(s, review, q.total, draft.created_by) if review is not None
                         else approvals.chain_for(s, "quotation_discount", q.total, draft.created_by))
            return rules.QuotationRecorded(status=q.status, total=q.total, customer_id=q.customer_id,
                                           owner=opp.owner, valid_until=q.valid_until, discount_steps=steps,
                                           customer=customer.name if customer else "", currency=q.currency,
                                           max_discount_pct=q.max_discount_pct,
                                           review_reasons=review.reasons if review else [],
                                           margin=review.margin if review else None,
                                           margin_pct=review.margin_pct if review else None,
                                           needs_cfo=bool(review and review.needs_cfo))

    @activity.defn
    @business_errors
    def set_quotation_status(self, number: str, process_id: str, status: rules.QuotationStatus, close: bool,
                             reason: str = "") -> None:
        with self.db.write() as s:
            sales.set_quotation_status(s, number, status, reason)
            processes.advance(s, process_id, status, detail=reason[:300], close=close,
                              status=ProcessStatus.COMPLETED if close else None)

    @activity.defn
    @business_errors
    def record_acceptance(self, number: str, process_id: str, requester: str) -> rules.CreditDecision:
        """The customer's yes, under the opportunity's lock; finance's chain when it takes them over credit or
        the customer is on credit hold."""
        with self.db.write() as s:
            decision = sales.record_acceptance(s, number, requester)
            processes.note(s, process_id, "sent", "the customer accepted" + (
                f"; {decision.reason}, finance decides" if decision.steps else ""))
            return decision

    @activity.defn
    @business_errors
    def create_sales_order(self, number: str, process_id: str, owner: str, id_prefix: str) -> rules.OrderRef:
        """The order, and its fulfilment process row (the process itself is started by the workflow)."""
        with self.db.write() as s:
            key = f"{process_id}:order"
            order = sales.create_order(s, number, owner=owner, process_id=key, key=key)
            order.process_id = ids.sales_order(order.number, id_prefix)
            processes.advance(s, process_id, "accepted", detail=f"sales order {order.number}", close=True,
                              status=ProcessStatus.COMPLETED)
            processes.start(s, order.process_id, "sales_order", order.number, title=f"Sales order {order.number}",
                            owner=owner, amount=order.total, parent_id=process_id)
            return rules.OrderRef(number=order.number, owner=owner)

    @activity.defn
    @business_errors
    def record_direct_order(self, ref: rules.OrderRef, process_id: str) -> rules.CreditDecision:
        """The order, its process row, and the finance chain when it takes the customer over credit or the
        customer is on credit hold."""
        with self.db.write() as s:
            order = sales.record_direct_order(s, ref, process_id)
            customer = s.get(Customer, order.customer_id)
            processes.start(s, process_id, "sales_order", ref.number, title=f"Sales order {ref.number}",
                            owner=ref.owner, amount=order.total, first_step="credit check",
                            customer=customer.name if customer else None)
            sales.lock_customer(s, order.customer_id)
            check = sales.credit_position(s, order.customer_id, order.total, excluding=order.number)
            return sales.credit_decision(s, check, order.total, ref.owner)

    @activity.defn
    @business_errors
    def reserve_sales_order(self, number: str, process_id: str, attempt: int = 0) -> dict[str, str]:
        """Reserve what stock allows (again after supply arrived: `attempt` 1, 2, …); says what is short."""
        with self.db.write() as s:
            key = f"{process_id}:reserve" + (f":{attempt}" if attempt else "")
            short = sales.reserve_order(s, number, key).short
            if attempt and short:
                return short  # still waiting: the monitor's step stays as it is
            stage = "waiting for supply" if short else "ready to deliver"
            detail = ", ".join(f"{sku} short {qty}" for sku, qty in short.items()) or "all lines reserved"
            processes.advance(s, process_id, stage, detail=detail)
            return short

    @activity.defn
    @business_errors
    def cancel_sales_order(self, number: str, process_id: str,
                           status: rules.SalesOrderStatus = rules.SalesOrderStatus.CANCELLED) -> None:
        """Cancelled by the salesperson, or rejected by finance: reservations go back, the process ends."""
        with self.db.write() as s:
            sales.release_order(s, number, status, f"{process_id}:cancel")
            processes.advance(s, process_id, status, close=True, status=processes.closing_status(status))
