"""Kitting over the database lists every item an order touches (issue 20): the demo's fan order with no housing
in stock lists the housing to build, beside the fan and the bought parts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from sqlalchemy import select

from domain.core.db import Database
from domain.inventory import stock
from domain.parties.tables import Customer
from domain.planning import services as planning
from domain.sales import rules as sales
from domain.sales import services as sales_svc


def test_a_sub_assembly_with_no_stock_is_listed_to_build(db: Database) -> None:
    with db.write() as s:
        # No fans and no housings in stock: 10 fans are all to build, and so are their 10 housings.
        for sku in ("FAN-200", "FAN-HOUSING"):
            on_hand = stock.levels(s, sku)["on_hand"]
            stock.move(s, sku, -on_hand, unit_cost=D(0), voucher_type="adjustment", voucher_no="T",
                       key=f"t:{sku}", reason="count")
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        ref = sales.OrderRef(number="SO-1", owner="alice", customer_id=globex, requested_date=date(2026, 12, 10),
                             lines=[sales.OrderLineIn(sku="FAN-200", qty=D(10), unit_price=D(450))])
        sales_svc.record_direct_order(s, ref, "p-SO-1").status = "open"
    with db.read() as s:
        kit = planning.order_kitting(s, "SO-1")
        every = planning.all_kitting(s)
    lines = {ln["sku"]: ln for ln in kit["lines"]}
    assert lines["FAN-HOUSING"]["kind"] == "manufactured" and not lines["FAN-HOUSING"]["ordered"]
    assert (lines["FAN-HOUSING"]["required"], lines["FAN-HOUSING"]["available"], lines["FAN-HOUSING"]["allocated"],
            lines["FAN-HOUSING"]["to_build"]) == (D(10), 0, 0, D(10))
    assert lines["FAN-200"]["ordered"] and lines["FAN-200"]["to_build"] == D(10)
    # The ordered item first, then what is built, then what is bought.
    skus = [ln["sku"] for ln in kit["lines"]]
    assert skus[:2] == ["FAN-200", "FAN-HOUSING"]
    assert all(lines[x]["kind"] == "purchased" for x in skus[2:]) and {"BLADE-SET", "MOTOR-200W"} <= set(skus)
    # The housing's components are reached through it.
    assert lines["BLADE-SET"]["required"] == D(10)
    for ln in kit["lines"]:
        assert ln["shortage"] + ln["to_build"] == ln["required"] - ln["allocated"]
    assert every[0]["to_build"] == [{"sku": "FAN-200", "to_build": D(10)}, {"sku": "FAN-HOUSING", "to_build": D(10)}]
