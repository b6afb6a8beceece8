"""Every workflow replays the histories recorded from it (tests/histories, made by
`python -m tests.histories.record`): a change that would break running processes fails here.
Such a change needs `workflow.patched()`, not a re-recording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.approval import Approval
from workflows.change_approval import ChangeApproval
from workflows.customer_invoice import CustomerInvoice
from workflows.expense_claim import ExpenseClaim
from workflows.form_request import FormRequest
from workflows.inspection import Inspection
from workflows.lead_to_order import LeadToOrder
from workflows.mrp_release import MrpRelease
from workflows.notify import Notify, NotifyDigest
from workflows.order_fulfilment import OrderFulfilment
from workflows.payment import Payment
from workflows.period_close import PeriodClose
from workflows.production_order import ProductionOrder
from workflows.purchase import Purchase
from workflows.purchase_return import PurchaseReturn
from workflows.quotation import Quotation
from workflows.sales_return import SalesReturn
from workflows.supplier_invoice import SupplierInvoice

HISTORIES = Path(__file__).parent.parent / "histories"
MANIFEST: dict[str, dict[str, str]] = json.loads((HISTORIES / "manifest.json").read_text())
WORKFLOWS = [Approval, ExpenseClaim, LeadToOrder, OrderFulfilment, ProductionOrder, Purchase, Quotation, SupplierInvoice, PeriodClose,
             Payment, CustomerInvoice, SalesReturn, PurchaseReturn, ChangeApproval, Notify, NotifyDigest,
             FormRequest, Inspection, MrpRelease]


def test_every_workflow_has_recorded_histories():
    assert {m["workflow_type"] for m in MANIFEST.values()} == {w.__name__ for w in WORKFLOWS}
    files = {p.stem for p in HISTORIES.glob("*.json")} - {"manifest"}
    assert files == set(MANIFEST), "every history file is in manifest.json and vice versa"


@pytest.mark.parametrize("name", sorted(MANIFEST))
async def test_replay(name: str):
    meta = MANIFEST[name]
    history = WorkflowHistory.from_json(meta["workflow_id"], (HISTORIES / f"{name}.json").read_text())
    assert history.events, f"{name}.json holds no events"
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history)  # raises on nondeterminism
    assert result.replay_failure is None
