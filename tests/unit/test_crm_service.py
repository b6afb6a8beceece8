"""Leads in SQL: scoring from the rules table, activities, round robin, qualification (domain/crm/services.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.core.db import Database
from domain.core.errors import Conflict, NotFound
from domain.crm import rules as crm
from domain.crm import services as svc
from domain.crm.tables import Contact, Lead, Opportunity
from domain.org import services as org
from domain.parties.tables import Customer


def draft(number: str, company: str = "Wayne Enterprises", source: str = "referral", value: str = "60000",
          owner: str | None = None, phone: str | None = "+1 555 0100") -> crm.LeadDraft:
    lead = crm.LeadIn(company=company, contact="Lucius Fox", email="lucius@wayne.example", phone=phone,
                      source=source, estimated_value=Decimal(value))  # type: ignore[arg-type]
    return crm.LeadDraft(number=number, created_by="alice", lead=lead, owner=owner)


def test_a_recorded_lead_is_scored_with_its_reasons_and_recorded_once(db: Database) -> None:
    with db.write() as s:
        row = svc.record_lead(s, draft("LD-00001"), "lead-LD-00001")
        again = svc.record_lead(s, draft("LD-00001"), "lead-LD-00001")
        assert again.id == row.id
        expected = crm.score_lead(draft("LD-00001").lead, list(crm.DEFAULT_SCORING_RULES), is_customer=False,
                                  engagement_events=0)
        assert row.score == expected.score > 0
        assert [r["rule"] for r in row.score_reasons] == [r.rule for r in expected.reasons]
        assert s.execute(select(func.count()).select_from(Lead)).scalar_one() == 1


def test_an_existing_customer_and_engagement_raise_the_score(db: Database) -> None:
    with db.write() as s:
        cold = svc.record_lead(s, draft("LD-00001", company="Initech", source="cold_call", value="0", phone=None),
                               "lead-1")
        before = cold.score
        assert "existing_customer" in [r["rule"] for r in cold.score_reasons]  # Initech is a demo customer
        svc.add_activity(s, "LD-00001", "call", "intro call", "alice", "k1")
        svc.add_activity(s, "LD-00001", "call", "intro call", "alice", "k1")  # retried: once
        assert cold.score > before
        assert len(svc.lead_view(s, cold)["activities"]) == 1


def test_rules_are_data(db: Database) -> None:
    with db.write() as s:
        svc.replace_rules(s, [crm.ScoringRule(name="everyone", kind="source", param="referral", points=42,
                                              reason="we love referrals")])
        row = svc.record_lead(s, draft("LD-00001"), "lead-1")
    assert row.score == 42 and row.score_reasons == [{"rule": "everyone", "points": 42,
                                                      "reason": "we love referrals"}]


def test_round_robin_over_the_sales_role(db: Database) -> None:
    with db.write() as s:
        org.create_user(s, "amy", "password123", ["sales", "employee"], manager="bob")
        owners = []
        for i in range(1, 5):
            svc.record_lead(s, draft(f"LD-{i:05d}"), f"lead-{i}")
            owners.append(svc.assign(s, f"LD-{i:05d}"))
        assert owners == ["alice", "amy", "alice", "amy"]
        assert svc.assign(s, "LD-00001") == "alice"  # retried: unchanged
        svc.record_lead(s, draft("LD-00009", owner="alice"), "lead-9")
        assert svc.lead(s, "LD-00009").status == "assigned"


def test_qualify_creates_the_customer_contact_and_opportunity_once(db: Database) -> None:
    with db.write() as s:
        svc.record_lead(s, draft("LD-00001", owner="alice"), "lead-1")
        opp = svc.qualify(s, "LD-00001", customer_id=None, actor="alice")
        assert svc.qualify(s, "LD-00001", customer_id=None, actor="alice").id == opp.id  # retried activity
        assert opp.stage == "qualification" and opp.probability == 10
        assert opp.amount == Decimal("60000") and opp.expected_value == Decimal("6000.00")
        customer = s.get(Customer, opp.customer_id)
        assert customer is not None and customer.name == "Wayne Enterprises"
        assert s.execute(select(func.count()).select_from(Contact)).scalar_one() == 1
        view = svc.lead_view(s, svc.lead(s, "LD-00001"))
        assert view["status"] == "qualified" and view["opportunity_id"] == opp.number
        with pytest.raises(Conflict, match="already qualified"):
            svc.disqualify(s, "LD-00001", "changed our mind")


def test_qualify_links_an_existing_customer_and_refuses_unknown_ones(db: Database) -> None:
    with db.write() as s:
        initech = s.execute(select(Customer).where(Customer.name == "Initech")).scalar_one()
        svc.record_lead(s, draft("LD-00001", company="initech "), "lead-1")  # matched case-insensitively
        svc.record_lead(s, draft("LD-00002"), "lead-2")
        opp = svc.qualify(s, "LD-00001", customer_id=None, actor="alice")
        assert opp.customer_id == initech.id
        with pytest.raises(NotFound):
            svc.qualify(s, "LD-00002", customer_id=999999, actor="alice")
        assert s.execute(select(func.count()).select_from(Opportunity)).scalar_one() == 1


def test_disqualify_keeps_the_reason_and_refuses_a_second_verdict(db: Database) -> None:
    with db.write() as s:
        svc.record_lead(s, draft("LD-00001"), "lead-1")
        svc.disqualify(s, "LD-00001", "no budget")
        svc.disqualify(s, "LD-00001", "no budget")  # retried
        with pytest.raises(Conflict):
            svc.qualify(s, "LD-00001", customer_id=None, actor="alice")
        assert svc.lead_view(s, svc.lead(s, "LD-00001"))["disqualify_reason"] == "no budget"
