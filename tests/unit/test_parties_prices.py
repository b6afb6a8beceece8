"""Prices and the sales fixes of issue 18 on the demo company: the price list's precedence (the customer's own price,
everyone's, the item's list price in the company currency), the pipeline's Won from the orders, an opportunity with a
quotation out kept at proposal, the default credit limit of a customer created from a lead, and deactivation refused
while something is open."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.parties import master, prices
from domain.parties.tables import Customer, Supplier
from domain.purchasing import suppliers
from domain.sales import customers, pipeline
from domain.sales import services as sales_svc
from tests.unit.test_pipeline_service import opportunity, quote

D = Decimal


def customer_id(db: Database, name: str) -> int:
    with db.read() as s:
        return s.execute(select(Customer.id).where(Customer.name == name)).scalar_one()


def test_the_price_list_takes_the_customers_own_price_then_everyones_then_the_items_list_price(db: Database) -> None:
    globex, initech = customer_id(db, "Globex Corporation"), customer_id(db, "Initech")
    with db.read() as s:
        assert prices.list_prices(s, ["FAN-200", "STEEL-SHEET"], globex) == {"FAN-200": D("500")}  # the item's
    with db.write() as s:
        prices.set_list_price(s, "FAN-200", D("480"), "usd", None, "bob")
        prices.set_list_price(s, "FAN-200", D("450"), "USD", globex, "bob")
        prices.set_list_price(s, "FAN-200", D("3500"), "CNY", None, "bob")
        prices.set_list_price(s, "FAN-200", D("455"), "USD", globex, "bob")  # changed, not a second row
    with db.read() as s:
        assert prices.list_price(s, "FAN-200", globex) == D("455")
        assert prices.list_price(s, "FAN-200", initech) == D("480")
        assert prices.list_price(s, "FAN-200", None) == D("480")
        assert len(prices.price_list(s)) == 3
    with db.write() as s:
        s.get(Customer, initech).currency = "CNY"  # type: ignore[union-attr]
    with db.read() as s:
        assert prices.list_prices(s, ["FAN-200", "BOLT-M8"], initech) == {"FAN-200": D("3500")}  # no USD fallback
    with db.write() as s, pytest.raises(Invalid):
        prices.set_list_price(s, "FAN-200", D("-1"), "USD", None, "bob")
    with db.write() as s, pytest.raises(NotFound):
        prices.set_list_price(s, "NOPE", D("1"), "USD", None, "bob")


def test_won_is_the_value_ordered_and_a_quotation_out_keeps_the_opportunity_at_proposal(db: Database) -> None:
    opp = opportunity(db, "LD-00001", value="30000")
    quote(db, opp, "QT-00001")  # 10 × 500 less 5 %: 4,750
    with db.read() as s:
        assert sales_svc.opportunity(s, opp).stage == "proposal"
    with db.write() as s, pytest.raises(Conflict, match="QT-00001 out"):
        sales_svc.move_opportunity(s, opp, "qualification")
    with db.write() as s:
        sales_svc.move_opportunity(s, opp, "negotiation")  # forward is fine
        sales_svc.create_order(s, "QT-00001", owner="alice", process_id="quote-QT-00001", key="k1")
    with db.read() as s:
        board = pipeline.pipeline(s, None)
    won = next(st for st in board["stages"] if st["stage"] == "won")
    assert won["count"] == 1 and won["amount"] == D("4750.00") and won["expected_value"] == D("4750.00")
    assert won["cards"][0]["amount"] == D("4750.00") and won["cards"][0]["estimate"] == D("30000.00")


def test_a_customer_from_a_lead_gets_the_default_credit_limit_and_is_not_deactivated_with_an_order_open(
        db: Database) -> None:
    with db.read() as s:
        assert master.settings(s).default_credit_limit == D(10000)  # the demo's
    with db.write() as s:
        master.set_default_credit_limit(s, D("12500"), "grace")
        with pytest.raises(Invalid):
            master.set_default_credit_limit(s, D("-1"), "grace")
    opp = opportunity(db, "LD-00001", company="Wayne Enterprises", value="30000")
    wayne = customer_id(db, "Wayne Enterprises")
    with db.read() as s:
        assert s.get(Customer, wayne).credit_limit == D("12500")  # type: ignore[union-attr]
    quote(db, opp, "QT-00001")
    with db.write() as s, pytest.raises(Conflict, match="quotations out QT-00001"):
        customers.deactivate(s, wayne, "grace")
    with db.write() as s:
        sales_svc.create_order(s, "QT-00001", owner="alice", process_id="quote-QT-00001", key="k1")
    with db.write() as s, pytest.raises(Conflict, match="open sales orders SO-"):
        customers.deactivate(s, wayne, "grace")
    with db.read() as s:
        assert s.get(Customer, wayne).active  # type: ignore[union-attr]
        log = customers.activity(s, wayne)
    assert [a["kind"] for a in log][:1] == ["sales_order"] and {"lead", "opportunity", "quotation"} <= {
        a["kind"] for a in log}


def test_a_supplier_price_and_deactivation(db: Database) -> None:
    with db.write() as s:
        sup = master.create_party(s, Supplier, {"name": "Gotham Steel", "currency": "usd",
                                                "payment_terms_days": 30}, "dave")
        prices.set_supplier_price(s, sup.id, "STEEL-SHEET", D("12.5"), "USD", D(100), 7, "dave")
        prices.set_supplier_price(s, sup.id, "STEEL-SHEET", D("12"), "USD", D(100), 7, "dave")
        assert [(p["sku"], p["price"]) for p in prices.supplier_prices(s, sup.id)] == [("STEEL-SHEET", D("12"))]
        with pytest.raises(Invalid):
            prices.set_supplier_price(s, sup.id, "STEEL-SHEET", D("1"), "USD", D(0), 7, "dave")
        suppliers.deactivate(s, sup.id, "dave")
        assert not sup.active and sup.currency == "USD"
        with pytest.raises(Conflict, match="inactive"):
            prices.set_supplier_price(s, sup.id, "BOLT-M8", D("1"), "USD", D(1), 7, "dave")
