"""Every refusal says the real state and what is allowed, and never contradicts itself (issue 15, class 11):
for several refusals, the state the message states is the state the document is in."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.approvals.rules import (
    ApprovalOutcome,
    DecisionRecord,
    Withdrawal,
    check_may_withdraw,
    late_withdrawal_refusal,
)
from domain.core.errors import Conflict, Forbidden
from domain.org.people import Actor
from domain.production import rules as production
from domain.purchasing import rules as purchasing
from domain.sales import rules as sales

ERIN = Actor(username="erin", roles=["employee"])


def stated(message: str, document: str) -> str:
    """The state a message says `document` is in ("claim EC-1 is approved; ..." -> "approved")."""
    m = re.match(rf"{re.escape(document)} is (?:already )?([\w ]+?)(?: \(|;|:|$)", message)
    assert m, f"no state stated for {document} in {message!r}"
    return m.group(1)


@pytest.mark.parametrize("status", ["approved", "rejected", "cancelled", "paid", "ordered"])
def test_a_cancel_refused_for_its_state_says_that_state(status: str) -> None:
    with pytest.raises(Conflict) as err:
        check_may_withdraw(ERIN, "erin", status, None, "claim EC-00001")
    assert stated(err.value.message, "claim EC-00001") == status
    assert err.value.message.endswith("only a claim pending approval can be cancelled")


def test_a_second_cancel_says_a_cancel_is_requested_not_a_status() -> None:
    with pytest.raises(Conflict) as err:
        check_may_withdraw(ERIN, "erin", "pending_approval", "erin", "requisition PR-00001")
    assert err.value.message == "a cancel of requisition PR-00001 was already requested by erin; it is being decided"
    with pytest.raises(Forbidden) as forbidden:
        check_may_withdraw(Actor(username="frank", roles=["manager"]), "erin", "pending_approval", None,
                           "claim EC-00001")
    assert forbidden.value.message == "only erin (the requester) or an admin can cancel claim EC-00001"


def test_a_late_cancel_says_what_was_decided_and_by_whom() -> None:
    at = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    for approved, verb in ((True, "approved"), (False, "rejected")):
        outcome = ApprovalOutcome(approved=approved, decided_at=at, decisions=[
            DecisionRecord(step=1, role="manager", decided_by="frank", decision="approve" if approved else "reject")])
        msg = late_withdrawal_refusal(Withdrawal(by="erin", document="claim EC-00012"), outcome)
        assert msg.startswith(f"claim EC-00012 was {verb} by frank at 2026-11-03 09:30:00 UTC; ")
        assert msg.endswith(f" {verb} claim can no longer be cancelled")


def _order(received: str) -> purchasing.OrderState:
    return purchasing.OrderState(number="PO-00001", lines=[purchasing.OrderLineState(
        sku="BOLT-M8", qty=Decimal(10), received_qty=Decimal(received), unit_price=Decimal("0.15"))])


def test_an_over_receipt_states_what_was_ordered_and_received() -> None:
    with pytest.raises(Conflict) as err:
        purchasing.apply_receipt(_order("4"), [purchasing.ReceiptLineIn(sku="BOLT-M8", qty=Decimal(7))])
    assert str(err.value) == ("over-receipt of BOLT-M8: 7 to receive, but only 6 of the 10 ordered are still open "
                              "(4 received)")
    with pytest.raises(Conflict) as err:
        purchasing.apply_receipt(_order("10"), [purchasing.ReceiptLineIn(sku="BOLT-M8", qty=Decimal(1))])
    assert stated(str(err.value), "purchase order PO-00001") == "fully received"
    assert _order("10").status == "received"


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_progress_on_an_order_not_released_says_its_state(status: str) -> None:
    state = production.ProductionState(number="MO-00001", sku="FAN-200", qty=Decimal(5), issue_method="kitted",
                                       status=status, due_date=date(2031, 1, 6))
    with pytest.raises(Conflict) as err:
        production.check_progress(state, production.ProgressIn(completed_qty=Decimal(1)))
    assert stated(str(err.value), "production order MO-00001") == status
    assert str(err.value).endswith("only a released order takes progress")


@pytest.mark.parametrize("status,says", [("accepted", "accepted"), ("pending_credit_approval", "accepted"),
                                         ("rejected", "rejected"), ("pending_approval", "pending approval")])
def test_accepting_a_quotation_not_sent_says_its_state(status: str, says: str) -> None:
    with pytest.raises(Conflict) as err:
        sales.check_acceptable("QT-00001", status, date(2031, 1, 1), date(2030, 12, 1))
    assert stated(str(err.value), "quotation QT-00001") == says
