"""The price review of a quotation (domain/sales/pricing.py): approval follows what the company gives away, not
only the discount field; and the pricing policies in SQL with the chain they call for
(domain/sales/pricing_policies.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.core.db import Database
from domain.core.errors import Invalid
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.sales import pricing_policies as svc
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from domain.sales.pricing import PricingPolicy, Review, check_policies, quotation_review
from domain.sales.rules import QuotationLineIn

D = Decimal
COSTS = {"FAN-200": D("320.00"), "BOLT-M8": D("0.15"), "MOTOR-200W": D("200.00")}
LISTED: dict[str, Decimal | None] = {"FAN-200": D("500.00"), "BOLT-M8": D("0.50"), "MOTOR-200W": D("260.00")}
GROUPS = {"FAN-200": "fans", "BOLT-M8": "spares", "MOTOR-200W": "spares"}
COMPANY = PricingPolicy(max_below_list_pct=D(15), min_margin_pct=D(15), cfo_margin_pct=D(0))


def line(sku: str = "FAN-200", qty: str = "10", unit_price: str = "500", discount: str = "0") -> QuotationLineIn:
    return QuotationLineIn(sku=sku, qty=D(qty), unit_price=D(unit_price), discount_pct=D(discount))


def review(*lines: QuotationLineIn, policies: list[PricingPolicy] | None = None,
           listed: dict[str, Decimal | None] | None = None) -> Review:
    return quotation_review(list(lines), COSTS, LISTED if listed is None else listed, GROUPS,
                            [COMPANY] if policies is None else policies)


def test_a_healthy_quotation_needs_nobody():
    r = review(line(discount="5"), line("BOLT-M8", "1000", "0.50"))
    assert not r.needs_approval and not r.needs_cfo and r.reasons == []
    assert r.margin == D("1900.00") and r.margin_pct == D("36.2")  # 5250 net, 3350 at standard


def test_below_cost_at_no_discount_goes_to_the_sales_manager_and_the_cfo():
    r = review(line(unit_price="100"))  # 100 a fan that costs 320: the defect of issue 15
    assert r.needs_approval and r.needs_cfo
    assert r.margin == D("-2200.00") and r.margin_pct == D("-220.0")
    assert "line FAN-200 priced under its standard cost (100.00 a unit, cost 320.00)" in r.reasons
    assert "line FAN-200 80% under list price (at most 15%)" in r.reasons
    assert "margin -220% under the 15% minimum" in r.reasons
    assert "margin -220% under the cfo's 0% threshold" in r.reasons


def test_without_any_policy_a_line_under_cost_still_goes_to_the_sales_manager():
    r = review(line(unit_price="300"), policies=[])
    assert r.needs_approval and not r.needs_cfo
    assert r.reasons == ["line FAN-200 priced under its standard cost (300.00 a unit, cost 320.00)"]
    # ... and nothing else is checked without a policy: far under list, a thin margin, no reason.
    assert not review(line(unit_price="330"), policies=[]).needs_approval


def test_a_line_further_under_list_than_the_policy_allows():
    r = review(line(unit_price="400"))  # 20 % under list at no discount; margin 20 % is fine
    assert r.needs_approval and not r.needs_cfo
    assert r.reasons == ["line FAN-200 20% under list price (at most 15%)"]
    assert not review(line(unit_price="430")).needs_approval  # 14 %: within the policy
    assert not review(line(unit_price="400"), listed={}).needs_approval  # no list price: nothing to measure


def test_under_list_counts_the_discount_too():
    r = review(line(unit_price="450", discount="8"))  # 414 net: 17.2 % under list, discount within 10 %
    assert r.reasons == ["line FAN-200 17.2% under list price (at most 15%)"]


def test_a_margin_under_the_minimum_goes_to_the_sales_manager_only():
    policy = PricingPolicy(min_margin_pct=D(40), cfo_margin_pct=D(0))
    r = review(line(unit_price="500"), policies=[policy])  # 36 % margin
    assert r.needs_approval and not r.needs_cfo
    assert r.reasons == ["margin 36% under the 40% minimum"]


def test_a_margin_under_the_cfo_threshold_needs_two_steps():
    policy = PricingPolicy(min_margin_pct=D(30), cfo_margin_pct=D(10))
    r = review(line(unit_price="340"), policies=[policy])  # above cost, margin 5.9 %
    assert r.needs_approval and r.needs_cfo
    assert r.reasons == ["margin 5.9% under the 30% minimum", "margin 5.9% under the cfo's 10% threshold"]


def test_a_group_policy_overrides_the_companys_for_its_lines():
    fans = PricingPolicy(item_group="fans", max_below_list_pct=D(30), min_margin_pct=D(5))
    # 400 a fan: 20 % under list and 20 % margin break the company's 15 %s, not the fans' own policy.
    assert not review(line(unit_price="400"), policies=[COMPANY, fans]).needs_approval
    # The spares still answer to the company: a motor at 210 is 19 % under list and a 4.8 % margin.
    r = review(line(unit_price="400"), line("MOTOR-200W", "1", "210"), policies=[COMPANY, fans])
    assert r.reasons == ["line MOTOR-200W 19.2% under list price (at most 15%)", "margin 4.8% under the 15% minimum"]
    # A stricter group policy counts too, with the group named.
    strict = PricingPolicy(item_group="fans", min_margin_pct=D(50), cfo_margin_pct=D(40))
    r = review(line(unit_price="500"), policies=[COMPANY, strict])
    assert r.needs_cfo and r.reasons == ["margin on item group fans 36% under the 50% minimum",
                                         "margin on item group fans 36% under the cfo's 40% threshold"]


def test_a_group_policy_without_a_list_limit_keeps_the_companys():
    fans = PricingPolicy(item_group="fans", min_margin_pct=D(5))
    assert review(line(unit_price="400"), policies=[COMPANY, fans]).reasons == [
        "line FAN-200 20% under list price (at most 15%)"]


def test_the_discount_rule_stays():
    r = review(line(discount="25"))  # 375 net: 25 % under list, margin 14.7 %
    assert r.needs_approval and not r.needs_cfo
    assert r.reasons[0] == "line FAN-200 discounted 25%, over the 10% limit"
    assert not review(line(discount="10")).needs_approval


def test_a_free_line_is_under_cost_with_no_revenue():
    r = review(line(discount="100"))
    assert r.needs_approval and r.needs_cfo and r.margin == D("-3200.00") and r.margin_pct is None
    assert "margin -3200.00 on no revenue under the 15% minimum" in r.reasons


@pytest.mark.parametrize("data", [
    {"max_below_list_pct": "101"}, {"max_below_list_pct": "-1"}, {"min_margin_pct": "-101"},
    {"min_margin_pct": "100.5"}, {"min_margin_pct": "10", "cfo_margin_pct": "20"}, {"cfo_margin_pct": "0"},
    {"item_group": ""}, {"item_group": "x" * 61}, {"min_margin_pct": "abc"}, {"surprise": 1},
])
def test_bad_policies_are_refused(data):
    with pytest.raises(ValidationError):
        PricingPolicy.model_validate(data)


def test_negative_margins_down_to_minus_100_are_a_policy():
    p = PricingPolicy.model_validate({"min_margin_pct": "-10", "cfo_margin_pct": "-100"})
    assert p.cfo_margin_pct == D(-100)


def test_one_policy_per_scope():
    with pytest.raises(Invalid, match="the company"):
        check_policies([COMPANY, PricingPolicy(min_margin_pct=D(1))])
    with pytest.raises(Invalid, match="fans"):
        check_policies([PricingPolicy(item_group="fans"), PricingPolicy(item_group="fans")])


# --- in SQL, on the demo company ----------------------------------------------------------------------------


def test_the_demo_policy_and_the_chain_it_calls_for(db: Database) -> None:
    with db.write() as s:
        assert svc.policies(s) == [COMPANY]
        loss = svc.review(s, [line(unit_price="100")])
        chain = svc.chain(s, loss, D("1000.00"), "alice")
        assert [st.candidate_role for st in chain] == ["sales_manager", "cfo"]
        thin = svc.review(s, [line(unit_price="350")])  # 8.6 %: under 15 %, not a loss
        assert [st.candidate_role for st in svc.chain(s, thin, D("3500.00"), "alice")] == ["sales_manager"]
        assert svc.chain(s, svc.review(s, [line()]), D("5000.00"), "alice") == []
        with pytest.raises(Invalid, match="nobody to approve"):  # bob cannot approve his own price
            svc.chain(s, thin, D("3500.00"), "bob")


def test_replacing_the_policies(db: Database) -> None:
    fans = PricingPolicy(item_group="fans", max_below_list_pct=D(30), min_margin_pct=D(5))
    with db.write() as s:
        svc.replace_policies(s, [fans, COMPANY])
    with db.read() as s:
        assert svc.policies(s) == [COMPANY, fans]
        assert not svc.review(s, [line(unit_price="400")]).needs_approval
    with db.write() as s, pytest.raises(Invalid):
        svc.replace_policies(s, [fans, fans])
    with db.write() as s:
        svc.replace_policies(s, [])
    with db.read() as s:
        assert svc.policies(s) == []
        assert svc.review(s, [line(unit_price="300")]).reasons == [
            "line FAN-200 priced under its standard cost (300.00 a unit, cost 320.00)"]


def test_a_quotation_under_cost_is_recorded_pending_approval_with_its_review(db: Database) -> None:
    lead = crm.LeadIn(company="Globex Corporation", contact="Hank", email="hank@globex.example", source="referral",
                      estimated_value=D("4000"))  # type: ignore[arg-type]
    with db.write() as s:
        crm_svc.record_lead(s, crm.LeadDraft(number="LD-00001", created_by="alice", lead=lead, owner="alice"), "lead-1")
        opp = crm_svc.qualify(s, "LD-00001", customer_id=None, actor="alice").number
        q = sales_svc.record_quotation(s, sales.QuotationDraft(
            number="QT-00001", opportunity=opp, created_by="alice", issued_on=date(2026, 11, 23), valid_days=14,
            lines=[line(unit_price="100")]), "quote-1")
        assert q.status == "pending_approval"
        kept = Review.model_validate(q.price_review)
        assert kept.needs_cfo and kept.margin == D("-2200.00") and kept.margin_pct == D("-220.0")
