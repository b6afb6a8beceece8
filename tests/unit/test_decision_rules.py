"""The decision rules the workflows apply to their Updates (issue 16): each a pure check_may_* function in its
context, tested here without Temporal: the allowed case, and every refusal with its kind and its sentence (the
API answers that sentence, and the workflow tests and e2e tests assert some of them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from domain.approvals import rules as approvals
from domain.core.errors import Conflict, DomainError, Forbidden, Invalid
from domain.crm import rules as crm
from domain.expenses import rules as expenses
from domain.org.people import Actor
from domain.production import rules as production
from domain.purchasing import rules as purchasing
from domain.sales import rules as sales
from workflows.common import refusing

D = Decimal


def refused(kind: type[DomainError], message: str, check: Callable[..., Any], *args: Any, **kw: Any) -> None:
    """`check(*args, **kw)` refuses with exactly this kind of error and this sentence."""
    with pytest.raises(DomainError) as err:
        check(*args, **kw)
    assert type(err.value) is kind, f"{type(err.value).__name__}: {err.value.message}"
    assert err.value.message == message


def who(username: str, *roles: str) -> Actor:
    return Actor(username=username, roles=list(roles))


def test_refusing_turns_a_domain_refusal_into_the_update_failure_and_lets_anything_else_through() -> None:
    """workflows.common.refusing: the one place where an Update's check fails the Update; the API maps `type`."""
    for error, kind in ((Forbidden("no"), "forbidden"), (Conflict("no"), "conflict"), (Invalid("no"), "invalid")):
        with pytest.raises(ApplicationError) as err, refusing():
            raise error
        assert (err.value.type, err.value.message, err.value.non_retryable) == (kind, "no", True)
        assert err.value.__cause__ is None and err.value.__suppress_context__
    with pytest.raises(KeyError), refusing():
        raise KeyError("not a refusal: a bug, which fails the workflow task and is retried")
    with refusing():
        pass


ERIN = who("erin", "employee")
FRANK = who("frank", "manager", "employee")
GRACE = who("grace", "finance", "employee")
ADMIN = who("admin", "admin")


# --- approvals: withdrawing a document ------------------------------------------------------------------------

def test_the_requester_or_an_admin_may_withdraw_a_document_pending_approval() -> None:
    for status in approvals.WITHDRAWABLE:
        approvals.check_may_withdraw(ERIN, "erin", status, None, "claim EC-00001")
        approvals.check_may_withdraw(ADMIN, "erin", status, None, "claim EC-00001")


def test_a_withdrawal_is_refused_to_others_twice_and_after_approval() -> None:
    refused(Forbidden, "only erin (the requester) or an admin can cancel claim EC-00001",
            approvals.check_may_withdraw, FRANK, "erin", "pending_approval", None, "claim EC-00001")
    refused(Conflict, "a cancel of requisition PR-00001 was already requested by erin; it is being decided",
            approvals.check_may_withdraw, ERIN, "erin", "pending_approval", "erin", "requisition PR-00001")
    refused(Conflict, "requisition PR-00001 is approved; only a requisition pending approval can be cancelled",
            approvals.check_may_withdraw, ERIN, "erin", "approved", None, "requisition PR-00001")


# --- approvals: commands on a task ----------------------------------------------------------------------------

NAMED = approvals.ChainStep(index=1, label="manager", candidate_user="frank", eligible=["frank"],
                            authority=["manager"])
FINANCE = approvals.ChainStep(index=2, label="finance", candidate_role="finance", eligible=["grace", "gina"])


def open_task(**kw: Any) -> approvals.ChainStep:
    state: dict[str, Any] = {"withdrawn": False, "withdrawal": None, "deciding": None} | kw
    return approvals.check_task_open("t1", "t1", FINANCE, **state)


def test_a_command_on_the_open_task_gets_its_step() -> None:
    assert open_task() is FINANCE


def test_a_command_on_a_task_no_longer_open_is_a_conflict() -> None:
    at = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    refused(Conflict, "the request was withdrawn; this task is no longer open", open_task, withdrawn=True)
    refused(Conflict, "claim EC-00012 was withdrawn by erin at 2026-11-03 09:30:00 UTC; nothing left to decide",
            open_task, withdrawal=approvals.Withdrawal(by="erin", document="claim EC-00012", at=at))
    refused(Conflict, "this task is already decided; the approval has moved on",
            approvals.check_task_open, "t0", "t1", FINANCE, withdrawn=False, withdrawal=None, deciding=None)
    refused(Conflict, "this task is already decided; the approval has moved on",
            approvals.check_task_open, "t1", "t1", None, withdrawn=False, withdrawal=None, deciding=None)
    for decision, verb in (("approve", "approved"), ("reject", "rejected")):
        deciding = approvals.DecideCommand(task_id="t1", actor=GRACE, decision=decision, comment="x")
        refused(Conflict, f"this task is already {verb} by grace", open_task, deciding=deciding)


def test_a_rejection_needs_a_comment() -> None:
    approvals.check_may_decide(FINANCE, GRACE, "erin", [], None, decision="approve")
    approvals.check_may_decide(FINANCE, GRACE, "erin", [], None, decision="reject", comment="too dear")
    refused(Invalid, "a rejection needs a comment saying why",
            approvals.check_may_decide, FINANCE, GRACE, "erin", [], None, decision="reject", comment="  ")
    # who may decide comes first: the requester is told that, not that a comment is missing
    refused(Forbidden, "nobody approves their own request",
            approvals.check_may_decide, FINANCE, GRACE, "grace", [], None, decision="reject")


def test_claim() -> None:
    approvals.check_may_claim(FINANCE, GRACE, "erin", ["frank"], None)
    approvals.check_may_claim(FINANCE, GRACE, "erin", [], "grace")  # claiming it again is harmless
    approvals.check_may_claim(NAMED, FRANK, "erin", [], None)
    refused(Forbidden, "erin made this request and cannot approve it",
            approvals.check_may_claim, FINANCE, who("erin", "finance"), "erin", [], None)
    refused(Forbidden, "dave does not hold the role finance",
            approvals.check_may_claim, FINANCE, who("dave", "sales"), "erin", [], None)
    # heidi may stand in for frank (a manager), but a claim is taking it as it is: the step names frank
    refused(Forbidden, "this task is for frank", approvals.check_may_claim, NAMED, who("heidi", "manager"), "erin",
            [], None)
    refused(Conflict, "this task is claimed by gina", approvals.check_may_claim, FINANCE, GRACE, "erin", [], "gina")


def test_unclaim() -> None:
    approvals.check_may_unclaim(GRACE, "grace")
    approvals.check_may_unclaim(ADMIN, "grace")
    refused(Conflict, "this task is not claimed", approvals.check_may_unclaim, GRACE, None)
    refused(Forbidden, "only gina (or an admin) can release this task", approvals.check_may_unclaim, GRACE, "gina")


def test_reassign() -> None:
    gina = who("gina", "finance")
    approvals.check_may_reassign(FINANCE, GRACE, gina, "erin", [], "grace")  # its holder
    approvals.check_may_reassign(FINANCE, GRACE, gina, "erin", [], None)  # a holder of its role, unclaimed
    approvals.check_may_reassign(FINANCE, ADMIN, gina, "erin", [], "grace")  # an admin
    approvals.check_may_reassign(NAMED, FRANK, who("heidi", "manager"), "erin", [], None)  # frank delegates
    refused(Invalid, "name the user to hand the task to", approvals.check_may_reassign, FINANCE, GRACE, None, "erin",
            [], "grace")
    refused(Forbidden, "only the task's holder, a holder of its role, or an admin can hand it on",
            approvals.check_may_reassign, FINANCE, gina, GRACE, "erin", [], "grace")
    refused(Forbidden, "only the task's holder, a holder of its role, or an admin can hand it on",
            approvals.check_may_reassign, FINANCE, who("erin", "finance"), gina, "erin", [], None)
    refused(Conflict, "the task is already with grace", approvals.check_may_reassign, FINANCE, ADMIN, GRACE, "erin",
            [], "grace")
    refused(Conflict, "the task is already with frank", approvals.check_may_reassign, NAMED, FRANK, FRANK, "erin",
            [], None)
    refused(Forbidden, "dave does not hold the role finance", approvals.check_may_reassign, FINANCE, GRACE,
            who("dave", "sales"), "erin", [], "grace")
    refused(Forbidden, "erin made this request and cannot approve it", approvals.check_may_reassign, FINANCE, GRACE,
            who("erin", "finance"), "erin", [], "grace")


# --- expenses: paying a claim ---------------------------------------------------------------------------------

def test_finance_pays_an_approved_claim_of_someone_else() -> None:
    expenses.check_may_pay(GRACE, "EC-00001", "erin", "approved", None, None)


def test_a_pay_is_refused_to_all_but_finance_to_the_requester_twice_and_before_approval() -> None:
    at = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    refused(Forbidden, "only finance can pay a claim", expenses.check_may_pay, ADMIN, "EC-00001", "erin", "approved",
            None, None)
    refused(Forbidden, "nobody pays their own claim", expenses.check_may_pay, GRACE, "EC-00001", "grace", "approved",
            None, None)
    refused(Conflict, "claim EC-00001 is being paid (by gina on 2026-11-03 09:30 UTC); nothing more to pay",
            expenses.check_may_pay, GRACE, "EC-00001", "erin", "approved", "gina", at)
    refused(Conflict, "claim EC-00001 is already paid (by gina on 2026-11-03 09:30 UTC); nothing more to pay",
            expenses.check_may_pay, GRACE, "EC-00001", "erin", "paid", "gina", at)
    refused(Conflict, "claim EC-00001 is already paid (by gina); nothing more to pay",
            expenses.check_may_pay, GRACE, "EC-00001", "erin", "paid", "gina", None)
    for status in ("pending_approval", "rejected", "cancelled"):
        refused(Conflict, f"claim EC-00001 is {status}; only an approved claim can be paid",
                expenses.check_may_pay, GRACE, "EC-00001", "erin", status, None, None)


# --- purchasing: receiving goods ------------------------------------------------------------------------------

IVAN = who("ivan", "warehouse")


def po(received: str = "0") -> purchasing.OrderState:
    return purchasing.OrderState(number="PO-00001", lines=[purchasing.OrderLineState(
        sku="BOLT-M8", qty=D(10), received_qty=D(received), unit_price=D("0.15"))])


def bolts(qty: str) -> list[purchasing.ReceiptLineIn]:
    return [purchasing.ReceiptLineIn(sku="BOLT-M8", qty=D(qty))]


def test_the_warehouse_receives_on_an_ordered_requisition() -> None:
    after = purchasing.check_may_receive(IVAN, "PR-00001", "ordered", po("4"), bolts("6"))
    assert after is not None and after.fully_received
    assert purchasing.check_may_receive(who("dave", "buyer"), "PR-00001", "approved", None, bolts("6"),
                                        placing=True) is None  # the lines wait for the order being placed


def test_a_receipt_is_refused_to_others_before_the_order_and_beyond_it() -> None:
    for placing in (False, True):
        refused(Forbidden, "only the warehouse, a buyer or an admin can receive goods", purchasing.check_may_receive,
                ERIN, "PR-00001", "ordered", po(), bolts("1"), placing=placing)
    refused(Conflict, "requisition PR-00001 is pending_approval and has no purchase order; goods are received only "
            "once it is ordered", purchasing.check_may_receive, IVAN, "PR-00001", "pending_approval", None, bolts("1"))
    refused(Conflict, "over-receipt of BOLT-M8: 7 to receive, but only 6 of the 10 ordered are still open "
            "(4 received)", purchasing.check_may_receive, IVAN, "PR-00001", "ordered", po("4"), bolts("7"))
    refused(Conflict, "purchase order PO-00001 is fully received; nothing more can be received",
            purchasing.check_may_receive, IVAN, "PR-00001", "ordered", po("10"), bolts("1"))


# --- sales: the customer's answer to a quotation --------------------------------------------------------------

ALICE = who("alice", "sales")
UNTIL = date(2026, 12, 7)


def answer(actor: Actor = ALICE, answer: str = "accept", reason: str = "", **kw: Any) -> None:
    state: dict[str, Any] = {"owner": "alice", "status": "sent", "valid_until": UNTIL, "today": date(2026, 12, 1),
                             "answered": None, "answered_by": None, "accepting": False, "withdrawn": None} | kw
    sales.check_may_answer(actor, "QT-00001", answer, reason, **state)


def test_the_salesperson_or_a_sales_manager_records_the_answer_to_a_sent_quotation() -> None:
    answer()
    answer(who("bob", "sales_manager"), "reject", "too dear")
    answer(today=UNTIL)  # its last valid day


def test_an_answer_is_refused_while_recorded_to_others_twice_and_when_not_sent() -> None:
    refused(Conflict, "quotation QT-00001 is still being recorded", answer, owner=None, valid_until=None)
    refused(Forbidden, "only alice (the salesperson), a sales manager or an admin can record the customer's answer",
            answer, who("carol", "sales"))
    refused(Conflict, "quotation QT-00001 is already accepted (by alice); only a sent quotation can be answered",
            answer, answered="accept", answered_by="alice")
    refused(Conflict, "quotation QT-00001 is already rejected (by bob); only a sent quotation can be answered",
            answer, answered="reject", answered_by="bob")
    refused(Conflict, "the customer's acceptance of quotation QT-00001 is being recorded", answer, accepting=True)
    refused(Conflict, "quotation QT-00001 was withdrawn (opportunity lost: budget cut)", answer,
            withdrawn="opportunity lost: budget cut")
    refused(Conflict, "quotation QT-00001 expired on 2026-12-07", answer, today=date(2026, 12, 8))
    refused(Conflict, "quotation QT-00001 is pending approval; only a sent quotation can be accepted", answer,
            status="pending_approval")
    refused(Invalid, "say why the customer rejected the quotation", answer, answer="reject")


# --- sales: cancelling and delivering an order ----------------------------------------------------------------

def cancel(actor: Actor = ALICE, **kw: Any) -> None:
    state: dict[str, Any] = {"cancel_by": None, "deliver_by": None, "supply_ordered": False} | kw
    status = state.pop("status", "reserving")
    sales.check_may_cancel_order(actor, "SO-00001", "alice", status, **state)


def deliver(actor: Actor = IVAN, **kw: Any) -> None:
    state: dict[str, Any] = {"cancel_by": None, "deliver_by": None, "short": {}} | kw
    status = state.pop("status", "ready to deliver")
    sales.check_may_deliver_order(actor, "SO-00001", "alice", status, **state)


def test_the_salesperson_or_a_sales_manager_cancels_an_order_before_supply_is_ordered() -> None:
    cancel()
    cancel(who("bob", "sales_manager"), status="waiting for supply")


def test_a_cancel_is_refused_to_others_twice_after_delivery_and_once_supply_is_ordered() -> None:
    refused(Forbidden, "only alice (the salesperson), a sales manager or an admin can cancel sales order SO-00001",
            cancel, IVAN)
    refused(Conflict, "a cancel of sales order SO-00001 was already requested by bob; it is being done", cancel,
            cancel_by="bob")
    refused(Conflict, "sales order SO-00001 is being delivered; only an order not yet delivered can be cancelled",
            cancel, status="ready to deliver", deliver_by="ivan")
    refused(Conflict, "sales order SO-00001 is delivered; only an order not yet delivered can be cancelled", cancel,
            status="completed", deliver_by="ivan")
    refused(Conflict, "sales order SO-00001 is waiting for supply: production and purchasing are under way for it, "
            "so it can no longer be cancelled", cancel, status="waiting for supply", supply_ordered=True)


def test_the_warehouse_or_the_salesperson_delivers_an_order_ready_to_deliver() -> None:
    deliver()
    deliver(ALICE)


def test_a_delivery_is_refused_to_others_twice_while_cancelled_and_before_ready() -> None:
    refused(Forbidden, "only the warehouse, alice (the salesperson) or an admin can deliver sales order SO-00001",
            deliver, who("bob", "sales_manager"))
    refused(Conflict, "sales order SO-00001 is already being delivered (by ivan); nothing more to deliver", deliver,
            deliver_by="ivan")
    refused(Conflict, "sales order SO-00001 is already delivered (by ivan); nothing more to deliver", deliver,
            status="completed", deliver_by="ivan")
    refused(Conflict, "sales order SO-00001 is being cancelled (by alice); it can no longer be delivered", deliver,
            cancel_by="alice")
    refused(Conflict, "sales order SO-00001 is waiting for supply (FAN-200 short 3, BOLT-M8 short 40): only an order "
            "ready to deliver can be delivered", deliver, status="waiting for supply",
            short={"FAN-200": "3", "BOLT-M8": "40"})
    refused(Conflict, "sales order SO-00001 is planning: only an order ready to deliver can be delivered", deliver,
            status="planning", short={"FAN-200": "3"})


# --- crm: the lead and its opportunity ------------------------------------------------------------------------

OPP = crm.OpportunityRef(number="OP-00001", customer_id=1, customer="Acme", owner="alice", stage="proposal")


def lead(**kw: Any) -> crm.LeadState:
    return crm.LeadState(**({"number": "LD-00001", "status": "assigned", "owner": "alice", "owner_manager": "bob"}
                            | kw))


def qualified(**kw: Any) -> crm.LeadState:
    return lead(**({"status": "proposal", "verdict": "qualified", "opportunity": OPP} | kw))


def test_the_owner_their_manager_or_an_admin_works_an_open_lead() -> None:
    crm.check_may_log_activity(ALICE, lead())
    crm.check_may_qualify(who("bob", "sales_manager"), "qualified", "", lead())
    crm.check_may_qualify(ADMIN, "disqualified", "no budget", lead())


def test_work_on_a_lead_is_refused_while_recorded_to_others_once_decided_and_while_deciding() -> None:
    for check in (crm.check_may_log_activity, lambda a, s: crm.check_may_qualify(a, "qualified", "", s)):
        refused(Conflict, "lead LD-00001 is still being recorded", check, ALICE, lead(owner=None))
        refused(Forbidden, "only alice (the lead's owner), their manager or an admin can change this lead", check,
                who("carol", "sales"), lead())
        refused(Conflict, "lead LD-00001 is already qualified", check, ALICE, lead(verdict="qualified"))
        refused(Conflict, "lead LD-00001 is being decided right now", check, ALICE, lead(settling=True))
    refused(Invalid, "say why the lead is disqualified", crm.check_may_qualify, ALICE, "disqualified", " ", lead())


def test_the_owner_works_an_open_opportunity() -> None:
    crm.check_may_quote(ALICE, "OP-00001", None, qualified())
    crm.check_may_move_stage(ALICE, "negotiation", qualified())
    crm.check_may_lose(ALICE, "budget cut", qualified())


def test_work_on_an_opportunity_is_refused_before_it_to_others_once_closed_and_while_busy() -> None:
    checks: list[Callable[[Actor, crm.LeadState], None]] = [
        lambda a, s: crm.check_may_quote(a, "OP-00001", None, s),
        lambda a, s: crm.check_may_move_stage(a, "negotiation", s),
        lambda a, s: crm.check_may_lose(a, "budget cut", s)]
    for check in checks:
        refused(Conflict, "lead LD-00001 is assigned; only a qualified lead has an opportunity", check, ALICE, lead())
        refused(Forbidden, "only alice (the lead's owner), their manager or an admin can change this lead", check,
                who("carol", "sales"), qualified())
        refused(Conflict, "opportunity OP-00001 is lost", check, ALICE, qualified(lost="budget cut"))
        refused(Conflict, "opportunity OP-00001 is won", check, ALICE, qualified(won="QT-00001"))
        refused(Conflict, "opportunity OP-00001 is won", check, ALICE,
                qualified(opportunity=OPP.model_copy(update={"stage": "won"})))
        refused(Conflict, "opportunity OP-00001 is being moved right now; try again", check, ALICE,
                qualified(busy="moved"))


def test_what_each_opportunity_command_checks_besides() -> None:
    refused(Invalid, "the quotation is for OP-00009, not this process's OP-00001", crm.check_may_quote, ALICE,
            "OP-00009", None, qualified())
    refused(Conflict, "opportunity OP-00001 is won", crm.check_may_quote, ALICE, "OP-00001", "QT-00001", qualified())
    refused(Conflict, "the opportunity is already in proposal", crm.check_may_move_stage, ALICE, "proposal",
            qualified())
    refused(Invalid, "say why the opportunity was lost", crm.check_may_lose, ALICE, "", qualified())


# --- production: progress and change requests ----------------------------------------------------------------

def mo(**kw: Any) -> production.ProductionState:
    return production.ProductionState(**({"number": "MO-00001", "sku": "FAN-200", "qty": D(10),
                                          "issue_method": "backflush", "status": "released",
                                          "due_date": date(2026, 12, 1)} | kw))


def test_the_shop_floor_reports_progress_on_a_released_order() -> None:
    after = production.check_may_report_progress(IVAN, mo(), production.ProgressIn(completed_qty=D(4)))
    assert after.completed_qty == 4 and after.status == "released"
    done = production.check_may_report_progress(who("pat", "planner"), after, production.ProgressIn(completed_qty=D(6)))
    assert done.status == "completed"


def test_progress_is_refused_to_others_and_beyond_the_rules_of_check_progress() -> None:
    refused(Forbidden, "only a planner, the warehouse or an admin can report production progress",
            production.check_may_report_progress, ERIN, mo(), production.ProgressIn(completed_qty=D(1)))
    refused(Conflict, "production order MO-00001 is not released yet: waiting for material",
            production.check_may_report_progress, IVAN, mo(status="waiting_material"),
            production.ProgressIn(completed_qty=D(1)))
    refused(Conflict, "production order MO-00001: 11 more would make 11 of 10 (only 10 left to make)",
            production.check_may_report_progress, IVAN, mo(), production.ProgressIn(completed_qty=D(11)))


def test_a_planner_asks_for_a_change_of_an_open_order() -> None:
    production.check_may_request_change(who("pat", "planner"), mo(), production.ChangeIn(qty=D(12), reason="more"),
                                        change_open=False)


def test_a_change_is_refused_to_others_while_one_waits_and_when_the_order_cannot_change() -> None:
    change = production.ChangeIn(due_date=date(2027, 1, 5), reason="later")
    refused(Forbidden, "only a planner or an admin can ask to change a production order",
            production.check_may_request_change, IVAN, mo(), change, change_open=False)
    refused(Conflict, "production order MO-00001 already has a change waiting for approval",
            production.check_may_request_change, ADMIN, mo(), change, change_open=True)
    refused(Conflict, "production order MO-00001 is completed: it cannot change any more",
            production.check_may_request_change, ADMIN, mo(status="completed"), change, change_open=False)
