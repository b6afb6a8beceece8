"""Review of the lead-to-order services: each test names the defect it showed (all fixed since)
or the behaviour it pins."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.core.db import Database
from domain.core.errors import Conflict, DomainError
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.parties import master
from domain.parties.tables import Customer
from domain.sales import rules as sales
from domain.sales import services as svc

D = Decimal


def _opportunity(db: Database, lead: str, company: str) -> str:
    draft = crm.LeadDraft(number=lead, created_by="alice", owner="alice", lead=crm.LeadIn(
        company=company, contact="Bill Lumbergh", email="bill@initech.example", source="referral",
        estimated_value=D("20000")))  # type: ignore[arg-type]
    with db.write() as s:
        crm_svc.record_lead(s, draft, f"lead-{lead}")
        return crm_svc.qualify(s, lead, customer_id=None, actor="alice").number


def _quote(db: Database, opp: str, number: str, qty: str) -> None:
    with db.write() as s:
        svc.record_quotation(s, sales.QuotationDraft(
            number=number, opportunity=opp, created_by="alice", issued_on=date(2026, 11, 23), valid_days=14,
            lines=[sales.QuotationLineIn(sku="FAN-200", qty=D(qty), unit_price=D("500"))]), f"quote-{number}")


def test_an_accepted_quotation_counts_against_credit_before_its_order_exists(db: Database) -> None:
    """Was a defect, now fixed (domain/sales/services.py:338 with credit_position, 352-365): the credit check at acceptance
    counts open *orders* only. A quotation accepted a moment ago has no order yet (create_sales_order is
    the next activity), and one pending credit approval has none for days, so a second acceptance for the
    same customer does not see it; nor is the customer row locked, so two acceptances on different
    opportunities of one customer, at once, both pass. Initech (limit 20,000) accepts 15,000 on one
    opportunity and then 10,000 on another: 25,000, and finance is never asked."""
    first, second = _opportunity(db, "LD-00001", "Initech"), _opportunity(db, "LD-00002", "Initech")
    _quote(db, first, "QT-00001", "30")  # 15,000
    _quote(db, second, "QT-00002", "20")  # 10,000
    with db.write() as s:
        assert svc.record_acceptance(s, "QT-00001", "alice").steps == []  # within the limit on its own
    with db.write() as s:
        steps = svc.record_acceptance(s, "QT-00002", "alice").steps
        assert svc.quotation(s, "QT-00002").status == "pending_credit_approval"
    assert steps and steps[0].candidate_role == "finance"


def test_a_customer_name_differing_only_in_case_does_not_break_leads(db: Database) -> None:
    """Was a defect, now fixed (domain/crm/services.py:66-68 vs domain/parties/master.py:38-44): POST /api/customers refuses
    only an exact duplicate name, but leads look customers up case-insensitively with scalar_one_or_none.
    Once "initech" exists beside "Initech", scoring any lead of Initech raises MultipleResultsFound, which is
    not a DomainError: record_lead / log_lead_activity / settle_lead retry forever (RETRY has no attempt
    limit), the API answers 503 after 30 s with the workflow stuck, and PUT /api/scoring-rules (rescore of
    the open leads) answers 500."""
    with db.write() as s:
        try:
            master.create_named(s, Customer, {"name": "initech", "credit_limit": D(0)})
        except Conflict:
            return  # refused at the door: then the lookup can stay as it is
    draft = crm.LeadDraft(number="LD-00001", created_by="alice", owner="alice", lead=crm.LeadIn(
        company="Initech", contact="Bill", email="bill@initech.example", source="referral",
        estimated_value=D("1000")))  # type: ignore[arg-type]
    try:
        with db.write() as s:
            crm_svc.record_lead(s, draft, "lead-1")
            crm_svc.qualify(s, "LD-00001", customer_id=None, actor="alice")
    except DomainError:
        pass  # a clear refusal would do too
