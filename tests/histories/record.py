"""Record the workflow histories that tests/workflows/test_replay.py replays.

    .venv/bin/python -m tests.histories.record [--suffix=_2026_12] [scenario ...]

Runs each process on the time-skipping test server with the real worker and activities against a
throw-away SQLite database of the demo company, then writes every closed workflow's history to
tests/histories/<name>.json and the workflow ids to tests/histories/manifest.json.

Re-record only when a change is meant to be incompatible (and no such process can still be
running anywhere); otherwise a failing replay test means the change needs `workflow.patched()`.
After a patched change, record the scenarios again under a suffix (`--suffix=_2026_12`): the new histories take
the patched paths, the old ones, kept beside them, still prove the old paths replay."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.platform import Platform
from api.starters import (
    approval,
    change_approval,
    customer_invoice,
    expense_claim,
    form_request,
    lead_to_order,
    order_fulfilment,
    period_close,
    production_order,
    purchase,
    purchase_return,
    sales_return,
    supplier_invoice,
)
from api.starters import payment as payment_starter
from api.starters import quotation as quotation_starter
from domain import demo
from domain.accounting import ledger
from domain.accounting.rules import RECEIVABLES, REVENUE, entry, parse_period
from domain.approvals.tables import Task
from domain.cash import bills, close
from domain.cash import purchase_returns as supplier_credits
from domain.cash import services as cash
from domain.cash.rules import AllocationIn, BillLineIn, Direction, InvoiceKind, PaymentDraft, PaymentIn
from domain.cash.tables import Invoice
from domain.core.db import Database
from domain.core.errors import Conflict
from domain.core.records import next_number
from domain.crm import rules as crm
from domain.expenses import services as expenses
from domain.forms import requests as form_requests
from domain.inventory import stock
from domain.parties.tables import Customer
from domain.processes import ids
from domain.production import rules as production
from domain.production import services as production_svc
from domain.production.tables import ProductionOrder
from domain.purchasing import services as purchasing_svc
from domain.purchasing.rules import ReceiptLineIn, RequisitionLineIn
from domain.purchasing.tables import PurchaseRequisition
from domain.sales import returns
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from domain.sales.delivery import DeliveryLineIn
from settings import venv_binary
from tests.helpers import actor, approve_chain, claim_lines, eventually, open_task_for
from worker import build_worker
from workflows.common import register_search_attributes, search_attributes
from workflows.customer_invoice import CustomerInvoice
from workflows.order_fulfilment import OrderFulfilment
from workflows.payment import Payment
from workflows.purchase_return import PurchaseReturn
from workflows.sales_return import SalesReturn

HERE = Path(__file__).parent
MANIFEST = HERE / "manifest.json"
TASK_QUEUE = "record-histories"


def claim_is(number: str, status: str) -> Callable[[Session], bool]:
    return lambda s: expenses.get(s, number).status == status


def requisition_is(number: str, status: str) -> Callable[[Session], bool]:
    return lambda s: purchasing_svc.requisition(s, number).status == status


class Recorder:
    def __init__(self, env: WorkflowEnvironment, client: Client, db: Database, suffix: str = ""):
        self.env, self.client, self.db, self.suffix = env, client, db, suffix
        self.p = Platform(client, db, TASK_QUEUE)
        self.recorded: dict[str, dict[str, str]] = {}

    async def save(self, name: str, workflow_id: str) -> None:
        name += self.suffix
        handle = self.client.get_workflow_handle(workflow_id)
        # closed, so the history is complete; a cancelled approval ends as cancelled: its history is what we want
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        history = await handle.fetch_history()
        (HERE / f"{name}.json").write_text(history.to_json() + "\n")
        desc = await handle.describe()
        self.recorded[name] = {"workflow_id": workflow_id, "workflow_type": desc.workflow_type}
        print(f"  {name}: {desc.workflow_type} {workflow_id} ({len(history.events)} events)")

    async def purchase_received_in_two_parts_after_the_overdue_alert(self) -> None:
        p, db = self.p, self.db
        out = await purchase.submit(p, "dave", [RequisitionLineIn(sku="MOTOR-200W", qty=Decimal(40),
                                                                    est_unit_price=Decimal(200))],
                                         "motors for the fan line", None)
        number = out["requisition_id"]
        await approve_chain(p, db, number, ["frank", "heidi"])
        await eventually(db, requisition_is(number, "ordered"))
        with db.read() as s:
            po_number = purchasing_svc.requisition_view(s, purchasing_svc.requisition(s, number))["purchase_order_id"]
            lead = stock.item_by_sku(s, "MOTOR-200W").lead_time_days
        ivan = actor(db, "ivan")
        await purchase.receive(p, ivan, po_number, [ReceiptLineIn(sku="MOTOR-200W", qty=Decimal(15))])
        await self.env.sleep(timedelta(days=lead + 2))
        await eventually(db, lambda s: s.execute(select(Task).where(Task.business_key == po_number,
                                                               Task.kind == "alert")).first())
        await purchase.receive(p, ivan, po_number, [ReceiptLineIn(sku="MOTOR-200W", qty=Decimal(25))])
        await eventually(db, requisition_is(number, "received"))
        pid = ids.purchase(number)
        await self.save("purchase_received", pid)
        await self.save("approval_purchase_two_steps", ids.approval(pid))

    async def purchase_rejected(self) -> None:
        out = await purchase.submit(self.p, "dave", [RequisitionLineIn(sku="BOLT-M8", qty=Decimal(1000),
                                                                         est_unit_price=Decimal("0.15"))],
                                              "bolts", None)
        number = out["requisition_id"]
        task = await open_task_for(self.db, number)
        await approval.decide(self.p, actor(self.db, "frank"), task.id, "reject", "we have enough bolts")
        await eventually(self.db, requisition_is(number, "rejected"))
        await self.save("purchase_rejected", ids.purchase(number))

    async def claim_approved_by_three_and_paid(self) -> None:
        number = (await expense_claim.submit(self.p, "erin", claim_lines("20000", 2)))["claim_id"]
        await approve_chain(self.p, self.db, number, ["frank", "grace", "heidi"])
        await eventually(self.db, claim_is(number, "approved"))
        await expense_claim.pay(self.p, actor(self.db, "grace"), number)
        pid = ids.expense_claim(number)
        await self.save("expense_claim_paid", pid)
        await self.save("approval_three_steps", ids.approval(pid))

    async def claim_cancelled(self) -> None:
        number = (await expense_claim.submit(self.p, "erin", claim_lines("2500")))["claim_id"]
        await open_task_for(self.db, number)
        await expense_claim.cancel(self.p, actor(self.db, "erin"), number)
        pid = ids.expense_claim(number)
        await self.save("expense_claim_cancelled", pid)
        await self.save("approval_cancelled", ids.approval(pid))

    async def claim_withdrawn_through_its_approval_after_one_step(self) -> None:
        """Issue 15: the cancel goes to the approval (withdraw signal), which closes grace's task and ends."""
        number = (await expense_claim.submit(self.p, "erin", claim_lines("2500")))["claim_id"]
        await approve_chain(self.p, self.db, number, ["frank"])
        await open_task_for(self.db, number)  # grace's
        await expense_claim.cancel(self.p, actor(self.db, "erin"), number)
        pid = ids.expense_claim(number)
        await self.save("expense_claim_withdrawn_through_approval", pid)
        await self.save("approval_withdrawn_after_one_step", ids.approval(pid))

    async def claim_cancel_refused_after_the_last_approval(self) -> None:
        """Issue 15: a cancel and the last approval at once, until the approval takes the approval first and the
        cancel after it (refused, on the trail); the claim is then paid."""
        from domain.core.errors import Conflict

        for _ in range(40):
            number = (await expense_claim.submit(self.p, "erin", claim_lines("800")))["claim_id"]
            task = await open_task_for(self.db, number)
            d, c = await asyncio.gather(approval.decide(self.p, actor(self.db, "frank"), task.id, "approve", "ok"),
                                        expense_claim.cancel(self.p, actor(self.db, "erin"), number),
                                        return_exceptions=True)
            if isinstance(c, Conflict) and "can no longer be cancelled" in str(c):
                await eventually(self.db, claim_is(number, "approved"))
                await expense_claim.pay(self.p, actor(self.db, "grace"), number)
                pid = ids.expense_claim(number)
                await self.save("expense_claim_cancel_refused_late", pid)
                await self.save("approval_withdrawal_too_late", ids.approval(pid))
                return
            if not isinstance(d, BaseException):  # approved, the cancel refused at once: pay it to close it
                await eventually(self.db, claim_is(number, "approved"))
                await expense_claim.pay(self.p, actor(self.db, "grace"), number)
        raise AssertionError("the race never went the late way in 40 tries")

    async def purchase_withdrawn_through_its_approval(self) -> None:
        out = await purchase.submit(self.p, "dave", [RequisitionLineIn(sku="BOLT-M8", qty=Decimal(100),
                                                                         est_unit_price=Decimal("0.15"))],
                                              "bolts", None)
        number = out["requisition_id"]
        await open_task_for(self.db, number)
        await purchase.cancel(self.p, actor(self.db, "dave"), number)
        await self.save("purchase_withdrawn_through_approval", ids.purchase(number))

    async def quotation_withdrawn_during_its_discount_approval(self) -> None:
        lead = crm.LeadIn(company="Soylent Corp", contact="Sol Roth", email="sol@soylent.example",
                          source="referral", estimated_value=Decimal("5000"))  # type: ignore[arg-type]
        lead_no = (await lead_to_order.create(self.p, "alice", lead, "alice"))["lead_id"]
        alice = actor(self.db, "alice")
        opp = await lead_to_order.qualify(self.p, crm.QualifyCommand(actor=alice, decision="qualified"), lead_no)
        assert opp is not None
        lines = [sales.QuotationLineIn(sku="FAN-200", qty=Decimal(10), unit_price=Decimal(500),
                                       discount_pct=Decimal(25))]
        number = (await quotation_starter.create(self.p, "alice", opp, lines, 14, Decimal(0)))["quotation_id"]
        await open_task_for(self.db, number)  # the sales manager's
        await lead_to_order.lose(self.p, alice, opp, "went quiet")
        await eventually(self.db, lambda s: sales_svc.quotation(s, number).status == "rejected")
        await self.save("quotation_withdrawn_during_discount_approval", ids.quotation(number))

    async def claim_reminded_then_escalated(self) -> None:
        db = self.db
        number = (await expense_claim.submit(self.p, "erin", claim_lines("500")))["claim_id"]
        task = await open_task_for(db, number)
        await self.env.sleep(timedelta(hours=49))
        await eventually(db, lambda s: s.get(Task, task.id).reminded_at is not None)
        await self.env.sleep(timedelta(hours=49))
        await eventually(db, lambda s: s.get(Task, task.id).candidate_user == "heidi")
        await approval.decide(self.p, actor(db, "heidi"), task.id, "approve", "escalated to me")
        await eventually(db, claim_is(number, "approved"))
        await expense_claim.pay(self.p, actor(db, "grace"), number)
        await self.save("approval_escalated", ids.approval(ids.expense_claim(number)))

    async def lead_reminded_qualified_then_lost(self) -> None:
        lead = crm.LeadIn(company="Wayne Enterprises", contact="Lucius Fox", email="lucius@wayne.example",
                          source="referral", estimated_value=Decimal("60000"))  # type: ignore[arg-type]
        number = (await lead_to_order.create(self.p, "bob", lead, "alice"))["lead_id"]
        await self.env.sleep(timedelta(days=3, hours=1))
        await eventually(self.db, lambda s: s.execute(select(Task).where(Task.business_key == number,
                                                                    Task.kind == "follow_up")).first())
        alice = actor(self.db, "alice")
        await lead_to_order.log_activity(self.p, crm.ActivityCommand(actor=alice, kind="call", note="intro"), number)
        opp = await lead_to_order.qualify(self.p, crm.QualifyCommand(actor=alice, decision="qualified"), number)
        assert opp is not None
        lines = [sales.QuotationLineIn(sku="FAN-200", qty=Decimal(2), unit_price=Decimal(500),
                                       discount_pct=Decimal(0))]
        quotation = (await quotation_starter.create(self.p, "alice", opp, lines, 14, Decimal(0)))["quotation_id"]
        await lead_to_order.move_stage(self.p, alice, opp, "negotiation")
        await lead_to_order.lose(self.p, alice, opp, "chose a competitor")
        await self.save("lead_to_order_lost", ids.lead(number))
        await self.save("quotation_withdrawn", ids.quotation(quotation))

    async def quotation_discount_and_credit_approved(self) -> None:
        lead = crm.LeadIn(company="Initech", contact="Bill Lumbergh", email="bill@initech.example",
                          source="partner", estimated_value=Decimal("25000"))  # type: ignore[arg-type]
        lead_no = (await lead_to_order.create(self.p, "alice", lead, "alice"))["lead_id"]
        alice = actor(self.db, "alice")
        opp = await lead_to_order.qualify(self.p, crm.QualifyCommand(actor=alice, decision="qualified"), lead_no)
        assert opp is not None
        lines = [sales.QuotationLineIn(sku="FAN-200", qty=Decimal(60), unit_price=Decimal(500),
                                       discount_pct=Decimal(20))]  # 24,000: a big discount and over credit
        number = (await quotation_starter.create(self.p, "alice", opp, lines, 14, Decimal(0)))["quotation_id"]
        await approve_chain(self.p, self.db, number, ["bob"])
        await eventually(self.db, lambda s: sales_svc.quotation(s, number).status == "sent")
        await quotation_starter.answer(self.p, alice, number, accept=True)
        await approve_chain(self.p, self.db, number, ["grace"])
        await eventually(self.db, lambda s: sales_svc.quotation(s, number).status == "accepted")
        with self.db.read() as s:
            order = sales_svc.quotation(s, number).sales_order_number
        await eventually(self.db, lambda s: sales_svc.order(s, order).status == "in_fulfilment")
        fulfilment = self.client.get_workflow_handle(ids.sales_order(order))
        await fulfilment.execute_update(OrderFulfilment.cancel, alice)
        await self.save("quotation_accepted_after_discount_and_credit", ids.quotation(number))
        await self.save("lead_to_order_won", ids.lead(lead_no))
        await self.save("order_fulfilment_reserved_then_cancelled", ids.sales_order(order))

    async def quotation_under_cost_approved_by_two_then_rejected(self) -> None:
        """Issue 15's price review: a fan under its standard cost at no discount goes to the sales manager, then
        (a loss, under the demo's 0 % threshold) to the cfo; sent, the customer says no."""
        lead = crm.LeadIn(company="Globex Corporation", contact="Hank Scorpio", email="hank@globex.example",
                          source="referral", estimated_value=Decimal("1000"))  # type: ignore[arg-type]
        lead_no = (await lead_to_order.create(self.p, "alice", lead, "alice"))["lead_id"]
        alice = actor(self.db, "alice")
        opp = await lead_to_order.qualify(self.p, crm.QualifyCommand(actor=alice, decision="qualified"), lead_no)
        assert opp is not None
        lines = [sales.QuotationLineIn(sku="FAN-200", qty=Decimal(2), unit_price=Decimal(100),
                                       discount_pct=Decimal(0))]
        number = (await quotation_starter.create(self.p, "alice", opp, lines, 14, Decimal(0)))["quotation_id"]
        await approve_chain(self.p, self.db, number, ["bob", "heidi"])
        await eventually(self.db, lambda s: sales_svc.quotation(s, number).status == "sent")
        await quotation_starter.answer(self.p, alice, number, accept=False, reason="bought elsewhere")
        await eventually(self.db, lambda s: sales_svc.quotation(s, number).status == "rejected")
        await self.save("quotation_price_review_two_steps_rejected", ids.quotation(number))

    async def order_made_late_changed_and_delivered(self) -> None:
        """A short order: MRP, two production orders (backflush housings, kitted fans) and a purchase; the
        housings run late and are finished in two reports, the fans' date is changed by approval."""
        p, db = self.p, self.db
        with db.read() as s:
            globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        so = (await order_fulfilment.create(p, "alice", globex, [sales.OrderLineIn(sku="FAN-200", qty=Decimal(10),
                                                                           unit_price=Decimal(450))], None)
              )["sales_order_id"]
        mos = await eventually(db, lambda s: {r.sku: r for r in s.execute(
            select(ProductionOrder).where(ProductionOrder.sales_order_number == so)).scalars()} or None)
        req = await eventually(db, lambda s: s.execute(select(PurchaseRequisition.number).where(
            PurchaseRequisition.sales_order_number == so)).scalar_one_or_none())
        housing, fan = mos["FAN-HOUSING"].number, mos["FAN-200"].number
        await eventually(db, lambda s: production_svc.order(s, housing).status == "released")
        await approve_chain(p, db, req, ["frank"])
        await eventually(db, requisition_is(req, "ordered"))
        # Past the housings' due date (planned back from today's date, so it moves with the day this runs): late.
        with db.read() as s:
            due = production_svc.order(s, housing).due_date
        late = datetime.combine(due + timedelta(days=2), time(0), tzinfo=UTC) - await self.env.get_current_time()
        await self.env.sleep(max(late, timedelta(days=4)))
        await eventually(db, lambda s: production_svc.order(s, housing).notice)
        carol = actor(db, "carol")
        await production_order.progress(p, carol, housing, production.ProgressIn(completed_qty=Decimal(1),
                                                                      labour_hours=Decimal("0.4")))
        await production_order.progress(p, carol, housing, production.ProgressIn(completed_qty=Decimal(2),
                                                                      labour_hours=Decimal("0.8")))
        await production_order.request_change(p, carol, fan, production.ChangeIn(due_date=date(2031, 1, 6),
                                                                          reason="customer moved the date"))
        await approve_chain(p, db, fan, ["frank"])
        await eventually(db, lambda s: production_svc.order(s, fan).due_date == date(2031, 1, 6))
        with db.read() as s:
            po_number = purchasing_svc.requisition_view(s, purchasing_svc.requisition(s, req))["purchase_order_id"]
        await purchase.receive(p, actor(db, "ivan"), po_number, [ReceiptLineIn(sku="BLADE-SET", qty=Decimal(20))])
        from tests.quality_steps import accept_all
        await accept_all(p, db, po_number)  # blade sets are inspected when they come in (issue 20)
        await eventually(db, lambda s: production_svc.order(s, fan).status == "released")
        await production_order.progress(p, carol, fan, production.ProgressIn(completed_qty=Decimal(5), labour_hours=Decimal(5)))
        await eventually(db, lambda s: sales_svc.order(s, so).lines[0].reserved_qty == Decimal(10))
        handle = self.client.get_workflow_handle(ids.sales_order(so))
        for _ in range(200):
            if await handle.query(OrderFulfilment.current_status) == "ready to deliver":
                break
            await asyncio.sleep(0.05)
        await order_fulfilment.deliver(p, actor(db, "ivan"), so)
        await self.save("order_fulfilment_produced_and_delivered", ids.sales_order(so))
        await self.save("production_order_backflush_late", ids.production_order(housing))
        await self.save("production_order_kitted_changed", ids.production_order(fan))
        await self.save("purchase_planned_by_mrp", ids.purchase(req))

    # --- issue 17: month-end close (each on a period of its own: a close's id is its period) ---------------------

    async def period_closed_after_the_cfo_approved(self) -> None:
        period = months_ago(1)
        _, view = await period_close.start(self.p, "grace", period)
        task = await open_task_for(self.db, period)
        await approval.decide(self.p, actor(self.db, "heidi"), task.id, "approve", "the checks are fine")
        await eventually(self.db, lambda s: close.status_of(s, period) == "closed")
        await self.save("period_close_closed", view["process_id"])
        await self.save("approval_period_close", ids.approval(view["process_id"]))

    async def period_close_checks_failed(self) -> None:
        period = months_ago(2)
        first = parse_period(period)[0]
        with self.db.write() as s:  # revenue to receivables with no invoice behind it: the receivables check fails
            ledger.post(s, entry("stray", {RECEIVABLES: Decimal(70)}, {REVENUE: Decimal(70)}), "manual", "X-1",
                        "record-stray", on=first)
        _, view = await period_close.start(self.p, "grace", period)
        await self.save("period_close_checks_failed", view["process_id"])
        with self.db.write() as s:  # put right, so the scenarios after this one find even books
            ledger.post(s, entry("reversal", {REVENUE: Decimal(70)}, {RECEIVABLES: Decimal(70)}), "manual", "X-1",
                        "record-stray-reversal", on=first)

    async def changes_applied_and_rejected(self) -> None:
        """Issue 18: a role's actions approved by the cfo and applied; a policy change the cfo rejected."""
        p, db = self.p, self.db
        applied = await change_approval.propose(p, "admin", "role_grants", "buyer",
                                                {"actions": ["item.edit", "supplier.create", "supplier.read"]})
        task = await open_task_for(db, f"change-{applied['change_id']}")
        await approval.decide(p, actor(db, "heidi"), task.id, "approve", "")
        await self.save("change_applied", applied["process_id"])
        await self.save("approval_change_applied", ids.approval(applied["process_id"]))
        rejected = await change_approval.propose(p, "admin", "approval_policy", "expense_claim",
                                                 {"tiers": [{"above": "0", "steps": [{"kind": "manager"}]}]})
        task = await open_task_for(db, f"change-{rejected['change_id']}")
        await approval.decide(p, actor(db, "heidi"), task.id, "reject", "keep the tiers")
        await self.save("change_rejected", rejected["process_id"])

    async def period_close_rejected_by_the_cfo(self) -> None:
        period = months_ago(3)
        _, view = await period_close.start(self.p, "grace", period)
        task = await open_task_for(self.db, period)
        await approval.decide(self.p, actor(self.db, "heidi"), task.id, "reject", "the stock count is not in")
        await eventually(self.db, lambda s: close.status_of(s, period) == "open")
        await self.save("period_close_rejected", view["process_id"])

    # --- issue 20 (F): blade sets received into quarantine, inspected ------------------------------------------

    async def blade_sets_inspected_two_rejected(self) -> None:
        """ivan receives 10 blade sets (inspected when they come in): their lot's Inspection waits for him; a result
        that does not add up is refused; he accepts 8 and rejects 2 (back to the supplier, an NCR)."""
        from api.starters import inspection
        from domain.inventory.quarantine_tables import QuarantineLot
        from domain.quality.rules import InspectionIn

        lines = [RequisitionLineIn(sku="BLADE-SET", qty=Decimal(10), est_unit_price=Decimal(18))]
        number = (await purchase.submit(self.p, "dave", lines, "blade sets", None))["requisition_id"]
        await approve_chain(self.p, self.db, number, ["frank"])
        await eventually(self.db, requisition_is(number, "ordered"))
        with self.db.read() as s:
            po = purchasing_svc.requisition_view(s, purchasing_svc.requisition(s, number))["purchase_order_id"]
        ivan = actor(self.db, "ivan")
        await purchase.receive(self.p, ivan, po, [ReceiptLineIn(sku="BLADE-SET", qty=Decimal(10))])
        await eventually(self.db, lambda s: s.execute(select(QuarantineLot).where(
            QuarantineLot.order_number == po, QuarantineLot.process_id != "")).first())
        with self.db.read() as s:
            lot = s.execute(select(QuarantineLot.number).where(QuarantineLot.order_number == po)).scalar_one()
        with contextlib.suppress(Exception):  # refused by the validator: not in the history
            await inspection.record(self.p, ivan, lot, InspectionIn(accepted_qty=Decimal(9), rejected_qty=Decimal(2),
                                                                   reason="damaged"))
        await inspection.record(self.p, ivan, lot, InspectionIn(accepted_qty=Decimal(8), rejected_qty=Decimal(2),
                                                               reason="damaged", note="two hubs cracked"))
        await eventually(self.db, requisition_is(number, "received"))
        await self.save("inspection_two_rejected", ids.inspection(lot))
        await self.save("purchase_received_into_quarantine", ids.purchase(number))

    # --- issue 17: supplier bills, three-way matched ------------------------------------------------------------

    async def _received_order(self, qty: int) -> tuple[int, str]:
        """A purchase order of `qty` motors at 200 from Volt Motors (dave's, frank approved), all received."""
        lines = [RequisitionLineIn(sku="MOTOR-200W", qty=Decimal(qty), est_unit_price=Decimal(200))]
        number = (await purchase.submit(self.p, "dave", lines, "motors", None))["requisition_id"]
        await approve_chain(self.p, self.db, number, ["frank"])
        await eventually(self.db, requisition_is(number, "ordered"))
        with self.db.read() as s:
            po = purchasing_svc.order(s, purchasing_svc.requisition_view(
                s, purchasing_svc.requisition(s, number))["purchase_order_id"])
            supplier_id, po_number = po.supplier_id, po.number
        await purchase.receive(self.p, actor(self.db, "ivan"), po_number,
                               [ReceiptLineIn(sku="MOTOR-200W", qty=Decimal(qty))])
        return supplier_id, po_number

    async def _bill(self, by: str, supplier_id: int, po: str, ref: str, qty: int, price: str) -> dict[str, Any]:
        out, _ = await supplier_invoice.enter(self.p, actor(self.db, by), bills.BillIn(
            supplier_id=supplier_id, purchase_order_id=po, supplier_ref=ref, issued_on=date(2026, 11, 20),
            lines=[BillLineIn(sku="MOTOR-200W", qty=Decimal(qty), unit_price=Decimal(price))]))
        return out

    async def _pay_bill(self, supplier_id: int, amount: str, reference: str, process_id: str) -> None:
        with self.db.write() as s:
            cash.record_payment(s, cash.PaymentIn(direction=Direction.OUT, party_id=supplier_id,
                                                  amount=Decimal(amount), currency="USD", paid_on=date(2026, 12, 1),
                                                  reference=reference), by="grace")
        await self.client.get_workflow_handle(process_id).signal("payment_allocated")

    async def bill_matched_then_paid_after_a_daily_re_read(self) -> None:
        sup, po = await self._received_order(4)
        out = await self._bill("grace", sup, po, "VM-R1", 4, "200.50")
        await self.env.sleep(timedelta(days=2))  # the daily re-read finds it still open
        await self._pay_bill(sup, "802.00", "PAY-VM-R1", out["process_id"])
        await eventually(self.db, lambda s: cash.by_number(s, out["number"]).status == "paid")
        await self.save("supplier_invoice_matched_paid", out["process_id"])

    async def bill_mismatch_approved_then_paid(self) -> None:
        sup, po = await self._received_order(10)
        out = await self._bill("dave", sup, po, "VM-R2", 10, "210")
        await approve_chain(self.p, self.db, out["number"], ["frank", "grace"])
        await eventually(self.db, lambda s: cash.by_number(s, out["number"]).status == "open")
        await self._pay_bill(sup, "2100.00", "PAY-VM-R2", out["process_id"])
        await eventually(self.db, lambda s: cash.by_number(s, out["number"]).status == "paid")
        await self.save("supplier_invoice_mismatch_approved_paid", out["process_id"])
        await self.save("approval_supplier_bill", ids.approval(out["process_id"]))

    async def bill_mismatch_rejected(self) -> None:
        sup, po = await self._received_order(2)
        out = await self._bill("dave", sup, po, "VM-R3", 2, "260")
        task = await open_task_for(self.db, out["number"])
        await approval.decide(self.p, actor(self.db, "frank"), task.id, "reject", "not the agreed price")
        await eventually(self.db, lambda s: cash.by_number(s, out["number"]).status == "rejected")
        await self.save("supplier_invoice_mismatch_rejected", out["process_id"])

    async def supplier_credit_notes_price_goods_back_and_one_refused(self) -> None:
        """A matched bill of 10 motors: a price correction on 4 of them (the bill's process is told and re-reads
        it); the bill paid; 2 motors sent back to the supplier (the credit stays the supplier's: nothing to tell);
        then a credit note of more than is left, started as a process (the API refuses it before starting one):
        refused, nothing stored."""
        sup, po = await self._received_order(10)
        bill = await self._bill("grace", sup, po, "VM-D1", 10, "200")
        dave = actor(self.db, "dave")

        def note(ref: str, qty: int, price: str, goods: bool) -> supplier_credits.CreditNoteIn:
            return supplier_credits.CreditNoteIn(
                supplier_ref=ref, issued_on=date(2026, 11, 25), reason="agreed with Volt Motors",
                return_goods=goods, lines=[supplier_credits.CreditLineIn(sku="MOTOR-200W", qty=Decimal(qty),
                                                                         unit_price=Decimal(price))])

        price = await purchase_return.record(self.p, dave, bill["number"], note("VM-DN-1", 4, "10", False))
        assert price.invoices == [bill["process_id"]], price
        await self.save("purchase_return_price_correction", price.process_id)
        await self._pay_bill(sup, "1960.00", "PAY-VM-D1", bill["process_id"])
        await eventually(self.db, lambda s: cash.by_number(s, bill["number"]).status == "paid")
        goods = await purchase_return.record(self.p, dave, bill["number"], note("VM-DN-2", 2, "200", True))
        assert goods.invoices == [] and goods.outstanding == Decimal("-400.00"), goods
        await self.save("purchase_return_goods_back", goods.process_id)
        with self.db.write() as s:
            number = next_number(s, "DN")
        draft = supplier_credits.CreditDraft(number=number, bill=bill["number"], supplier_id=sup,
                                             supplier_ref="VM-DN-3", issued_on=date(2026, 11, 25), reason="too many",
                                             lines=note("VM-DN-3", 5, "200", True).lines, return_goods=True,
                                             by="dave")
        await self.client.start_workflow(PurchaseReturn.run, draft, id=ids.supplier_credit_note(number),
                                         task_queue=TASK_QUEUE)
        await self.save("purchase_return_refused", ids.supplier_credit_note(number))

    # --- issue 17: returns and the credit hold (customers of their own: the other scenarios' credit is untouched) --

    async def _customer(self, name: str, limit: str) -> int:
        with self.db.write() as s:
            row = Customer(name=name, credit_limit=Decimal(limit), currency="USD")
            s.add(row)
            s.flush()
            return row.id

    async def sales_return_credited_and_one_refused(self) -> None:
        """6 motors delivered, 2 sent back (a credit note against the invoice); then a return of more than is left,
        started as a process (the API refuses it before starting one): refused, nothing stored."""
        p, db = self.p, self.db
        cid = await self._customer("Return Customer Ltd", "100000")
        so = (await order_fulfilment.create(p, "alice", cid, [sales.OrderLineIn(sku="MOTOR-200W", qty=Decimal(6),
                                                                                unit_price=Decimal(260))], None)
              )["sales_order_id"]
        handle = self.client.get_workflow_handle(ids.sales_order(so))
        for _ in range(200):
            if await handle.query(OrderFulfilment.current_status) == "ready to deliver":
                break
            await asyncio.sleep(0.05)
        await order_fulfilment.deliver(p, actor(db, "ivan"), so)
        done = await sales_return.record(p, actor(db, "alice"), so, returns.ReturnIn(
            lines=[returns.ReturnLineIn(sku="MOTOR-200W", qty=Decimal(2))], reason="two arrived dented"))
        await self.save("sales_return_credited", ids.sales_return(done.return_id))
        with db.write() as s:
            number = next_number(s, returns.PREFIX)
        draft = returns.ReturnDraft(number=number, sales_order=so, reason="too many", by="alice",
                                    lines=[returns.ReturnLineIn(sku="MOTOR-200W", qty=Decimal(5))])
        await self.client.start_workflow(SalesReturn.run, draft, id=ids.sales_return(number), task_queue=TASK_QUEUE)
        await self.save("sales_return_refused", ids.sales_return(number))

    async def order_of_a_customer_on_credit_hold_rejected(self) -> None:
        """A small direct order of a customer with an invoice 70 days past due: finance decides, and refuses."""
        p, db = self.p, self.db
        cid = await self._customer("Held Customer Ltd", "100000")
        with db.write() as s:
            cash.issue(s, kind=InvoiceKind.CUSTOMER, party_id=cid, issued_on=datetime.now(UTC).date() - timedelta(
                days=100), currency="USD", key="record-held-invoice", process_id="", tax=Decimal(0),
                lines=[cash.LineIn(sku="BOLT-M8", qty=Decimal(100), unit_price=Decimal(1), net=Decimal(100))])
        so = (await order_fulfilment.create(p, "alice", cid, [sales.OrderLineIn(sku="BOLT-M8", qty=Decimal(10),
                                                                                unit_price=Decimal("0.5"))], None)
              )["sales_order_id"]
        task = await open_task_for(db, so)
        assert "credit hold" in task.title, task.title
        await approval.decide(p, actor(db, "grace"), task.id, "reject", "pay the old invoice first")
        pid = ids.sales_order(so)
        await self.save("order_fulfilment_credit_hold_rejected", pid)
        await self.save("approval_credit_hold", ids.credit_approval(pid))

    # --- issue 17: payments --------------------------------------------------------------------------------

    async def payment_out_tells_a_bill_and_skips_a_missing_process(self) -> None:
        """A supplier payment oldest first over a matched bill waiting to be paid (its process is told and ends)
        and a bill whose process never ran (skipped); the rest stays as an advance."""
        sup, po = await self._received_order(3)
        out = await self._bill("grace", sup, po, "VM-P1", 3, "200")
        with self.db.write() as s:
            cash.issue(s, kind=InvoiceKind.SUPPLIER, party_id=sup, issued_on=date(2026, 12, 1), currency="USD",
                       key="record:payment-bill", process_id="no-such-process", tax=Decimal(0),
                       other_side={"6400": Decimal(100)},
                       lines=[cash.LineIn(sku="MOTOR-200W", qty=Decimal(1), unit_price=Decimal(100),
                                          net=Decimal(100))])
        res = await payment_starter.record(self.p, "grace", {
            "direction": "out", "party_id": sup, "amount": Decimal(750), "currency": "USD",
            "paid_on": date(2026, 12, 2), "reference": "PAY-VM-P1", "allocations": None})
        assert len(res.allocations) == 2 and res.unallocated == 50, res
        await eventually(self.db, lambda s: cash.by_number(s, out["number"]).status == "paid")
        await self.save("payment_out_told_a_bill", ids.payment("out", sup, "PAY-VM-P1"))

    async def payment_refused_by_its_process(self) -> None:
        """A race lost: the allocation passed the API's check, then the invoice owed less; the process's activity
        refuses, its Update answers the refusal, and the run fails with nothing stored."""
        with self.db.write() as s:
            customer = Customer(name="Payment Race Ltd", credit_limit=Decimal(10000), currency="USD")
            s.add(customer)
            s.flush()
            cid = customer.id
            inv = cash.issue(s, kind=InvoiceKind.CUSTOMER, party_id=cid, issued_on=date(2026, 12, 1),
                             currency="USD", key="record:payment-race", process_id="no-such-process",
                             tax=Decimal(0), lines=[cash.LineIn(sku="FAN-200", qty=Decimal(1),
                                                                unit_price=Decimal(100), net=Decimal(100))])
            inv_id = inv.id
        draft = PaymentDraft(by="grace", payment=PaymentIn(
            direction=Direction.IN, party_id=cid, amount=Decimal(150), currency="USD", paid_on=date(2026, 12, 2),
            reference="RACE-1", allocations=[AllocationIn(invoice_id=inv_id, amount=Decimal(150))]))
        pid = ids.payment("in", cid, "RACE-1")
        handle = await self.p.start(Payment.run, draft, workflow_type="Payment", id=pid,
                                    search_attributes=search_attributes("payment", "RACE-1", "grace"))
        with contextlib.suppress(Conflict):
            await payment_starter._answer(self.p, handle)
        await self.save("payment_refused", pid)


    # --- issue 17: partial deliveries and customer invoices ------------------------------------------------

    async def order_delivered_in_two_parts_then_invoices_paid_and_written_off(self) -> None:
        """10 motors delivered 6, then 4: two notes, two invoices, each its CustomerInvoice. The first is reminded
        (3 days before due) and then paid (the payment's signal); the second is written off, the cfo approving."""
        p, db = self.p, self.db
        with db.read() as s:
            cid = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        so = (await order_fulfilment.create(p, "alice", cid, [sales.OrderLineIn(sku="MOTOR-200W", qty=Decimal(10),
                                                                                unit_price=Decimal(260))], None)
              )["sales_order_id"]
        handle = self.client.get_workflow_handle(ids.sales_order(so))
        for _ in range(200):
            if await handle.query(OrderFulfilment.current_status) == "ready to deliver":
                break
            await asyncio.sleep(0.05)
        ivan = actor(db, "ivan")
        await order_fulfilment.deliver(p, ivan, so, [DeliveryLineIn(sku="MOTOR-200W", qty=Decimal(6))])
        await order_fulfilment.deliver(p, ivan, so)
        with db.read() as s:
            first, second = s.execute(select(Invoice.number, Invoice.process_id, Invoice.party_id, Invoice.total)
                                      .where(Invoice.sales_order_number == so).order_by(Invoice.id)).all()
        await self.env.sleep(timedelta(days=28))  # the reminder, 3 days before due
        await eventually(db, lambda s: s.execute(select(Task).where(Task.business_key == first.number,
                                                                    Task.kind == "alert")).first())
        with db.write() as s:
            cash.record_payment(s, PaymentIn(direction=Direction.IN, party_id=first.party_id, amount=first.total,
                                             currency="USD", paid_on=datetime.now(UTC).date(),
                                             reference=f"REC-{first.number}"), by="grace")
        await self.client.get_workflow_handle(first.process_id).signal(CustomerInvoice.payment_allocated)
        await customer_invoice.write_off(p, actor(db, "grace"), second.number, "the customer went bankrupt")
        task = await open_task_for(db, second.number)
        await approval.decide(p, actor(db, "heidi"), task.id, "approve", "written off")
        await self.save("order_fulfilment_two_partial_deliveries", ids.sales_order(so))
        await self.save("customer_invoice_paid_after_a_reminder", first.process_id)
        await self.save("customer_invoice_written_off", second.process_id)
        await self.save("approval_write_off", ids.write_off_approval(second.process_id))


    async def _oa_approval(self, key: str, steps: list[Any], *, dedupe: bool = False) -> tuple[str, str]:
        """An approval started as a form request starts its child (issue 19): its workflow id and process id."""
        from domain.approvals import rules as approval_rules
        from workflows.approval import Approval

        pid = f"form-request-{key}"
        req = approval_rules.ApprovalRequest(process_id=pid, process_type="form_request", business_key=key,
                                             title=f"request {key}", requester="erin", steps=steps, dedupe=dedupe)
        wid = ids.approval(pid)
        await self.client.start_workflow(Approval.run, req, id=wid, task_queue=TASK_QUEUE)
        return wid, pid

    async def _oa_open(self, wid: str, n: int, kind: str = "approval", who: str | None = None) -> list[Task]:
        def check(s: Session) -> list[Task] | None:
            rows = list(s.execute(select(Task).where(Task.workflow_id == wid, Task.status == "open",
                                                     Task.kind == kind).order_by(Task.step_label)).scalars())
            return rows if len(rows) == n and (who is None or rows[0].candidate_user == who) else None
        found: list[Task] = await eventually(self.db, check)
        return found

    async def approval_all_of_and_send_back(self) -> None:
        """Issue 19: frank adds lena before himself, then approves; an all-of step of it and finance: tom approves,
        grace sends it back, erin resubmits, the step opens again and both approve; copied to ivan, urged once."""
        from domain.approvals.rules import ChainStep

        p, db = self.p, self.db
        wid, pid = await self._oa_approval("OA-00001", [
            ChainStep(index=1, label="manager", candidate_user="frank", eligible=["frank"]),
            ChainStep(index=2, label="it and finance", mode="all", parts=[
                ChainStep(index=2, label="it", candidate_role="it"),
                ChainStep(index=2, label="finance", candidate_role="finance")])])
        (t,) = await self._oa_open(wid, 1)
        await approval.copy_to(p, actor(db, "erin"), t.id, ["ivan"])
        await approval.urge(p, actor(db, "erin"), pid)
        await approval.add_approver(p, actor(db, "frank"), t.id, "lena", "before", "legal first")
        (t,) = await self._oa_open(wid, 1, who="lena")
        await approval.decide(p, actor(db, "lena"), t.id, "approve", "")
        (t,) = await self._oa_open(wid, 1, who="frank")
        await approval.decide(p, actor(db, "frank"), t.id, "approve", "")
        fin, it = await self._oa_open(wid, 2)
        await approval.decide(p, actor(db, "tom"), it.id, "approve", "")
        await approval.send_back(p, actor(db, "grace"), fin.id, "attach the quote")
        (rs,) = await self._oa_open(wid, 1, kind="resubmit")
        await approval.resubmit(p, actor(db, "erin"), rs.id, "quote attached")
        fin, it = await self._oa_open(wid, 2)
        await approval.decide(p, actor(db, "tom"), it.id, "approve", "")
        await approval.decide(p, actor(db, "grace"), fin.id, "approve", "")
        await self.save("approval_all_of_and_send_back", wid)

    async def approval_any_of_dedupe_and_added_after(self) -> None:
        """Issue 19: an any-of step (frank or bob): frank approves, bob's task closes; frank's own next step is
        approved once (去重); heidi adds lena after herself; lena rejects."""
        from domain.approvals.rules import ChainStep

        p, db = self.p, self.db
        wid, _ = await self._oa_approval("OA-00002", [
            ChainStep(index=1, label="a manager", mode="any", parts=[
                ChainStep(index=1, label="frank", candidate_user="frank", eligible=["frank"]),
                ChainStep(index=1, label="bob", candidate_user="bob", eligible=["bob"])]),
            ChainStep(index=2, label="frank", candidate_user="frank", eligible=["frank"]),
            ChainStep(index=3, label="heidi", candidate_user="heidi", eligible=["heidi"])], dedupe=True)
        _, frank = await self._oa_open(wid, 2)
        await approval.decide(p, actor(db, "frank"), frank.id, "approve", "")
        (t,) = await self._oa_open(wid, 1, who="heidi")
        await approval.add_approver(p, actor(db, "heidi"), t.id, "lena", "after", "legal")
        await approval.decide(p, actor(db, "heidi"), t.id, "approve", "")
        (t,) = await self._oa_open(wid, 1, who="lena")
        await approval.decide(p, actor(db, "lena"), t.id, "reject", "the contract is missing")
        await self.save("approval_any_of_dedupe_and_added_after", wid)


    async def notify_mail_webhook_and_digest(self) -> None:
        """Issue 19: an event's Notify: a mail to frank (SMTP on loopback), a line of grace's digest, a webhook post
        refused once then taken; then a day of NotifyDigest (its first run, continued as new, sends grace's mail)."""
        import threading

        from aiosmtpd.controller import Controller

        from domain.notifications import services as notifications
        from settings import Settings
        from tests.e2e.conftest import free_port
        from tests.e2e.test_notifications import SECRET, Receiver, Sink, receiver_server
        from workflows.notify import Notify, NotifyDigest

        sink, rec = Sink(), Receiver(fail=1)
        smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
        smtp.start()
        http = receiver_server(rec)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        queue = "record-notify"
        try:
            with self.db.write() as s:
                notifications.set_mode(s, "grace", "digest")
                notifications.add_webhook(s, "admin", notifications.WebhookIn(
                    url=f"http://127.0.0.1:{http.server_port}/flaky", events=["task.assigned"], secret=SECRET))
                notifications.emit(s, "task.assigned", key="record-notify-1", users=["frank", "grace"],
                                   document="EC-09999", title="Approve EC-09999", link="/tasks/x")
                event_id = notifications.undispatched(s)[-1]
            settings = Settings(smtp_host="127.0.0.1", smtp_port=smtp.port)
            async with build_worker(self.client, self.db, queue, threads=4, settings=settings):
                wid = f"notify-{event_id}"
                await self.client.execute_workflow(Notify.run, event_id, id=wid, task_queue=queue)
                await self.save("notify_mail_webhook_and_digest", wid)
                digest = await self.client.start_workflow(NotifyDigest.run, id="notify-digest", task_queue=queue)
                first_run = digest.first_execution_run_id or digest.result_run_id
                await self.env.sleep(timedelta(days=1, hours=1))
                await eventually(self.db, lambda s: not notifications.digests(s))
                handle = self.client.get_workflow_handle("notify-digest", run_id=first_run)
                history = await handle.fetch_history()
                name = "notify_digest_one_day" + self.suffix
                (HERE / f"{name}.json").write_text(history.to_json() + "\n")
                self.recorded[name] = {"workflow_id": "notify-digest", "workflow_type": "NotifyDigest"}
                print(f"  {name}: NotifyDigest notify-digest ({len(history.events)} events)")
                await self.client.get_workflow_handle("notify-digest").terminate("recorded")
            assert [m["To"] for m in sink.messages] == ["frank@demo.valueloop.dev", "grace@demo.valueloop.dev"]
        finally:
            http.shutdown()
            smtp.stop()

    # --- issue 19: requests on forms ----------------------------------------------------------------------------

    def _leave(self, days: int, start_in: int) -> dict[str, str]:
        first = datetime.now(UTC).date() + timedelta(days=start_in)
        return {"leave_type": "annual", "from": first.isoformat(),
                "to": (first + timedelta(days=days - 1)).isoformat(), "days": str(days), "deputy": "grace"}

    async def form_request_leave_approved(self) -> None:
        """erin's 5-day leave: frank sends it back, erin resubmits 4 days, frank and then heidi (over 3 days)
        approve; the days leave her balance and she is out of office with grace standing in."""
        p, db = self.p, self.db
        number = (await form_request.submit(p, "erin", "leave", self._leave(5, 3)))["request_id"]
        task = await open_task_for(db, number)
        await approval.send_back(p, actor(db, "frank"), task.id, "four days, please")
        await eventually(db, lambda s: form_requests.sent_back(s, form_requests.get(s, number)))
        await form_request.resubmit(p, actor(db, "erin"), number, self._leave(4, 3))
        await approve_chain(p, db, number, ["frank", "heidi"])
        await eventually(db, lambda s: form_requests.get(s, number).status == "approved")
        await self.save("form_request_leave_approved", ids.form_request(number))

    async def form_request_v1_after_v2(self) -> None:
        """erin's business trip with an advance, filed on v1 of the form; v2 (finance on every trip) is published
        while it waits; frank approves it, as v1 says, and its advance is paid. Then one of erin's leaves is
        cancelled while it waits for frank."""
        from domain.forms import rules as forms
        from domain.forms import services as forms_svc

        p, db = self.p, self.db
        today = datetime.now(UTC).date()
        trip = (await form_request.submit(p, "erin", "business_trip", {
            "destination": "Shanghai", "from": (today + timedelta(days=5)).isoformat(),
            "to": (today + timedelta(days=8)).isoformat(), "purpose": "supplier visit", "advance": "800.00"}
        ))["request_id"]
        with db.write() as s:
            defn = forms_svc.definition(forms_svc.latest(s, "business_trip")).model_dump(mode="json")
            defn["route"] = [{"name": "Manager", "approver": "manager"}, {"name": "Finance", "approver": "role:finance"}]
            forms_svc.save(s, "admin", forms.FormTypeIn.model_validate(defn), new=False)
        await approve_chain(p, db, trip, ["frank"])
        await eventually(db, lambda s: form_requests.get(s, trip).status == "approved")
        await self.save("form_request_v1_after_v2", ids.form_request(trip))
        leave = (await form_request.submit(p, "erin", "leave", self._leave(1, 20)))["request_id"]
        await open_task_for(db, leave)
        await form_request.cancel(p, actor(db, "erin"), leave)
        await eventually(db, lambda s: form_requests.get(s, leave).status == "cancelled")
        await self.save("form_request_cancelled", ids.form_request(leave))

    # --- issue 20 (C): make to stock and batch release -------------------------------------------------------

    async def mrp_run_released_in_one_click_and_an_order_made_to_stock(self) -> None:
        """carol releases every planned order of a stored run (production orders; one requisition per supplier),
        and makes 2 fans for stock, which are released and completed."""
        from api.starters import mrp_release
        from domain.planning import services as planning
        from tests.unit.test_planning_release import open_orders

        p, db = self.p, self.db
        carol = actor(db, "carol")
        today = datetime.now(UTC).date()
        made = await production_order.for_stock(p, carol, "FAN-200", Decimal(2), today + timedelta(days=10))
        mo = made["production_order_id"]
        await eventually(db, lambda s: production_svc.order(s, mo).status == "released")
        await production_order.progress(p, carol, mo, production.ProgressIn(completed_qty=Decimal(2),
                                                                            labour_hours=Decimal(2)))
        open_orders(db, 2, start=today + timedelta(days=30))
        with db.write() as s:
            run = planning.run_open_orders(s, as_of=today, actor="carol").number
        process_id, _ = await mrp_release.release_run(p, carol, run, None)
        await self.save("mrp_release_all_planned_orders", process_id)
        await self.save("production_order_made_to_stock", ids.production_order(mo))

    # --- issue 20 (E): capacity ------------------------------------------------------------------------------

    async def production_order_moved_by_the_planner(self) -> None:
        """carol makes 3 housings for stock, moves the order (its due date a week later, the load with it), and the
        shop floor completes it."""
        from api.starters import production_moves
        from domain.production.reschedule import RescheduleIn

        p, db = self.p, self.db
        carol = actor(db, "carol")
        today = datetime.now(UTC).date()
        made = await production_order.for_stock(p, carol, "FAN-HOUSING", Decimal(3), today + timedelta(days=10))
        mo = made["production_order_id"]
        await eventually(db, lambda s: production_svc.order(s, mo).status == "released")
        release = await p.read(lambda s: production_svc.order(s, mo).release_date)
        await production_moves.reschedule(p, carol, mo, RescheduleIn(release_date=release,
                                                                     due_date=today + timedelta(days=17),
                                                                     reason="level FABRICATION"))
        await eventually(db, lambda s: production_svc.order(s, mo).due_date == today + timedelta(days=17))
        await production_order.progress(p, carol, mo, production.ProgressIn(completed_qty=Decimal(3),
                                                                            labour_hours=Decimal(1)))
        await eventually(db, lambda s: production_svc.order(s, mo).status == "completed")
        await self.save("production_order_moved_by_the_planner", ids.production_order(mo))


def months_ago(n: int) -> str:
    """The period `n` months before today's."""
    today = datetime.now(UTC).date()
    y, m = divmod(today.year * 12 + today.month - 1 - n, 12)
    return f"{y:04d}-{m + 1:02d}"


# The ones that skip time first: a refused update can stop the test server skipping.
SCENARIOS = ["purchase_received_in_two_parts_after_the_overdue_alert", "claim_reminded_then_escalated",
             "lead_reminded_qualified_then_lost", "claim_approved_by_three_and_paid", "claim_cancelled",
             "purchase_rejected", "quotation_discount_and_credit_approved", "order_made_late_changed_and_delivered",
             "quotation_under_cost_approved_by_two_then_rejected",
             # issue 15: withdrawals through the approval (no time skipped)
             "claim_withdrawn_through_its_approval_after_one_step", "claim_cancel_refused_after_the_last_approval",
             "purchase_withdrawn_through_its_approval", "quotation_withdrawn_during_its_discount_approval",
             # issue 17: supplier bills
             "bill_matched_then_paid_after_a_daily_re_read", "bill_mismatch_approved_then_paid",
             "bill_mismatch_rejected", "supplier_credit_notes_price_goods_back_and_one_refused",
             # issue 17: month-end close
             "period_closed_after_the_cfo_approved", "period_close_checks_failed", "period_close_rejected_by_the_cfo",
             # issue 17: returns and the credit hold
             "sales_return_credited_and_one_refused", "order_of_a_customer_on_credit_hold_rejected",
             # issue 17: payments
             "payment_out_tells_a_bill_and_skips_a_missing_process", "payment_refused_by_its_process",
             # issue 17: partial deliveries and customer invoices
             "order_delivered_in_two_parts_then_invoices_paid_and_written_off",
             # issue 18: changes that wait for a second approval
             "changes_applied_and_rejected",
             # issue 19: the approval engine's all-of / any-of steps and OA actions
             "approval_all_of_and_send_back", "approval_any_of_dedupe_and_added_after",
             # issue 19: notifications
             "notify_mail_webhook_and_digest",
             # issue 19: requests on forms
             "form_request_leave_approved", "form_request_v1_after_v2",
             # issue 20 (F): quality
             "blade_sets_inspected_two_rejected",
             # issue 20 (C): make to stock and batch release
             "mrp_run_released_in_one_click_and_an_order_made_to_stock",
             # issue 20 (E): capacity
             "production_order_moved_by_the_planner"]


async def main(only: list[str], suffix: str = "") -> None:
    """Record every scenario, or only those named on the command line; with a suffix, beside the others."""
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    try:
        await register_search_attributes(env.client)
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/record.db")
            db.create_all()
            with db.write() as s:
                demo.load(s)
            try:
                async with build_worker(env.client, db, TASK_QUEUE, threads=8):
                    rec = Recorder(env, env.client, db, suffix)
                    for name in only or SCENARIOS:
                        await getattr(rec, name)()
            finally:
                db.dispose()
        # Recording some scenarios keeps the other histories (recorded by older code) as they are.
        keep = (only or suffix) and MANIFEST.exists()
        manifest = {**(json.loads(MANIFEST.read_text()) if keep else {}), **rec.recorded}
        MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        print(f"wrote {len(rec.recorded)} histories and {MANIFEST.relative_to(Path.cwd())}")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    args = sys.argv[1:]
    suffixes = [a.split("=", 1)[1] for a in args if a.startswith("--suffix=")]
    asyncio.run(main([a for a in args if not a.startswith("--suffix=")], suffixes[-1] if suffixes else ""))
