"""Quotation on the time-skipping server: a price under cost or under list, or a margin under the pricing
policy, waits for the sales manager (and the cfo under the second threshold) whatever the discount field
says (issue 15). Demo policy: at most 15 % under list, margin 15 % or more, the cfo below 0 %."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from api.platform import Platform
from api.starters import approval, quotation
from domain.approvals.tables import Task
from domain.core.errors import Conflict
from domain.sales import pricing_policies as pricing
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from domain.sales.pricing import PricingPolicy
from tests.helpers import actor, approve_chain, eventually, open_task_for
from tests.workflows.test_quotation import opportunity


def fan(price: str, qty: str = "10", discount: str = "0") -> list[sales.QuotationLineIn]:
    return [sales.QuotationLineIn(sku="FAN-200", qty=Decimal(qty), unit_price=Decimal(price),
                                  discount_pct=Decimal(discount))]


async def test_a_price_under_cost_at_no_discount_waits_for_the_sales_manager_then_the_cfo(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    opp = await opportunity(p, db, "Globex Corporation")
    out = await quotation.create(p, "alice", opp, fan("100"), 14, Decimal(0))  # a fan costs 320
    number = out["quotation_id"]
    assert out["status"] == "pending_approval"
    with pytest.raises(Conflict, match="pending approval"):
        await quotation.answer(p, actor(db, "alice"), number, accept=True)
    task = await open_task_for(db, number)
    assert task.candidate_role == "sales_manager"
    assert "margin -2,200.00 (-220.0 %)" in task.title and "under its standard cost" in task.title
    await approve_chain(p, db, number, ["bob"])
    second = await eventually(db, lambda s: s.execute(select(Task).where(
        Task.business_key == number, Task.status == "open", Task.kind == "approval", Task.step == 2)
    ).scalar_one_or_none())
    assert second.candidate_role == "cfo"
    await approve_chain(p, db, number, ["heidi"])
    await eventually(db, lambda s: sales_svc.quotation(s, number).status == "sent")
    assert (await quotation.answer(p, actor(db, "alice"), number, accept=True)).status == "accepted"


async def test_a_thin_margin_needs_the_sales_manager_only_and_he_may_refuse(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    opp = await opportunity(p, db, "Globex Corporation")
    number = (await quotation.create(p, "alice", opp, fan("440", discount="5"), 14, Decimal(0)))["quotation_id"]
    task = await open_task_for(db, number)  # 418 net: 16.4 % under list, margin 23.4 %
    assert task.candidate_role == "sales_manager" and "16.4% under list price" in task.title
    await approval.decide(p, actor(db, "bob"), task.id, "reject", "too cheap")
    await eventually(db, lambda s: sales_svc.quotation(s, number).status == "rejected")
    with db.read() as s:
        assert sales_svc.quotation(s, number).reason == "the price was not approved"
        assert s.execute(select(Task).where(Task.business_key == number, Task.step == 2)).first() is None


async def test_a_healthy_price_is_sent_at_once(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    opp = await opportunity(p, db, "Globex Corporation")
    out = await quotation.create(p, "alice", opp, fan("480", discount="3"), 14, Decimal(0))
    assert out["status"] == "sent"


async def test_a_group_policy_lets_its_items_go_further(worker, db, task_queue):
    with db.write() as s:
        pricing.replace_policies(s, [*pricing.policies(s), PricingPolicy(
            item_group="fans", max_below_list_pct=Decimal(40), min_margin_pct=Decimal(10))])
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    opp = await opportunity(p, db, "Globex Corporation")
    out = await quotation.create(p, "alice", opp, fan("380"), 14, Decimal(0))  # 24 % under list, 15.8 % margin
    assert out["status"] == "sent"
