"""Inventory = stock valuation to the cent, by construction: each stock move's value is rounded to the cent in one
place (domain.inventory.rules.after_move) and what posts to the inventory account is that same value, whatever the
move: goods received, material issued to production (backflushed), labour into work in progress, finished goods at
their share of it, counted adjustments, deliveries' cost of goods sold, returns. On the demo company, with
fractional quantities (m², kg) and prices of four places, the books reconcile after every step: the inventory
account equals the sum of the items' stock values exactly, and goods received not invoiced equals what receipts
took in less what bills cleared."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.cash import bills
from domain.cash import rules as cash_rules
from domain.cash import services as cash
from domain.cash.rules import InvoiceKind
from domain.core import records as common
from domain.core.db import Database
from domain.core.money import money
from domain.inventory import stock
from domain.inventory.tables import StockBalance, StockLedgerEntry
from domain.manufacturing.bom import BomLine, need
from domain.parties import master
from domain.parties.tables import Customer, Supplier
from domain.processes import services as processes
from domain.production import rules as production_rules
from domain.production import services as production
from domain.production.tables import ProductionMaterial, ProductionOrder
from domain.purchasing import rules as purchasing
from domain.purchasing import services as purchasing_svc
from domain.sales import return_services, returns
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from domain.sales.delivery import DeliveryLineIn

D = Decimal
TODAY = date.today()


def books(db: Database) -> None:
    """Every sub-ledger equals its control account; inventory equals the stock valuation exactly (not only once
    both are rounded), each stock value is whole cents, and the trial balance is even."""
    with db.read() as s:
        rec = cash.reconcile(s)
        inventory = ledger.balances(s).get(accounting.INVENTORY, D(0))
        values = list(s.execute(select(StockBalance.stock_value)).scalars())
        tb = ledger.trial_balance(s)
    assert rec.balanced, [r for r in rec.rows if r["difference"]]
    assert inventory == sum(values, D(0))
    assert all(v == money(v) for v in values), values
    assert tb["debit_total"] == tb["credit_total"]


def inventory(db: Database) -> Decimal:
    with db.read() as s:
        return ledger.balances(s).get(accounting.INVENTORY, D(0))


def moved(db: Database, voucher_type: str) -> Decimal:
    """What the stock ledger's moves of `voucher_type` changed the stock value by."""
    with db.read() as s:
        return D(s.execute(select(func.coalesce(func.sum(StockLedgerEntry.value_change), 0))
                           .where(StockLedgerEntry.voucher_type == voucher_type)).scalar_one())


def test_fractional_quantities_at_awkward_prices_keep_inventory_equal_to_the_stock_valuation(db: Database) -> None:
    books(db)

    # Goods received, two lines in each of two receipts: the first's round down (8.33325 → 8.33, 0.833325 → 0.83),
    # the second's up (16.6665 → 16.67, 1.66665 → 1.67). Rounding each receipt's sum instead (9.17, 18.33) would
    # post a cent that stock never took in, or miss one.
    with db.write() as s:
        acme = s.execute(select(Supplier.id).where(Supplier.name == "Acme Metals")).scalar_one()
        number = common.next_number(s, "PR")
        lines = [purchasing.RequisitionLineIn(sku="STEEL-SHEET", qty=D("7.5"), est_unit_price=D("3.3333")),
                 purchasing.RequisitionLineIn(sku="PAINT-RED", qty=D("2.25"), est_unit_price=D("1.1111"))]
        purchasing_svc.record_requisition(s, purchasing.RequisitionDraft(
            number=number, requester="dave", supplier_id=acme, justification="", lines=lines,
            total=sum((ln.qty * ln.est_unit_price for ln in lines), D(0))), f"p-{number}")
        po = purchasing_svc.create_order(s, number, buyer="dave", today=TODAY, key=f"po-{number}").number
    before = inventory(db)
    for i, received in enumerate([{"STEEL-SHEET": "2.5", "PAINT-RED": "0.75"},
                                  {"STEEL-SHEET": "5", "PAINT-RED": "1.5"}]):
        with db.write() as s:
            purchasing_svc.receive(s, po, [purchasing.ReceiptLineIn(sku=k, qty=D(v)) for k, v in received.items()],
                                   actor="ivan", key=f"gr-{i}")
        books(db)
    # 2.5 × 3.3333, 0.75 × 1.1111, 5 × 3.3333, 1.5 × 1.1111: each to the cent, and posted as stock took them in
    assert moved(db, purchasing.RECEIPT_VOUCHER) == D("8.33") + D("0.83") + D("16.67") + D("1.67") == (
        inventory(db) - before)

    # A bill for part of it (fractional, at the order's price): it clears goods received not invoiced to the cent.
    with db.write() as s:
        bill = [cash_rules.BillLineIn(sku="STEEL-SHEET", qty=D("3.75"), unit_price=D("3.3333"))]
        ordered = bills.ordered_lines(s, purchasing_svc.order(s, po))
        match = cash_rules.three_way_match(bill, ordered, cash.policy(s).match)
        cash.issue(s, kind=InvoiceKind.SUPPLIER, party_id=acme, issued_on=TODAY, currency="USD", key="bill-1",
                   process_id="p-bill-1", tax=D(0), purchase_order_number=po, other_side=bills.posting(match),
                   lines=[cash.LineIn(sku=m.sku, qty=m.qty, unit_price=m.unit_price, net=m.billed)
                          for m in match.lines])
    books(db)

    # Material issued by backflush, labour at a rate of four places, finished goods at their share of work in
    # progress (a third of it: not whole cents), scrap that stays in work in progress, the last units taking the rest.
    with db.write() as s:
        housing = stock.item_by_sku(s, "FAN-HOUSING")
        comps = stock.items_by_sku(s, ["STEEL-SHEET", "PAINT-RED"])
        mo = ProductionOrder(number="MO-T1", item_id=housing.id, sku="FAN-HOUSING", qty=D(3),
                             issue_method="backflush", release_date=TODAY, due_date=TODAY, std_labour_hours=D("0.4"),
                             labour_rate=D("35.5555"), overhead_rate=D("5.0505"), planner="carol",
                             process_id="production-order-MO-T1", idempotency_key="mo-t1",
                             wait_reason="waiting for release")
        bom = [BomLine("STEEL-SHEET", D("2.0333"), D(5)), BomLine("PAINT-RED", D("0.2575"), D(0))]
        mo.materials = [ProductionMaterial(position=i + 1, item_id=comps[b.component].id, sku=b.component,
                                           per_unit=b.qty, scrap_pct=b.scrap_pct, required_qty=need(D(3), b),
                                           standard_cost=comps[b.component].standard_cost)
                        for i, b in enumerate(bom)]
        s.add(mo)
        s.flush()
        processes.start(s, mo.process_id, "production_order", mo.number, title="MO-T1", owner="carol", amount=None,
                        first_step="waiting for material")
        assert production.try_release(s, "MO-T1", "release").status == production_rules.ProductionStatus.RELEASED
    for i, report in enumerate([{"completed_qty": "1", "labour_hours": "0.3333"},
                                {"scrap_qty": "1", "labour_hours": "0.1667"},
                                {"completed_qty": "2", "labour_hours": "0.4444"}]):
        with db.write() as s:
            production.report_progress(s, "MO-T1", production_rules.ProgressIn.model_validate(report), actor="carol",
                                       key=f"progress-{i}")
        books(db)
    with db.read() as s:
        mo = production.order(s, "MO-T1")
        assert mo.status == production_rules.ProductionStatus.COMPLETED and mo.wip_value == 0
        assert mo.received_value == mo.material_cost + mo.labour_cost + mo.overhead_cost
        assert mo.labour_cost == money(D("0.3333") * D("35.5555")) + money(D("0.1667") * D("35.5555")) + money(
            D("0.4444") * D("35.5555"))

    # Counted adjustments, out at the moving average and in at a price of four places.
    for i, (qty, cost) in enumerate([("-0.35", None), ("1.25", D("2.7777")), ("-0.1", None)]):
        with db.write() as s:
            master.adjust_stock(s, "STEEL-SHEET", D(qty), cost, "counted", "admin", f"adjust-{i}")
        books(db)

    # Deliveries: a housing and sheet by the square metre, in two parts, cost of goods sold at moving average.
    with db.write() as s:
        cid = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        so = sales_svc.record_direct_order(s, sales.OrderRef(number="SO-T1", owner="alice", customer_id=cid, lines=[
            sales.OrderLineIn(sku="FAN-HOUSING", qty=D(2), unit_price=D("69.99")),
            sales.OrderLineIn(sku="STEEL-SHEET", qty=D("3.35"), unit_price=D("9.9999"))]), "p-so-t1")
        so.status = sales.SalesOrderStatus.IN_FULFILMENT
        sales_svc.reserve_order(s, "SO-T1", "p-so-t1:reserve")
    for i, part in enumerate([[("FAN-HOUSING", "1"), ("STEEL-SHEET", "1.15")], None]):
        with db.write() as s:
            production.deliver(s, "SO-T1", actor="ivan", key=f"deliver-{i}", on=TODAY, id_prefix="t/",
                               lines=None if part is None else [DeliveryLineIn(sku=k, qty=D(q)) for k, q in part])
        books(db)

    # A return of sheet by the square metre, back at the cost it left at.
    with db.write() as s:
        return_services.record_return(s, returns.ReturnDraft(
            number="RET-T1", sales_order="SO-T1", reason="cut to the wrong size", by="alice", on=TODAY,
            lines=[returns.ReturnLineIn(sku="STEEL-SHEET", qty=D("0.65"))]), "sales-return-RET-T1")
    books(db)
