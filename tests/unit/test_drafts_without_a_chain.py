"""A draft recorded before every draft carried its approval chain (an MRP requisition stored in a supply batch under
its idempotency key before 2026-12, or a record activity still retrying across a deploy) has no steps: recording it
resolves the chain from the policy, as the activities did before, instead of starting an approval with none."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from activities.expenses import ExpenseActivities
from activities.purchasing import PurchaseActivities
from domain.core.db import Database
from domain.expenses.rules import ClaimDraft, ExpenseLineIn
from domain.parties.tables import Supplier
from domain.purchasing.rules import RequisitionDraft, RequisitionLineIn


def test_a_requisition_draft_without_steps_gets_its_chain_when_recorded(db: Database) -> None:
    with db.read() as s:
        supplier = s.query(Supplier).order_by(Supplier.id).first()
        assert supplier is not None
    draft = RequisitionDraft(number="PR-90001", requester="dave", supplier_id=supplier.id, justification="old batch",
                             total=Decimal("8000"), lines=[RequisitionLineIn(sku="MOTOR-200W", qty=Decimal(40),
                                                                             est_unit_price=Decimal(200))])
    steps = PurchaseActivities(db).record_requisition(draft, "purchase-PR-90001")
    assert [(st.candidate_user, st.candidate_role) for st in steps] == [("frank", None), (None, "cfo")]


def test_a_claim_draft_without_steps_gets_its_chain_when_recorded(db: Database) -> None:
    line = ExpenseLineIn(category="travel", amount=Decimal("500"), date=date(2026, 12, 1))
    draft = ClaimDraft(number="EC-90001", requester="erin", currency="USD", total=Decimal("500"), lines=[line])
    steps = ExpenseActivities(db).record_claim(draft, "expense-claim-EC-90001")
    assert [(st.candidate_user, st.candidate_role) for st in steps] == [("frank", None)]
