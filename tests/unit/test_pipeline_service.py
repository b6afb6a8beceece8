"""The pipeline reads (domain/sales/pipeline.py) on the demo company: an opportunity with its
quotations, the opportunities by stage with their totals, the open leads."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from api.encoding import encode
from domain.core.db import Database
from domain.core.types import utcnow
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.crm.tables import Opportunity
from domain.sales import pipeline
from domain.sales import rules as sales
from domain.sales import services as sales_svc

D = Decimal


def opportunity(db: Database, number: str, company: str = "Globex Corporation", value: str = "40000",
                owner: str = "alice", created_by: str = "alice") -> str:
    lead = crm.LeadIn(company=company, contact="Hank Scorpio", email="hank@globex.example", source="referral",
                      estimated_value=D(value))  # type: ignore[arg-type]
    with db.write() as s:
        crm_svc.record_lead(s, crm.LeadDraft(number=number, created_by=created_by, lead=lead, owner=owner),
                            f"lead-{number}")
        return crm_svc.qualify(s, number, customer_id=None, actor=owner).number


def quote(db: Database, opp: str, number: str, discount: str = "5") -> None:
    draft = sales.QuotationDraft(number=number, opportunity=opp, created_by="alice", issued_on=date(2026, 11, 23),
                                 valid_days=14, lines=[sales.QuotationLineIn(sku="FAN-200", qty=D(10),
                                                                             unit_price=D("500"),
                                                                             discount_pct=D(discount))])
    with db.write() as s:
        sales_svc.record_quotation(s, draft, f"quote-{number}")


def set_stage(db: Database, number: str, stage: str, closed_days_ago: int | None = None) -> None:
    with db.write() as s:
        opp = s.execute(select(Opportunity).where(Opportunity.number == number)).scalar_one()
        opp.stage, opp.probability = stage, crm.DEFAULT_PROBABILITY[stage]  # type: ignore[index]
        opp.expected_value = crm.expected_value(opp.amount, opp.probability)
        if closed_days_ago is not None:
            opp.closed_at = utcnow() - timedelta(days=closed_days_ago)


def test_an_opportunity_with_its_customer_lead_and_quotations(db: Database) -> None:
    opp = opportunity(db, "LD-00001")
    quote(db, opp, "QT-00001")
    quote(db, opp, "QT-00002", discount="25")
    with db.write() as s:
        sales_svc.create_order(s, "QT-00001", owner="alice", process_id="quote-QT-00001", key="k1")
        view = pipeline.opportunity_view(s, sales_svc.opportunity(s, opp))
    assert {"id", "opportunity_id", "lead_id", "customer_id", "customer", "name", "stage", "probability", "amount",
            "expected_value", "owner", "lost_reason", "process_id", "created_at", "closed_at",
            "quotations"} == set(view)
    assert view["opportunity_id"] == opp and view["lead_id"] == "LD-00001"
    assert view["customer"] == "Globex Corporation" and view["owner"] == "alice"
    assert view["stage"] == "won" and view["probability"] == 100 and view["closed_at"] is not None
    assert view["amount"] == D("40000.00") and view["expected_value"] == D("40000.00") and view["lost_reason"] is None
    assert [(q["number"], q["status"], q["total"], q["max_discount_pct"], q["sales_order_id"])
            for q in view["quotations"]] == [("QT-00001", "accepted", D("4750.00"), D("5.00"), "SO-00001"),
                                            ("QT-00002", "pending_approval", D("3750.00"), D("25.00"), None)]
    assert view["quotations"][0]["valid_until"] == date(2026, 12, 7)
    assert json.loads(json.dumps(encode(view)))["quotations"][1]["total"] == "3750.00"  # as the JSON API serves it


def test_the_pipeline_groups_by_stage_in_order_with_totals(db: Database) -> None:
    a = opportunity(db, "LD-00001", value="10000")
    b = opportunity(db, "LD-00002", company="Initech", value="30000")
    c = opportunity(db, "LD-00003", company="Umbrella Retail", value="50000")
    d = opportunity(db, "LD-00004", company="Acme Labs", value="20000", owner="zoe")
    old = opportunity(db, "LD-00005", company="Old Corp", value="99000")
    lost = opportunity(db, "LD-00006", company="Lost Inc", value="7000")
    quote(db, b, "QT-00001")  # a quotation moves it to proposal
    set_stage(db, c, "negotiation")
    set_stage(db, old, "won", closed_days_ago=45)  # closed too long ago for the board
    set_stage(db, lost, "lost", closed_days_ago=3)
    with db.read() as s:
        board = pipeline.pipeline(s, None)
        mine = pipeline.pipeline(s, "alice")
        zoe = pipeline.pipeline(s, "zoe")
        nobody = pipeline.pipeline(s, "carol")
    assert [st["stage"] for st in board["stages"]] == ["qualification", "proposal", "negotiation", "won", "lost"]
    by = {st["stage"]: st for st in board["stages"]}
    assert [c["number"] for c in by["qualification"]["cards"]] == [d, a]  # biggest expected value first
    assert by["qualification"]["count"] == 2 and by["qualification"]["amount"] == D("30000")
    assert by["qualification"]["expected_value"] == D("3000")  # 10 % of 30,000
    assert by["proposal"]["count"] == 1 and by["proposal"]["expected_value"] == D("12000")  # 40 %
    assert by["negotiation"]["cards"][0]["customer"] == "Umbrella Retail"
    assert by["negotiation"]["expected_value"] == D("35000")  # 70 %
    assert by["won"]["count"] == 0 and by["won"]["cards"] == [] and by["won"]["amount"] == 0
    assert by["lost"]["count"] == 1 and by["lost"]["cards"][0]["number"] == lost
    assert board["open_count"] == 4 and board["open_amount"] == D("110000")
    assert board["open_expected_value"] == D("50000")
    assert {c["owner"] for st in mine["stages"] for c in st["cards"]} == {"alice"}
    assert mine["open_count"] == 3
    assert [c["number"] for st in zoe["stages"] for c in st["cards"]] == [d]
    assert nobody["open_count"] == 0 and all(st["cards"] == [] for st in nobody["stages"])


def test_the_cards_of_a_stage_are_bounded_but_its_totals_count_all(db: Database, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "CARDS_PER_STAGE", 2)
    for i in range(1, 4):
        opportunity(db, f"LD-0000{i}", company=f"Company {i}", value=f"{i}000")
    with db.read() as s:
        stage = pipeline.pipeline(s, "alice")["stages"][0]
    assert stage["count"] == 3 and stage["amount"] == D("6000") and len(stage["cards"]) == 2
    assert [c["amount"] for c in stage["cards"]] == [D("3000"), D("2000")]


def test_open_leads_for_their_owner_creator_or_everyone(db: Database) -> None:
    opportunity(db, "LD-00001")  # qualified: not open any more
    lead = crm.LeadIn(company="Wayne Enterprises", contact="Lucius Fox", email="lucius@wayne.example",
                      source="trade_show", estimated_value=D("75000"))  # type: ignore[arg-type]
    with db.write() as s:
        crm_svc.record_lead(s, crm.LeadDraft(number="LD-00002", created_by="bob", lead=lead, owner="alice"), "l2")
        crm_svc.record_lead(s, crm.LeadDraft(number="LD-00003", created_by="bob", lead=lead, owner="zoe"), "l3")
    with db.read() as s:
        assert [r["number"] for r in pipeline.open_leads(s, None)] == ["LD-00003", "LD-00002"]
        alice = pipeline.open_leads(s, "alice")
        assert [r["number"] for r in pipeline.open_leads(s, "bob")] == ["LD-00003", "LD-00002"]  # their creator
        assert pipeline.open_leads(s, "carol") == []
        assert pipeline.salespeople(s) == ["alice"]
    assert [r["number"] for r in alice] == ["LD-00002"] and alice[0]["score"] > 0 and alice[0]["status"] == "assigned"
