"""The demo company's history through the platform (issue 17): its open invoices get their collection processes
when `valueloop up --demo` starts (api/starters/invoice_collection.py), once each; the customer of the history is
on credit hold, so finance sees even a small order of theirs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.starters import invoice_collection
from domain import demo
from domain.cash.rules import InvoiceKind
from domain.cash.tables import Invoice
from domain.processes import ids
from domain.processes.tables import Process

pytestmark = pytest.mark.e2e


async def test_the_demo_invoices_get_their_collection_processes_once(stack):
    started = await invoice_collection.start_missing(stack.platform)
    with stack.db.read() as s:
        numbers = list(s.execute(select(Invoice.number).where(Invoice.kind == InvoiceKind.CUSTOMER)
                                 .order_by(Invoice.id)).scalars())
        rows = {p.process_id: p for p in s.execute(select(Process).where(Process.type == "customer_invoice")).scalars()}
    assert started == [ids.invoice(n, stack.platform.id_prefix) for n in numbers] and len(started) == 2
    assert set(rows) == set(started) and all(r.customer == demo.HISTORY_CUSTOMER[0] for r in rows.values())
    runs = {}
    for pid in started:
        desc = await stack.platform.handle(pid).describe()
        assert desc.workflow_type == "CustomerInvoice" and desc.status is not None and desc.status.name == "RUNNING"
        runs[pid] = desc.run_id
    again = await invoice_collection.start_missing(stack.platform)
    assert again == started
    for pid in started:  # the same run, not a second one
        assert (await stack.platform.handle(pid).describe()).run_id == runs[pid]


async def test_the_history_customer_is_on_credit_hold(stack):
    customers = {c["name"]: c["id"] for c in (await stack.as_("alice", "GET", "/api/customers")).json()}
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": customers[demo.HISTORY_CUSTOMER[0]],
        "lines": [{"sku": "BOLT-M8", "qty": 10, "unit_price": "0.50"}]})
    assert r.status_code == 201, r.text
    task = await stack.open_task("grace", r.json()["sales_order_id"])
    assert "credit hold" in task["title"]
