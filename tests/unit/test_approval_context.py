"""The numbers an approver sees beside a task (domain/sales/approval_context.py), on the demo company."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import event, select

from api.encoding import encode
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.approvals.tables import Task
from domain.cash import services as cash
from domain.cash.rules import Direction, InvoiceKind
from domain.core.db import Database
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.inventory.tables import Item
from domain.parties.tables import Customer
from domain.sales import approval_context as ctx
from domain.sales import rules as sales
from domain.sales import services as sales_svc

D = Decimal
FINANCE = approval_rules.ChainStep(index=1, label="Finance", candidate_role="finance")
SALES_MANAGER = approval_rules.ChainStep(index=1, label="Sales manager", candidate_role="sales_manager")


def opportunity(db: Database, company: str, lead_number: str) -> str:
    lead = crm.LeadIn(company=company, contact="Hank Scorpio", email="hank@globex.example", source="referral",
                      estimated_value=D("40000"))  # type: ignore[arg-type]
    with db.write() as s:
        crm_svc.record_lead(s, crm.LeadDraft(number=lead_number, created_by="alice", lead=lead, owner="alice"),
                            f"lead-{lead_number}")
        return crm_svc.qualify(s, lead_number, customer_id=None, actor="alice").number


def quotation(db: Database, opp: str, number: str, lines: list[tuple[str, str, str, str]],
              tax_rate: str = "0") -> None:
    draft = sales.QuotationDraft(
        number=number, opportunity=opp, created_by="alice", issued_on=date(2026, 11, 23), valid_days=14,
        tax_rate=D(tax_rate), lines=[sales.QuotationLineIn(sku=sku, qty=D(qty), unit_price=D(price),
                                                           discount_pct=D(pct)) for sku, qty, price, pct in lines])
    with db.write() as s:
        sales_svc.record_quotation(s, draft, f"quotation-{number}")


def task(db: Database, process_type: str, business_key: str, what: str = "discount",
         step: approval_rules.ChainStep = SALES_MANAGER) -> str:
    task_id = f"task-{business_key}-{what}"
    with db.write() as s:
        approvals.open_task(s, approval_rules.TaskSpec(
            task_id=task_id, workflow_id=f"{process_type}-{business_key}/{what}-approval",
            process_id=f"{process_type}-{business_key}", process_type=process_type, title=f"{business_key} ({what})",
            business_key=business_key, amount=D(1), requester="alice", step=step))
    return task_id


def context(db: Database, task_id: str) -> dict | None:
    with db.read() as s:
        row = s.get(Task, task_id)
        assert row is not None
        return ctx.task_context(s, row)


def test_a_discount_task_shows_the_lines_totals_margin_and_credit(db: Database) -> None:
    opp = opportunity(db, "Globex Corporation", "LD-00001")  # limit 50,000
    quotation(db, opp, "QT-00001", [("FAN-200", "10", "500", "25"), ("BOLT-M8", "1000", "0.50", "5")],
              tax_rate="20")
    c = context(db, task(db, "quotation", "QT-00001"))
    assert c is not None
    assert (c["kind"], c["approval_for"], c["number"], c["status"]) == (
        "quotation", "discount", "QT-00001", "pending_approval")
    assert (c["customer"], c["currency"], c["valid_until"]) == ("Globex Corporation", "USD", date(2026, 12, 7))
    # 5,000 − 25 % = 3,750 on the fan; 500 − 5 % = 475 on the bolts; tax 20 % of 4,225
    assert (c["subtotal"], c["discount_total"], c["net_total"], c["tax"], c["total"]) == (
        D("5500.00"), D("1275.00"), D("4225.00"), D("845.00"), D("5070.00"))
    assert (c["max_discount_pct"], c["discount_limit_pct"]) == (D("25"), D("10"))
    assert [(ln["sku"], ln["qty"], ln["unit_price"], ln["discount_pct"], ln["net"], ln["over_limit"])
            for ln in c["lines"]] == [("FAN-200", D("10"), D("500"), D("25"), D("3750.00"), True),
                                      ("BOLT-M8", D("1000"), D("0.50"), D("5"), D("475.00"), False)]
    # at standard: 10 × 320 + 1,000 × 0.15 = 3,350 against a net 4,225 (tax is not revenue)
    assert c["margin"] == {"revenue": D("4225.00"), "cost": D("3350.00"), "margin": D("875.00"),
                           "margin_pct": D("20.7")}
    credit = c["credit"]
    assert (credit["credit_limit"], credit["open_receivables"], credit["open_orders"], credit["order_value"]) == (
        D("50000"), D(0), D(0), D("5070.00"))
    assert (credit["exposure"], credit["available"], credit["over_limit"], credit["over_by"], credit["headroom"]) == (
        D("5070.00"), D("50000"), False, D(0), D("44930.00"))


def test_the_margin_of_the_fan_at_25_percent(db: Database) -> None:
    opp = opportunity(db, "Globex Corporation", "LD-00001")
    quotation(db, opp, "QT-00001", [("FAN-200", "10", "500", "25")])
    c = context(db, task(db, "quotation", "QT-00001"))
    assert c is not None and c["net_total"] == D("3750.00") and c["total"] == D("3750.00")
    assert c["margin"] == {"revenue": D("3750.00"), "cost": D("3200.00"), "margin": D("550.00"),
                           "margin_pct": D("14.7")}  # 550 / 3,750 = 14.67 %, to one place as sales.margin_of gives it
    # JSON as the API writes it: decimal strings, ISO dates
    out = encode(c)
    assert (out["margin"]["margin"], out["margin"]["margin_pct"], out["lines"][0]["discount_pct"]) == (
        "550.00", "14.70", "25.00")
    assert out["valid_until"] == "2026-12-07" and out["lines"][0]["over_limit"] is True


def test_a_credit_task_shows_by_how_much_the_customer_goes_over(db: Database) -> None:
    first = opportunity(db, "Initech", "LD-00001")  # limit 20,000
    quotation(db, first, "QT-00001", [("FAN-200", "30", "500", "5")])  # 14,250, ordered: an open order
    with db.write() as s:
        sales_svc.create_order(s, "QT-00001", owner="alice", process_id="q1", key="q1:order")
    second = opportunity(db, "Initech", "LD-00002")
    quotation(db, second, "QT-00002", [("FAN-200", "20", "500", "5")])  # 9,500 more
    task_id = task(db, "quotation", "QT-00002", "credit", FINANCE)
    c = context(db, task_id)
    assert c is not None and c["approval_for"] == "credit" and c["customer"] == "Initech"
    credit = c["credit"]
    assert (credit["credit_limit"], credit["open_orders"], credit["order_value"], credit["exposure"]) == (
        D("20000"), D("14250.00"), D("9500.00"), D("23750.00"))
    assert (credit["over_limit"], credit["over_by"], credit["headroom"], credit["available"]) == (
        True, D("3750.00"), D(0), D("5750.00"))
    with db.write() as s:  # finance approved: the quotation is an order now, counted once
        sales_svc.create_order(s, "QT-00002", owner="alice", process_id="q2", key="q2:order")
    after = context(db, task_id)
    assert after is not None and after["status"] == "accepted"
    assert (after["credit"]["open_orders"], after["credit"]["exposure"]) == (D("14250.00"), D("23750.00"))


def test_a_direct_sales_order_over_credit(db: Database) -> None:
    with db.read() as s:
        initech = s.execute(select(Customer.id).where(Customer.name == "Initech")).scalar_one()
    ref = sales.OrderRef(number="SO-00007", owner="alice", customer_id=initech, requested_date=date(2026, 12, 15),
                         lines=[sales.OrderLineIn(sku="FAN-200", qty=D(50), unit_price=D(500)),
                                sales.OrderLineIn(sku="BOLT-M8", qty=D(100), unit_price=D("0.50"))])
    with db.write() as s:
        sales_svc.record_direct_order(s, ref, "sales-order-SO-00007")
    c = context(db, task(db, "sales_order", "SO-00007", "credit", FINANCE))
    assert c is not None
    assert (c["kind"], c["approval_for"], c["status"], c["customer"], c["total"]) == (
        "sales_order", "credit", "pending_credit", "Initech", D("25050.00"))
    assert [(ln["sku"], ln["qty"], ln["unit_price"], ln["net"]) for ln in c["lines"]] == [
        ("FAN-200", D(50), D(500), D("25000.00")), ("BOLT-M8", D(100), D("0.50"), D("50.00"))]
    assert c["margin"] == {"revenue": D("25050.00"), "cost": D("16015.00"), "margin": D("9035.00"),
                           "margin_pct": D("36.1")}
    credit = c["credit"]  # the order itself is pending_credit (an open status) but counts once, as this order
    assert (credit["open_orders"], credit["order_value"], credit["exposure"], credit["over_by"]) == (
        D(0), D("25050.00"), D("25050.00"), D("5050.00"))


def test_other_tasks_have_no_context(db: Database) -> None:
    assert context(db, task(db, "expense_claim", "EC-00001")) is None
    assert context(db, task(db, "purchase", "PR-00001")) is None
    assert context(db, task(db, "quotation", "QT-09999")) is None  # its document is not (yet) there
    assert context(db, task(db, "sales_order", "SO-09999", "credit", FINANCE)) is None


def test_the_inbox_reads_each_rows_summary_in_its_one_query(db: Database) -> None:
    globex = opportunity(db, "Globex Corporation", "LD-00001")
    quotation(db, globex, "QT-00001", [("FAN-200", "10", "500", "25")])
    quotation(db, globex, "QT-00002", [("FAN-200", "1", "500", "10")])
    with db.read() as s:
        initech = s.execute(select(Customer.id).where(Customer.name == "Initech")).scalar_one()
    with db.write() as s:  # 25,000 pending finance: an open order of Initech's (limit 20,000)
        sales_svc.record_direct_order(s, sales.OrderRef(number="SO-00001", owner="alice", customer_id=initech, lines=[
            sales.OrderLineIn(sku="FAN-200", qty=D(50), unit_price=D(500))]), "sales-order-SO-00001")
    quotation(db, opportunity(db, "Initech", "LD-00002"), "QT-00003", [("FAN-200", "20", "500", "5")])  # 9,500
    quotation(db, opportunity(db, "Initech", "LD-00003"), "QT-00004", [("FAN-200", "10", "500", "0")])  # 5,000
    with db.write() as s:  # accepted, its order not created yet (finance decides): exposure all the same
        assert sales_svc.record_acceptance(s, "QT-00004", "alice").steps
    today = date.today()
    with db.write() as s:  # Initech owes 2,000 of an invoice 70 days past due (on hold); Globex 800, not yet due
        globex_id = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        for cid, amount, days, key in ((initech, "3000", 100, "old"), (globex_id, "800", 0, "new")):
            cash.issue(s, kind=InvoiceKind.CUSTOMER, party_id=cid, issued_on=today - timedelta(days=days),
                       currency="USD", key=key, process_id=f"p-{key}", tax=D(0),
                       lines=[cash.LineIn(sku="FAN-200", qty=D(1), unit_price=D(amount), net=D(amount))])
        cash.record_payment(s, cash.PaymentIn(direction=Direction.IN, party_id=initech, amount=D(1000),
                                              currency="USD", paid_on=today, reference="TT-1"), by="grace")
    tasks = {key: task(db, "quotation", key) for key in ("QT-00001", "QT-00002")}
    tasks |= {"SO-00001": task(db, "sales_order", "SO-00001", "credit", FINANCE),
              "QT-00003": task(db, "quotation", "QT-00003", "credit", FINANCE),
              "EC-00001": task(db, "expense_claim", "EC-00001")}
    q = ctx.with_summaries(approvals.task_query("admin", [], see_all=True)).order_by(Task.business_key)
    selects: list[str] = []

    def record(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN
            selects.append(statement)

    with db.read() as s:
        engine = s.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            rows = {t.business_key: ctx.summary(*cols, hold_after_days=30) for t, *cols in s.execute(q)}
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert len(selects) == 1
    assert rows == {
        "EC-00001": None,
        "QT-00001": {"customer": "Globex Corporation", "max_discount_pct": D(25), "over_discount_limit": True,
                     "over_credit_by": D(0), "on_credit_hold": False},
        "QT-00002": {"customer": "Globex Corporation", "max_discount_pct": D(10), "over_discount_limit": False,
                     "over_credit_by": D(0), "on_credit_hold": False},
        "QT-00003": {"customer": "Initech", "max_discount_pct": D(5), "over_discount_limit": False,
                     "over_credit_by": D("21500.00"), "on_credit_hold": True},
        # 2,000 receivable + 25,000 open + 5,000 accepted + 9,500 on 20,000
        "SO-00001": {"customer": "Initech", "max_discount_pct": None, "over_discount_limit": False,
                     "over_credit_by": D("12000.00"), "on_credit_hold": True},
        # the order itself counted once, + 5,000 accepted + 2,000 receivable
    }
    for key, task_id in tasks.items():  # the list's sums in SQL say what the task page says
        c, summary = context(db, task_id), rows[key]
        assert (c and c["credit"]["over_by"]) == (summary and summary["over_credit_by"]), key
        assert (c and c["credit"]["on_hold"]) == (summary and summary["on_credit_hold"]), key
    c = context(db, tasks["SO-00001"])
    assert c is not None and c["credit"]["oldest_overdue"]["days"] == 70 and c["credit"]["open_receivables"] == D(2000)
    assert c["credit"]["needs_approval"] and c["credit"]["hold_after_days"] == 30


def test_a_margin_that_cannot_be_known_leaves_the_rest_of_the_context(db: Database) -> None:
    opp = opportunity(db, "Globex Corporation", "LD-00001")
    quotation(db, opp, "QT-00001", [("FAN-200", "10", "500", "25")])
    with db.write() as s:  # the item was renamed in master data since: no standard cost under the quoted SKU
        s.execute(select(Item).where(Item.sku == "FAN-200")).scalar_one().sku = "FAN-200-OLD"
    c = context(db, task(db, "quotation", "QT-00001"))
    assert c is not None and c["margin"] is None and c["net_total"] == D("3750.00") and not c["credit"]["over_limit"]
