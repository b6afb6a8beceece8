"""The payment process (workflows/payment.py): record a payment in or out, and preview its allocation.

A payment is checked and planned in a read first (an unknown party or invoice, a zero amount, a rate missing for
its currency and date, a closed period, an allocation above what an invoice owes or above the payment: refused
before any process starts, nothing stored); the same reference from the same party again answers the first
payment. Then its process records it (one transaction) and answers through the `recorded` Update."""

from __future__ import annotations

from typing import Any

from api.platform import Platform
from domain.cash import payments
from domain.cash import rules as cash_rules
from domain.cash import services as cash
from domain.processes import ids
from workflows.common import search_attributes
from workflows.payment import Payment


def _planned(s: Any, body: dict[str, Any]) -> tuple[cash_rules.PaymentIn | None, cash_rules.PaymentResult | None,
                                                    cash_rules.PaymentPlan | None, str]:
    """(the payment, the first payment of its reference if there is one, else its plan, the party's name)."""
    first = cash.find_payment(s, body["direction"], body["party_id"], body["reference"].strip()[:100])
    if first is not None:
        return None, cash.result_of(s, first, existing=True), None, first.party_name
    p = payments.payment_in(s, **body)
    plan = cash.plan_payment(s, p)
    return p, None, plan, cash.party(s, cash_rules.kind_of(p.direction), p.party_id).name


async def preview(platform: Platform, body: dict[str, Any]) -> cash_rules.PaymentPlan:
    """Where the payment would go, checked as recording checks it; stores nothing."""
    def plan(s: Any) -> cash_rules.PaymentPlan:
        return cash.plan_payment(s, payments.payment_in(s, **body))
    return await platform.read(plan)


async def record(platform: Platform, by: str, body: dict[str, Any]) -> cash_rules.PaymentResult:
    """`body`: direction, party_id, amount, currency, paid_on, reference, allocations ([(invoice, amount)] or
    None). Answers the recorded payment (`existing` when the reference was recorded before)."""
    p, first, _, party_name = await platform.read(_planned, body)
    if first is not None:
        return first
    assert p is not None
    handle = await platform.start(
        Payment.run, cash_rules.PaymentDraft(payment=p, by=by), workflow_type="Payment",
        id=ids.payment(p.direction, p.party_id, p.reference, platform.id_prefix),
        search_attributes=search_attributes("payment", p.reference, by, p.amount, stage="recording",
                                            customer=party_name if p.direction == cash_rules.Direction.IN else None))
    return await platform.recorded(handle, Payment.recorded, cash_rules.PaymentResult)

