"""Quality (issue 20): the inspection's rules (pure), and recording an inspection of a quarantined receipt on the
demo company in SQL: blade sets received wait outside on hand; an inspection accepting 8 and rejecting 2 puts 8 on
hand at the lot's cost and sends 2 back (before the bill: the order received 8; once billed: a debit note against
the bill), with a nonconformance record; a retried or crashed recording moves nothing twice; the sub-ledgers
equal their control accounts throughout."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.cash import services as cash
from domain.cash.tables import Invoice
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid
from domain.inventory import quarantine, stock
from domain.inventory.quarantine_tables import QuarantineLot
from domain.inventory.tables import StockLedgerEntry
from domain.manufacturing.bom import BomLine, need
from domain.org.people import Actor
from domain.processes import services as processes
from domain.production import rules as production_rules
from domain.production import services as production
from domain.production.tables import ProductionMaterial, ProductionOrder
from domain.purchasing import services as purchasing_svc
from domain.quality import rules
from domain.quality import services as quality
from domain.quality.tables import Nonconformance
from tests.unit.test_bills import bill_in, received_order
from tests.unit.test_bills import record as record_bill

D = Decimal
IVAN = Actor(username="ivan", roles=["warehouse", "employee"])
TODAY = date(2026, 12, 1)


def result(accepted: str, rejected: str = "0", reason: str = "", note: str = "") -> rules.InspectionIn:
    return rules.InspectionIn(accepted_qty=D(accepted), rejected_qty=D(rejected), reason=reason, note=note)


# --- the rules ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("accepted", "rejected", "reason", "words"), [
    ("11", "0", "", "more than the 10 received"),
    ("9", "2", "damaged", "11 of BLADE-SET, more than the 10 received"),
    ("10", "1", "damaged", "more than the 10 received"),
    ("5", "2", "damaged", "less than the 10 received"),
    ("8", "2", "", "say why 2 of BLADE-SET is rejected"),
    ("8", "2", "bent", "'bent' is not a rejection reason"),
    ("8", "2", "other", "needs a note"),
])
def test_an_inspection_that_does_not_add_up_to_the_lot_or_gives_no_reason_is_refused(accepted, rejected, reason,
                                                                                       words):
    with pytest.raises(Invalid, match=words):
        rules.check_result("IL-00001", "BLADE-SET", D(10), "open", result(accepted, rejected, reason))


def test_a_lot_is_inspected_once():
    with pytest.raises(Conflict, match="inspected already"):
        rules.check_result("IL-00001", "BLADE-SET", D(10), "inspected", result("10"))
    rules.check_result("IL-00001", "BLADE-SET", D(10), "open", result("8", "2", "other", "cracked hub"))


def test_rejected_goods_go_back_by_what_the_bills_covered():
    assert rules.split_rejected(D(2), received=D(10), billed=D(0)) == (D(2), D(0))  # no bill: receipt reduced
    assert rules.split_rejected(D(2), received=D(10), billed=D(10)) == (D(0), D(2))  # billed: a debit note
    assert rules.split_rejected(D(2), received=D(10), billed=D(9)) == (D(1), D(1))  # one of each
    assert rules.split_rejected(D(2), received=D(10), billed=D(8)) == (D(2), D(0))  # the bill took what was kept


def test_first_pass_yield():
    assert rules.first_pass_yield(D(8), D(10)) == D("0.8")
    assert rules.first_pass_yield(D(0), D(0)) is None


# --- in SQL ------------------------------------------------------------------------------------------------

def blades(db: Database) -> dict[str, Decimal]:
    with db.read() as s:
        return stock.levels(s, "BLADE-SET")


def lot_of(db: Database, po: str) -> str:
    with db.read() as s:
        return s.execute(select(QuarantineLot.number).where(QuarantineLot.order_number == po)).scalar_one()


def inspect(db: Database, lot: str, res: rules.InspectionIn, process_id: str = "inspection-1") -> rules.InspectionOutcome:
    with db.write() as s:
        return quality.record(s, lot, rules.InspectionCommand(actor=IVAN, result=res), process_id, TODAY)


def balanced(db: Database) -> None:
    with db.read() as s:
        rec = cash.reconcile(s)
    assert rec.balanced, rec.rows


def test_a_receipt_of_an_inspected_item_waits_in_quarantine_outside_on_hand(db: Database):
    before = blades(db)
    _, po = received_order(db, qty="10", price="18", received="10", sku="BLADE-SET")
    after = blades(db)
    assert after["on_hand"] == before["on_hand"] and after["available"] == before["available"]
    assert after["quarantine"] == 10 and after["on_order"] == before["on_order"]
    with db.read() as s:
        lot = quarantine.lot(s, lot_of(db, po))
        assert (lot.qty, lot.value, lot.status, lot.source_document) == (10, D("180.00"), "open", f"{po}-R1")
        assert s.execute(select(func.count()).select_from(StockLedgerEntry)
                         .where(StockLedgerEntry.voucher_no == f"{po}-R1")).scalar_one() == 0
        # reservations see only what is on hand
        assert stock.reserve(s, "BLADE-SET", D(100)) == before["available"]
        s.rollback()
    balanced(db)  # received goods in quarantine are inventory and goods received not invoiced alike


def test_eight_accepted_two_rejected_before_the_bill_the_order_received_eight(db: Database):
    before = blades(db)
    sup, po = received_order(db, qty="10", price="18", received="10", sku="BLADE-SET")
    lot = lot_of(db, po)
    out = inspect(db, lot, result("8", "2", "damaged", "two hubs cracked"))
    assert (out.accepted_qty, out.rejected_qty, out.returned_qty, out.debited_qty) == (8, 2, 2, 0)
    after = blades(db)
    assert after["on_hand"] == before["on_hand"] + 8 and after["quarantine"] == 0
    assert after["stock_value"] == before["stock_value"] + D("144.00")
    with db.read() as s:
        ncr = s.execute(select(Nonconformance)).scalar_one()
        assert (ncr.number, ncr.sku, ncr.qty, ncr.reason, ncr.disposition, ncr.returned_qty, ncr.value) == (
            out.ncr, "BLADE-SET", 2, "damaged", "returned", 2, D("36.00"))
        assert ncr.source_document == f"{po}-R1" and ncr.supplier_id == sup
        order = purchasing_svc.order(s, po)
        assert order.lines[0].received_qty == 8 and order.status == "partially_received"
        assert quarantine.lot(s, lot).status == "inspected"
    balanced(db)
    # the supplier's bill for the 10 is refused: the order kept 8
    with db.read() as s, pytest.raises(Conflict):
        from domain.cash import bills
        bills.check(s, bill_in(sup, po, "NW-10", "10", "18", sku="BLADE-SET"))
    record_bill(db, bill_in(sup, po, "NW-8", "8", "18", sku="BLADE-SET"), "BILL-Q1")
    balanced(db)


def test_rejected_after_the_bill_go_back_on_a_debit_note_against_it(db: Database):
    sup, po = received_order(db, qty="10", price="18", received="10", sku="BLADE-SET")
    record_bill(db, bill_in(sup, po, "NW-10", "10", "18", sku="BLADE-SET"), "BILL-Q2")
    before = blades(db)
    out = inspect(db, lot_of(db, po), result("8", "2", "dimensions"))
    assert (out.returned_qty, out.debited_qty) == (0, 2) and out.debit_note is not None
    after = blades(db)
    assert after["on_hand"] == before["on_hand"] + 8 and after["quarantine"] == 0
    with db.read() as s:
        dn = cash.by_number(s, out.debit_note)
        assert dn.credit_note and dn.against_number == "BILL-Q2" and dn.total == D("-36.00")
        assert dn.supplier_ref == out.ncr
        ncr = s.execute(select(Nonconformance)).scalar_one()
        assert (ncr.debited_qty, ncr.debit_note, ncr.bill) == (2, out.debit_note, "BILL-Q2")
        assert purchasing_svc.order(s, po).lines[0].received_qty == 10  # billed: the receipt stands
    balanced(db)


def test_a_retried_recording_answers_the_first_result_and_moves_nothing_twice(db: Database):
    sup, po = received_order(db, qty="10", price="18", received="10", sku="BLADE-SET")
    record_bill(db, bill_in(sup, po, "NW-R", "10", "18", sku="BLADE-SET"), "BILL-Q3")
    lot = lot_of(db, po)
    # a crash after the work but before the commit: nothing of it stays
    with pytest.raises(RuntimeError), db.write() as s:
        quality.record(s, lot, rules.InspectionCommand(actor=IVAN, result=result("8", "2", "damaged")), "insp", TODAY)
        raise RuntimeError("worker killed")
    assert blades(db)["quarantine"] == 10
    first = inspect(db, lot, result("8", "2", "damaged"), "insp")
    mid = blades(db)
    again = inspect(db, lot, result("8", "2", "damaged"), "insp")  # the activity retried after its commit
    assert again == first and blades(db) == mid
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Nonconformance)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(Invoice).where(Invoice.credit_note.is_(True))
                         ).scalar_one() == 1
    # another process (a second result) is refused: the lot is inspected
    with pytest.raises(Conflict, match="inspected already"):
        inspect(db, lot, result("10"), "insp-2")
    balanced(db)


def test_first_pass_yield_per_item(db: Database):
    _, po = received_order(db, qty="10", price="18", received="10", sku="BLADE-SET")
    inspect(db, lot_of(db, po), result("8", "2", "damaged"))
    with db.read() as s:
        rows = {r["sku"]: r for r in quality.first_pass_yield(s)}
    assert rows["BLADE-SET"]["inspection_yield"] == D("0.8") and rows["BLADE-SET"]["inspected"] == 10


# --- final inspection of production receipts -------------------------------------------------------------------

def housings_made(db: Database, made: str) -> str:
    """A released production order of 3 FAN-HOUSING (flagged for final inspection) of which `made` is reported made."""
    with db.write() as s:
        housing = stock.item_by_sku(s, "FAN-HOUSING")
        housing.inspect_final = True
        comps = stock.items_by_sku(s, ["STEEL-SHEET", "PAINT-RED"])
        mo = ProductionOrder(number="MO-Q1", item_id=housing.id, sku="FAN-HOUSING", qty=D(3), issue_method="backflush",
                             release_date=TODAY, due_date=TODAY, std_labour_hours=D("0.4"), labour_rate=D(35),
                             overhead_rate=D(5), planner="carol", process_id="production-order-MO-Q1",
                             idempotency_key="mo-q1", wait_reason="waiting for release")
        bom = [BomLine("STEEL-SHEET", D(2), D(5)), BomLine("PAINT-RED", D("0.25"), D(0))]
        mo.materials = [ProductionMaterial(position=i + 1, item_id=comps[b.component].id, sku=b.component,
                                           per_unit=b.qty, scrap_pct=b.scrap_pct, required_qty=need(D(3), b),
                                           standard_cost=comps[b.component].standard_cost)
                        for i, b in enumerate(bom)]
        s.add(mo)
        s.flush()
        processes.start(s, mo.process_id, "production_order", mo.number, title="MO-Q1", owner="carol",
                        first_step="waiting for material")
        production.try_release(s, "MO-Q1", "release")
    with db.write() as s:
        after = production.report_progress(s, "MO-Q1", production_rules.ProgressIn(completed_qty=D(made),
                                                                                     labour_hours=D(1)),
                                           actor="carol", key="progress-q1")
    assert len(after.quarantined) == 1
    return after.quarantined[0]


def test_goods_made_of_an_item_with_final_inspection_wait_in_quarantine_and_rejects_are_scrapped(db: Database):
    with db.read() as s:
        before = stock.levels(s, "FAN-HOUSING")
    lot = housings_made(db, "3")
    with db.read() as s:
        held = stock.levels(s, "FAN-HOUSING")
        assert held["on_hand"] == before["on_hand"] and held["quarantine"] == 3
    balanced(db)
    out = inspect(db, lot, result("2", "1", "finish", "paint runs"))
    assert out.ncr is not None and (out.returned_qty, out.debited_qty) == (0, 0)
    with db.read() as s:
        after = stock.levels(s, "FAN-HOUSING")
        assert after["on_hand"] == before["on_hand"] + 2 and after["quarantine"] == 0
        ncr = s.execute(select(Nonconformance)).scalar_one()
        assert (ncr.disposition, ncr.qty, ncr.supplier_id, ncr.order_number) == ("scrapped", 1, None, "MO-Q1")
        assert ncr.value > 0
    balanced(db)
