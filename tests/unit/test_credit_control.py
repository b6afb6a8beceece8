"""Credit control (issue 17, item 5): the credit check counts open receivables beside open orders and accepted
quotations, and a customer with an invoice past the dunning policy's hold days is on credit hold: any new order
needs finance's approval, even within the limit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from domain.approvals import rules as approval_rules
from domain.cash import services as cash
from domain.cash.rules import CashPolicy, Direction, DunningPolicy, InvoiceKind
from domain.core.db import Database
from domain.parties.tables import Customer
from domain.sales import rules as sales
from domain.sales import services as svc

D = Decimal
TODAY = date.today()


def customer(db: Database, name: str = "Initech") -> int:  # Initech: a 20,000 limit
    with db.read() as s:
        return s.execute(select(Customer.id).where(Customer.name == name)).scalar_one()


def invoice(db: Database, cid: int, amount: str, days_ago: int, key: str) -> str:
    with db.write() as s:  # the demo's customers have net 30 days
        return cash.issue(s, kind=InvoiceKind.CUSTOMER, party_id=cid, issued_on=TODAY - timedelta(days=days_ago),
                          currency="USD", key=key, process_id=f"p-{key}", tax=D(0),
                          lines=[cash.LineIn(sku="FAN-200", qty=D(1), unit_price=D(amount), net=D(amount))]).number


def direct_order(db: Database, cid: int, number: str, qty: str) -> sales.CreditDecision:
    with db.write() as s:
        order = svc.record_direct_order(s, sales.OrderRef(number=number, owner="alice", customer_id=cid, lines=[
            sales.OrderLineIn(sku="FAN-200", qty=D(qty), unit_price=D(500))]), f"sales-order-{number}")
        check = svc.credit_position(s, cid, order.total, excluding=order.number)
        return svc.credit_decision(s, check, order.total, "alice")


def test_the_check_counts_receivables_orders_and_accepted_quotations_and_the_hold() -> None:
    late = sales.Overdue(number="INV-00001", due_on=TODAY - timedelta(days=31), days=31)
    check = sales.credit_check(D(20000), D(5000), D(6000), D(1000), accepted_quotations=D(3000),
                               oldest_overdue=late, hold_after_days=30)
    assert (check.exposure, check.available, check.over_limit) == (D(15000), D(6000), False)
    assert check.on_hold and check.needs_approval
    edge = sales.credit_check(D(20000), D(0), D(0), D(1), oldest_overdue=late.model_copy(update={"days": 30}),
                              hold_after_days=30)
    assert not edge.on_hold and not edge.needs_approval  # past the hold days, not on them (as cash.rules.on_hold)
    assert sales.credit_check(D(1), D(0), D(0), D(2)).needs_approval
    assert sales.credit_reason(True, True) == "over the customer's credit limit and the customer is on credit hold"


def test_a_decision_recorded_before_the_hold_was_the_bare_chain() -> None:
    step = approval_rules.ChainStep(index=1, label="Finance", candidate_role="finance")
    old = sales.CreditDecision.model_validate([step.model_dump()])
    assert old.steps == [step] and old.over_limit and not old.on_hold
    assert sales.CreditDecision.model_validate([]) == sales.CreditDecision()


def test_unpaid_receivables_push_an_order_over_the_limit(db: Database) -> None:
    cid = customer(db)
    assert not direct_order(db, cid, "SO-00001", "10").steps  # 5,000 of 20,000: within, nothing owed
    invoice(db, cid, "12000", 5, "recent")  # not yet due: no hold, but it counts
    with db.read() as s:
        check = svc.credit_position(s, cid, D(5000))
    assert (check.open_receivables, check.open_orders, check.exposure) == (D(12000), D(5000), D(22000))
    assert check.over_limit and not check.on_hold
    decision = direct_order(db, cid, "SO-00002", "10")  # 12,000 owed + 5,000 open + 5,000 = 22,000
    assert [st.candidate_role for st in decision.steps] == ["finance"]
    assert decision.over_limit and not decision.on_hold
    with db.write() as s:  # paid: the room is back
        cash.record_payment(s, cash.PaymentIn(direction=Direction.IN, party_id=cid, amount=D(12000), currency="USD",
                                              paid_on=TODAY, reference="TT-1"), by="grace")
        assert svc.credit_position(s, cid, D(5000), excluding="SO-00002").open_receivables == 0


def test_a_customer_past_the_hold_days_needs_finance_even_for_a_small_order(db: Database) -> None:
    cid = customer(db)
    number = invoice(db, cid, "100", 65, "old")  # due 35 days ago, past the 30 of the default policy
    decision = direct_order(db, cid, "SO-00001", "1")  # 500 on a 20,000 limit
    assert decision.on_hold and not decision.over_limit and decision.steps
    assert decision.reason == "the customer is on credit hold"
    with db.read() as s:
        check = svc.credit_position(s, cid, D(500), excluding="SO-00001")
    assert check.oldest_overdue == sales.Overdue(number=number, due_on=TODAY - timedelta(days=35), days=35)
    assert check.hold_after_days == 30 and check.needs_approval
    with db.write() as s:  # the policy says 40 days: not yet on hold
        cash.save_policy(s, CashPolicy(dunning=DunningPolicy(hold_after_days=40)), by="admin")
        assert not svc.credit_position(s, cid, D(500), excluding="SO-00001").on_hold
    assert not direct_order(db, customer(db, "Umbrella Retail"), "SO-00002", "1").steps  # others are not held
