"""The quotation process (workflows/quotation.py): numbered here, started by its opportunity's process (a child
of it, through LeadToOrder.quote) and recorded by itself; then the customer's answer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from api.platform import Platform
from domain.core import records as common
from domain.core.errors import Conflict
from domain.core.limits import check_plan_date
from domain.crm import rules as crm
from domain.inventory import stock as stock_svc
from domain.inventory import uoms as uoms_svc
from domain.org import services as org
from domain.org.people import Actor
from domain.parties.tables import Customer
from domain.planning import promising
from domain.sales import pricing_policies as pricing_svc
from domain.sales import promises
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from workflows.lead_to_order import LeadToOrder
from workflows.quotation import Quotation


async def create(platform: Platform, creator: str, opportunity: str, lines: list[sales.QuotationLineIn],
                 valid_days: int, tax_rate: Decimal, requested_date: date | None = None) -> dict[str, Any]:
    priced = sales.price(lines, tax_rate)  # refuse bad lines before anything is numbered
    today = datetime.now(UTC).date()
    if requested_date is not None:
        check_plan_date(requested_date, today, "the requested date")
    promised: list[promises.LinePromise] = []

    def allocate(s: Any) -> tuple[str, str, Actor]:
        opp = sales_svc.opportunity(s, opportunity)
        if opp.stage in crm.CLOSED_STAGES:
            raise Conflict(f"opportunity {opp.number} is {opp.stage}; no more quotations on it")
        customer = s.get(Customer, opp.customer_id)
        if customer is not None and not customer.active:
            raise Conflict(f"customer {customer.name} is inactive; reactivate it before quoting")
        stock_svc.active_items(s, [ln.sku for ln in lines])
        uoms_svc.check_lines(s, [(ln.sku, ln.qty) for ln in lines])
        # When each line could ship, computed again here whatever the form showed: the quotation keeps it.
        promised[:] = [promises.LinePromise(sku=p.sku, promise_date=p.promise_date, basis=p.basis,
                                            constrained_by=p.constrained_by, constraint=p.constraint.as_dict())
                       for p in promising.promise(s, [(ln.sku, ln.qty) for ln in lines], as_of=today)]
        # Refuse now a price nobody could approve (a discount, a line under cost, a margin under the policy, a
        # promise after the requested date).
        pricing_svc.chain(s, promises.with_lateness(pricing_svc.review(s, lines), requested_date, promised),
                          priced.total, creator)
        return common.next_number(s, "QT"), opp.process_id, org.actor(s, creator)

    number, process_id, actor = await platform.write(allocate)
    # The opportunity's process starts the quotation under ids.quotation(number, id_prefix) and answers that id.
    draft = sales.QuotationDraft(number=number, opportunity=opportunity, created_by=creator,
                                 issued_on=today, valid_days=valid_days, tax_rate=tax_rate,
                                 lines=lines, id_prefix=platform.id_prefix, requested_date=requested_date,
                                 promises=promised)
    child_id = await platform.update(platform.handle(process_id), LeadToOrder.quote,
                                     sales.QuoteCommand(actor=actor, draft=draft))
    status = await platform.update(platform.handle(child_id), Quotation.recorded_state)
    return {"quotation_id": number, "process_id": child_id, "status": status, "total": priced.total,
            "requested_date": requested_date,
            "late": bool(promises.late_lines(requested_date, promised)),
            "lines": [{"sku": p.sku, "promise_date": p.promise_date, "promise_basis": p.basis,
                       "constrained_by": p.constrained_by,
                       "late": promises.is_late(requested_date, p.promise_date)} for p in promised]}


async def answer(platform: Platform, actor: Actor, number: str, accept: bool, reason: str = "") -> sales.Accepted:
    q = await platform.read(sales_svc.quotation, number)
    if q.status in (sales.QuotationStatus.ACCEPTED, sales.QuotationStatus.REJECTED, sales.QuotationStatus.EXPIRED):
        # its process has ended: say why, not just "ended"
        if q.status == sales.QuotationStatus.REJECTED and q.reason:
            raise Conflict(f"quotation {number} is rejected ({q.reason})")
        sales.check_acceptable(number, q.status, q.valid_until, datetime.now(UTC).date())
    update = Quotation.accept if accept else Quotation.reject
    return await platform.update(platform.handle(q.process_id), update,
                                 sales.AcceptCommand(actor=actor, reason="" if accept else reason))
