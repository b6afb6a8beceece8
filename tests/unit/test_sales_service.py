"""Quotations and sales orders in SQL (domain/sales/services.py), on the demo company."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.core.db import Database
from domain.core.errors import Conflict, NotFound
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.crm.tables import Opportunity
from domain.parties.tables import Customer
from domain.sales import rules as sales
from domain.sales import services as svc
from domain.sales.tables import Quotation, SalesOrder

D = Decimal


def opportunity(db: Database, company: str = "Globex Corporation") -> str:
    lead = crm.LeadIn(company=company, contact="Hank Scorpio", email="hank@globex.example", source="referral",
                      estimated_value=D("40000"))  # type: ignore[arg-type]
    with db.write() as s:
        crm_svc.record_lead(s, crm.LeadDraft(number="LD-00001", created_by="alice", lead=lead, owner="alice"), "lead-1")
        return crm_svc.qualify(s, "LD-00001", customer_id=None, actor="alice").number


def draft(opp: str, number: str = "QT-00001", discount: str = "5", qty: str = "10") -> sales.QuotationDraft:
    return sales.QuotationDraft(number=number, opportunity=opp, created_by="alice", issued_on=date(2026, 11, 23),
                                valid_days=14, lines=[sales.QuotationLineIn(sku="FAN-200", qty=D(qty),
                                                                            unit_price=D("500"),
                                                                            discount_pct=D(discount))])


def test_a_small_discount_is_sent_at_once_and_moves_the_opportunity_to_proposal(db: Database) -> None:
    opp = opportunity(db)
    with db.write() as s:
        q = svc.record_quotation(s, draft(opp), "quote-1")
        assert svc.record_quotation(s, draft(opp), "quote-1").id == q.id  # retried
        view = svc.quotation_view(s, q)
        o = svc.opportunity(s, opp)
        m = svc.margin(s, q)
    assert view["status"] == "sent" and view["total"] == D("4750.00") and view["valid_until"] == date(2026, 12, 7)
    assert o.stage == "proposal" and o.probability == 40
    assert (m.cost, m.margin) == (D("3200.00"), D("1550.00"))  # FAN-200 at standard 320


def test_a_big_discount_waits_for_approval(db: Database) -> None:
    opp = opportunity(db)
    with db.write() as s:
        assert svc.record_quotation(s, draft(opp, discount="25"), "quote-1").status == "pending_approval"


def test_quotations_on_a_closed_opportunity_or_unknown_skus_are_refused(db: Database) -> None:
    opp = opportunity(db)
    bad = draft(opp)
    bad.lines[0] = sales.QuotationLineIn(sku="NOPE", qty=D(1), unit_price=D(1))
    with db.write() as s:
        with pytest.raises(NotFound):
            svc.record_quotation(s, bad, "quote-x")
        s.execute(select(Opportunity).where(Opportunity.number == opp)).scalar_one().stage = "lost"
        with pytest.raises(Conflict, match="lost"):
            svc.record_quotation(s, draft(opp), "quote-1")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Quotation)).scalar_one() == 0


def test_credit_position_counts_open_orders(db: Database) -> None:
    opp = opportunity(db, company="Initech")  # demo customer with a 20,000 limit
    with db.write() as s:
        q = svc.record_quotation(s, draft(opp, qty="30"), "quote-1")  # 14,250
        customer = q.customer_id
        first = svc.credit_position(s, customer, q.total)
        assert not first.over_limit and first.available == D("20000")
        svc.create_order(s, q.number, owner="alice", process_id="quote-1", key="quote-1:order")
        second = svc.credit_position(s, customer, D("6000"))
        assert second.open_orders == D("14250.00") and second.over_limit
        with pytest.raises(NotFound):
            svc.credit_position(s, 999999, D(1))


def test_the_order_of_an_accepted_quotation_is_created_once_and_wins_the_opportunity(db: Database) -> None:
    opp = opportunity(db)
    with db.write() as s:
        q = svc.record_quotation(s, draft(opp), "quote-1")
        order = svc.create_order(s, q.number, owner="alice", process_id="quote-1", key="quote-1:order")
        assert svc.create_order(s, q.number, owner="alice", process_id="quote-1", key="quote-1:order").id == order.id
        assert order.number == "SO-00001" and order.total == D("4750.00")
        assert [(ln.sku, ln.qty, ln.unit_price, ln.net) for ln in order.lines] == [
            ("FAN-200", D("10.0000"), D("475.0000"), D("4750.00"))]
        assert svc.quotation(s, q.number).status == "accepted"
        assert svc.quotation_view(s, q)["sales_order_id"] == "SO-00001"
        o = svc.opportunity(s, opp)
        assert (o.stage, o.probability, o.expected_value) == ("won", 100, D("40000.00"))
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(SalesOrder)).scalar_one() == 1


def test_acceptance_is_one_per_opportunity_and_never_crosses_a_loss(db: Database) -> None:
    opp = opportunity(db, "Initech")  # credit limit 20,000
    with db.write() as s:
        small = svc.record_quotation(s, draft(opp, "QT-00001"), "q-1").number
        big = svc.record_quotation(s, draft(opp, "QT-00002", qty="50"), "q-2").number  # 23,750
        pending = svc.record_quotation(s, draft(opp, "QT-00003", discount="20"), "q-3").number
    with db.write() as s:
        steps = svc.record_acceptance(s, big, "alice").steps
        assert [st.candidate_role for st in steps] == ["finance"]
        assert svc.quotation(s, big).status == "pending_credit_approval"
        assert svc.record_acceptance(s, big, "alice").steps == steps  # a retried activity
    with db.write() as s, pytest.raises(Conflict, match=f"already accepted quotation {big}"):
        svc.record_acceptance(s, small, "alice")
    with db.write() as s, pytest.raises(Conflict, match="cannot be lost"):
        svc.lose_opportunity(s, opp, "too slow")
    with db.write() as s:
        svc.set_quotation_status(s, big, "rejected", "finance said no")
        assert svc.lose_opportunity(s, opp, "too slow") == [small, pending]
        assert svc.lose_opportunity(s, opp, "too slow") == [small, pending]  # retried
        assert svc.quotation(s, pending).reason == "opportunity lost: too slow"
    with db.write() as s, pytest.raises(Conflict, match="is lost"):
        svc.record_acceptance(s, small, "alice")


def test_stage_moves_keep_probability_and_expected_value(db: Database) -> None:
    opp = opportunity(db)
    with db.write() as s:
        crm_svc.move_opportunity(s, opp, "negotiation")
        crm_svc.move_opportunity(s, opp, "negotiation")  # a retry changes nothing
        o = svc.opportunity(s, opp)
        assert (o.stage, o.probability, o.expected_value) == ("negotiation", 70, D("28000.00"))
    with db.write() as s, pytest.raises(Conflict, match="back only one"):
        crm_svc.move_opportunity(s, opp, "qualification")


def test_the_customer_summary_has_contacts_orders_credit_and_booked_value(db: Database) -> None:
    opp = opportunity(db)
    with db.write() as s:
        q = svc.record_quotation(s, draft(opp), "quote-1")
        svc.create_order(s, q.number, owner="alice", process_id="quote-1", key="quote-1:order")
        customer = s.get(Customer, q.customer_id)
        summary = svc.customer_summary(s, customer)
    assert summary["contacts"] == [{"name": "Hank Scorpio", "email": "hank@globex.example", "phone": None}]
    assert [(o["sales_order_id"], o["total"]) for o in summary["orders"]] == [("SO-00001", D("4750.00"))]
    assert summary["lifetime_revenue"] == D("4750.00") and summary["lifetime_margin"] is None
    assert (summary["credit"]["credit_limit"], summary["credit"]["open_orders"]) == (D("50000.00"), D("4750.00"))
