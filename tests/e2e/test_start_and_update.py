"""Platform.start_and_update: a submit starts its process and gets its `recorded_state` answer in one round trip
(Temporal's update-with-start). The same business key started again finds the running process (USE_EXISTING):
one run, the same answer; a refusal of the Update comes back as the DomainError it was."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.client import WorkflowExecutionStatus

from domain.core.errors import Conflict
from domain.expenses.rules import ClaimDraft, ExpenseLineIn
from domain.org.people import Actor
from tests.e2e.conftest import Stack
from workflows.common import search_attributes
from workflows.expense_claim import ExpenseClaim

CLAIM = {"lines": [{"category": "travel", "amount": "500", "currency": "USD", "date": "2026-11-02",
                    "description": "trip"}]}


async def test_resubmitting_a_business_key_finds_the_running_process(stack: Stack) -> None:
    r = await stack.as_("erin", "POST", "/api/expense-claims", json=CLAIM)
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["status"] == "pending_approval" and claim["total"] == "500.00"
    pid, number = claim["process_id"], claim["claim_id"]
    first = await stack.platform.handle(pid).describe()

    # The same document started again (a retried submit): no second process, the running one answers.
    draft = ClaimDraft(number=number, requester="erin", currency="USD", total=Decimal("500"),
                       lines=[ExpenseLineIn.model_validate(CLAIM["lines"][0])])
    attrs = search_attributes("expense_claim", number, "erin", Decimal("500"))
    status = await stack.platform.start_and_update(ExpenseClaim.run, draft, ExpenseClaim.recorded_state,
                                                   workflow_type="ExpenseClaim", id=pid, search_attributes=attrs)
    assert status == "pending_approval"
    again = await stack.platform.handle(pid).describe()
    assert again.run_id == first.run_id and again.status == WorkflowExecutionStatus.RUNNING
    runs = [w async for w in stack.platform.client.list_workflows(f"WorkflowId = '{pid}'")]
    assert len(runs) == 1

    # An Update its validator refuses (paying a claim nobody approved) is the DomainError it was, not a 500.
    with pytest.raises(Conflict):
        await stack.platform.start_and_update(ExpenseClaim.run, draft, ExpenseClaim.pay,
                                              Actor(username="grace", roles=["finance"]),
                                              workflow_type="ExpenseClaim", id=pid, search_attributes=attrs)
    r = await stack.as_("erin", "GET", f"/api/expense-claims/{number}")
    assert r.json()["status"] == "pending_approval" and r.json()["total"] == "500.00"
