"""Payments in and out through the API (POST /api/payments, its preview, the list and one payment), with the real
worker and the Payment process: oldest first or named allocations, partial payments, over-payment kept as credit
and used by the next invoice, supplier payments, a foreign-currency payment's realised exchange difference, the
same reference twice, every refusal storing nothing, and the invoices' processes told of the money."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio import workflow
from temporalio.client import WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from domain.accounting import ledger
from domain.accounting.tables import ExchangeRate, JournalEntry, Period
from domain.cash import rules
from domain.cash import services as cash
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice, Payment, PaymentAllocation
from domain.core.db import Database
from domain.core.errors import Conflict
from domain.parties.tables import Customer, Supplier
from domain.processes import ids
from domain.processes.tables import Process
from tests.e2e.conftest import Stack
from workflows.common import search_attributes
from workflows.payment import Payment as PaymentWorkflow

pytestmark = pytest.mark.e2e
D = Decimal
PAID_ON = "2026-11-30"


def party(db: Database, model: type, name: str | None = None) -> int:
    with db.read() as s:
        q = select(model.id).order_by(model.id)
        if name:
            q = q.where(model.name == name)
        return int(s.execute(q).scalars().first())


def issue(db: Database, party_id: int, amount: str, issued: date, *, kind: InvoiceKind = InvoiceKind.CUSTOMER,
          currency: str = "USD", process_id: str | None = None) -> str:
    key = uuid.uuid4().hex
    with db.write() as s:
        row = cash.issue(s, kind=kind, party_id=party_id, issued_on=issued, currency=currency, key=key,
                         process_id=process_id or f"no-process-{key}", tax=D(0),
                         # a bill for office supplies: nothing was received, so goods received not invoiced stays
                         other_side={"6400": D(amount)} if kind == InvoiceKind.SUPPLIER else None,
                         lines=[cash.LineIn(sku="FAN-200", qty=D(1), unit_price=D(amount), net=D(amount))])
        return row.number


def outstanding(db: Database, number: str) -> tuple[Decimal, str]:
    with db.read() as s:
        inv = cash.by_number(s, number)
        return inv.outstanding, inv.status


def counts(db: Database) -> tuple[int, int, int, int]:
    with db.read() as s:
        return (s.execute(select(func.count()).select_from(Payment)).scalar_one(),
                s.execute(select(func.count()).select_from(PaymentAllocation)).scalar_one(),
                s.execute(select(func.count()).select_from(JournalEntry)).scalar_one(),
                s.execute(select(func.count()).select_from(Process).where(Process.type == "payment")).scalar_one())


def reconciled(db: Database) -> None:
    with db.read() as s:
        rec = cash.reconcile(s)
        tb = ledger.trial_balance(s)
    assert rec.balanced, rec.rows
    assert tb["debit_total"] == tb["credit_total"]


def body(party_id: int, amount: str, reference: str, *, direction: str = "in", currency: str = "USD",
         paid_on: str = PAID_ON, allocations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"direction": direction, "party_id": party_id, "amount": amount, "currency": currency,
                           "paid_on": paid_on, "reference": reference}
    if allocations is not None:
        out["allocations"] = allocations
    return out


async def pay(stack: Stack, b: dict[str, Any], status: int = 201) -> dict[str, Any]:
    r = await stack.as_("grace", "POST", "/api/payments", json=b)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_oldest_first_partial_and_over_payment_kept_as_credit_for_the_next_invoice(stack: Stack):
    db = stack.db
    cid = party(db, Customer, "Globex Corporation")
    first = issue(db, cid, "600", date(2026, 10, 1))
    second = issue(db, cid, "400", date(2026, 11, 1))
    r = await stack.as_("grace", "GET", "/api/payments/open-invoices", params={"direction": "in", "party_id": cid})
    assert [i["number"] for i in r.json()] == [first, second]
    # the preview plans without storing
    before = counts(db)
    r = await stack.as_("grace", "POST", "/api/payments/preview", json=body(cid, "800", "TT-1"))
    assert r.status_code == 200, r.text
    assert r.json() == {"allocations": [{"invoice_id": first, "number": first, "amount": "600.00"},
                                        {"invoice_id": second, "number": second, "amount": "200.00"}],
                        "unallocated": "0.00"}
    assert counts(db) == before
    res = await pay(stack, body(cid, "800", "TT-1"))
    assert [(a["invoice_id"], D(a["amount"])) for a in res["allocations"]] == [(first, D(600)), (second, D(200))]
    assert D(res["unallocated"]) == 0
    assert outstanding(db, first) == (D(0), InvoiceStatus.PAID)
    assert outstanding(db, second) == (D(200), InvoiceStatus.OPEN)  # partly paid
    over = await pay(stack, body(cid, "500", "TT-2"))
    assert [(a["invoice_id"], D(a["amount"])) for a in over["allocations"]] == [(second, D(200))]
    assert D(over["unallocated"]) == D(300)  # the customer's credit
    reconciled(db)
    third = issue(db, cid, "1000", date(2026, 12, 1))  # the credit is used at once
    assert outstanding(db, third) == (D(700), InvoiceStatus.OPEN)
    reconciled(db)
    r = await stack.as_("grace", "GET", f"/api/payments/{over['payment_id']}")
    assert r.status_code == 200, r.text
    view = r.json()
    assert D(view["unallocated"]) == 0 and view["direction"] == "in" and view["party_id"] == cid
    assert [(a["invoice_id"], D(a["amount"])) for a in view["allocations"]] == [(second, D(200)), (third, D(300))]
    assert len(view["journal"]) == 2  # the receipt, and its credit set against the third invoice
    r = await stack.as_("grace", "GET", "/api/payments", params={"direction": "in", "party_id": cid})
    assert {p["payment_id"] for p in r.json()} == {res["payment_id"], over["payment_id"]}
    r = await stack.as_("grace", "GET", "/api/payments", params={"direction": "out"})
    assert r.json() == []
    # each payment's process row, completed
    with db.read() as s:
        procs = s.execute(select(Process).where(Process.type == "payment")).scalars().all()
        assert sorted(p.business_key for p in procs) == sorted([res["payment_id"], over["payment_id"]])
        assert {p.status for p in procs} == {"completed"}


async def test_named_allocations_by_number_or_id(stack: Stack):
    db = stack.db
    cid = party(db, Customer, "Globex Corporation")
    old = issue(db, cid, "600", date(2026, 10, 1))
    new = issue(db, cid, "400", date(2026, 11, 1))
    with db.read() as s:
        new_id = cash.by_number(s, new).id
    res = await pay(stack, body(cid, "500", "NAMED-1", allocations=[{"invoice_id": new_id, "amount": "400"},
                                                                    {"invoice_id": old, "amount": "50.50"}]))
    assert [(a["invoice_id"], D(a["amount"])) for a in res["allocations"]] == [(new, D(400)), (old, D("50.50"))]
    assert D(res["unallocated"]) == D("49.50")
    assert outstanding(db, new) == (D(0), InvoiceStatus.PAID)
    assert outstanding(db, old) == (D("549.50"), InvoiceStatus.OPEN)
    reconciled(db)


async def test_the_same_reference_from_the_same_party_twice_is_the_first_payment(stack: Stack):
    db = stack.db
    cid = party(db, Customer, "Globex Corporation")
    issue(db, cid, "600", date(2026, 10, 1))
    one = await pay(stack, body(cid, "100", "DUP-1"))
    again = await pay(stack, body(cid, "250", "DUP-1"), status=200)
    assert again == one
    # at the same moment: one payment still
    both = await asyncio.gather(*(stack.as_("grace", "POST", "/api/payments", json=body(cid, "70", "DUP-2"))
                                  for _ in range(3)))
    assert {r.status_code for r in both} <= {200, 201}
    assert len({r.json()["payment_id"] for r in both}) == 1
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Payment).where(Payment.party_id == cid)).scalar_one() == 2
        assert cash.open_receivables(s, cid) == D(600 - 100 - 70)
    reconciled(db)


def _closed(db: Database) -> None:
    with db.write() as s:
        s.add(Period(period="2026-09", status="closed"))


@pytest.mark.parametrize(("case", "status", "says"), [
    ("above_outstanding", 409, "more than invoice"),
    ("above_payment", 409, "more than the payment"),
    ("zero", 422, "amount"),
    ("negative", 422, "amount"),
    ("unknown_invoice", 404, "no invoice INV-99999"),
    ("unknown_invoice_id", 404, "no invoice 99999"),
    ("unknown_party", 404, "no customer 99999"),
    ("unknown_supplier", 404, "no supplier 99999"),
    ("missing_rate", 422, "NOK on or before 2026-11-30"),
    ("closed_period", 409, "period 2026-09 is closed"),
    ("invoice_of_another_party", 409, "not open for this party"),
    ("named_twice", 422, "named twice"),
])
async def test_bad_payments_are_refused_with_a_sentence_and_nothing_is_stored(stack: Stack, case: str, status: int,
                                                                               says: str):
    db = stack.db
    cid = party(db, Customer, "Globex Corporation")
    other = party(db, Customer, "Initech")
    number = issue(db, cid, "600", date(2026, 9, 1))
    theirs = issue(db, other, "100", date(2026, 9, 1))
    _closed(db)  # after the invoices: September is closed from here on
    before = counts(db)
    b = {
        "above_outstanding": body(cid, "1000", "BAD", allocations=[{"invoice_id": number, "amount": "700"}]),
        "above_payment": body(cid, "100", "BAD", allocations=[{"invoice_id": number, "amount": "150"}]),
        "zero": body(cid, "0", "BAD"),
        "negative": body(cid, "-5", "BAD"),
        "unknown_invoice": body(cid, "10", "BAD", allocations=[{"invoice_id": "INV-99999", "amount": "1"}]),
        "unknown_invoice_id": body(cid, "10", "BAD", allocations=[{"invoice_id": 99999, "amount": "1"}]),
        "unknown_party": body(99999, "10", "BAD"),
        "unknown_supplier": body(99999, "10", "BAD", direction="out"),
        "missing_rate": body(cid, "10", "BAD", currency="NOK"),
        "closed_period": body(cid, "10", "BAD", paid_on="2026-09-30"),
        "invoice_of_another_party": body(cid, "10", "BAD", allocations=[{"invoice_id": theirs, "amount": "1"}]),
        "named_twice": body(cid, "10", "BAD", allocations=[{"invoice_id": number, "amount": "1"},
                                                           {"invoice_id": number, "amount": "2"}]),
    }[case]
    for url in ("/api/payments/preview", "/api/payments"):
        r = await stack.as_("grace", "POST", url, json=b)
        assert r.status_code == status, r.text
        assert says in r.json()["detail"], r.json()
    assert counts(db) == before
    assert outstanding(db, number) == (D(600), InvoiceStatus.OPEN)
    reconciled(db)


async def test_only_finance_records_payments(stack: Stack):
    cid = party(stack.db, Customer, "Globex Corporation")
    before = counts(stack.db)
    for who in ("alice", "heidi"):
        r = await stack.as_(who, "POST", "/api/payments", json=body(cid, "10", "X"))
        assert r.status_code == 403, r.text
    assert counts(stack.db) == before


async def test_a_supplier_payment_goes_out_against_its_bills(stack: Stack):
    db = stack.db
    sid = party(db, Supplier)
    bill = issue(db, sid, "900", date(2026, 10, 5), kind=InvoiceKind.SUPPLIER)
    with db.read() as s:
        bank_before = ledger.balances(s).get("1000", D(0))
    res = await pay(stack, body(sid, "1000", "WIRE-77", direction="out"))
    assert [(a["invoice_id"], D(a["amount"])) for a in res["allocations"]] == [(bill, D(900))]
    assert D(res["unallocated"]) == D(100)  # an advance to the supplier
    assert outstanding(db, bill) == (D(0), InvoiceStatus.PAID)
    with db.read() as s:
        bal = ledger.balances(s)
        assert bal.get("1000", D(0)) == bank_before - D(1000)
        assert bal.get("1400", D(0)) == D(100)
    # a customer's reference of the same text is another payment
    cid = party(db, Customer, "Globex Corporation")
    assert (await pay(stack, body(cid, "5", "WIRE-77")))["payment_id"] != res["payment_id"]
    reconciled(db)


async def test_a_foreign_currency_payment_posts_the_realised_exchange_difference(stack: Stack):
    db = stack.db
    cid = party(db, Customer, "Globex Corporation")
    with db.write() as s:
        s.add_all([ExchangeRate(currency="SEK", valid_from=date(2026, 10, 1), rate=D("1.10")),
                   ExchangeRate(currency="SEK", valid_from=date(2026, 11, 15), rate=D("1.05"))])
    usd = issue(db, cid, "300", date(2026, 9, 1))
    sek = issue(db, cid, "1000", date(2026, 10, 20), currency="SEK")
    res = await pay(stack, body(cid, "400", "SEK-1", currency="SEK"))  # only SEK invoices: the USD one is older
    assert [(a["invoice_id"], D(a["amount"])) for a in res["allocations"]] == [(sek, D(400))]
    await pay(stack, body(cid, "600", "SEK-2", currency="SEK"))
    assert outstanding(db, sek) == (D(0), InvoiceStatus.PAID)
    assert outstanding(db, usd) == (D(300), InvoiceStatus.OPEN)
    with db.read() as s:
        assert ledger.balances(s)["7000"] == D("50.00")  # 1,100 booked, 1,050 received: a loss of 50
    r = await stack.as_("grace", "GET", f"/api/payments/{res['payment_id']}")
    assert [D(a["exchange_difference"]) for a in r.json()["allocations"]] == [D("20.00")]
    r = await stack.as_("grace", "POST", "/api/payments", json=body(cid, "10", "SEK-3", currency="SEK",
                                                                     allocations=[{"invoice_id": usd, "amount": "1"}]))
    assert r.status_code == 422 and "is in USD" in r.json()["detail"]
    reconciled(db)


async def test_a_refusal_found_by_the_process_stores_nothing_and_the_reference_can_be_recorded_again(stack: Stack):
    """A race: the API's check passed, then another payment took the invoice's outstanding; the process's activity
    refuses, the Update answers the refusal, the run fails, and the same reference is recorded again later."""
    db, p = stack.db, stack.platform
    cid = party(db, Customer, "Globex Corporation")
    number = issue(db, cid, "600", date(2026, 10, 1))
    with db.read() as s:
        inv_id = cash.by_number(s, number).id
    draft = rules.PaymentDraft(by="grace", payment=rules.PaymentIn(
        direction=rules.Direction.IN, party_id=cid, amount=D(700), currency="USD", paid_on=date(2026, 11, 30),
        reference="RACE-1", allocations=[rules.AllocationIn(invoice_id=inv_id, amount=D(700))]))
    pid = ids.payment("in", cid, "RACE-1", p.id_prefix)
    before = counts(db)
    handle = await p.start(PaymentWorkflow.run, draft, workflow_type="Payment", id=pid,
                           search_attributes=search_attributes("payment", "RACE-1", "grace"))
    with pytest.raises(Conflict, match="more than invoice"):
        await p.recorded(handle, PaymentWorkflow.recorded, rules.PaymentResult)
    assert counts(db) == before and outstanding(db, number) == (D(600), InvoiceStatus.OPEN)
    desc = await handle.describe()
    assert desc.status is not None and desc.status.name == "FAILED"
    res = await pay(stack, body(cid, "600", "RACE-1"))
    assert [(a["invoice_id"], D(a["amount"])) for a in res["allocations"]] == [(number, D(600))]
    assert (await pay(stack, body(cid, "600", "RACE-1"), status=200)) == res
    reconciled(db)


@workflow.defn(name="StubInvoice")
class StubInvoice:
    """Stands in for an invoice's process: it waits for `payment_allocated` and ends."""

    def __init__(self) -> None:
        self.told = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.told > 0)
        return self.told

    @workflow.signal
    def payment_allocated(self) -> None:
        self.told += 1


async def test_the_invoices_processes_are_told_and_an_ended_one_is_skipped(stack: Stack) -> None:
    db, client = stack.db, stack.platform.client
    cid = party(db, Customer, "Globex Corporation")
    queue = f"stub-{uuid.uuid4()}"
    waiting, gone = f"{queue}/invoice-a", f"{queue}/invoice-b"
    a = issue(db, cid, "100", date(2026, 10, 1), process_id=waiting)
    b = issue(db, cid, "100", date(2026, 10, 2), process_id=gone)  # no process runs under its id
    async with Worker(client, task_queue=queue, workflows=[StubInvoice], workflow_runner=UnsandboxedWorkflowRunner()):
        handle = await client.start_workflow(StubInvoice.run, id=waiting, task_queue=queue)
        res = await pay(stack, body(cid, "200", "TELL-1"))
        assert {x["invoice_id"] for x in res["allocations"]} == {a, b}
        assert await asyncio.wait_for(handle.result(), 20) == 1
    with db.read() as s:
        proc = s.execute(select(Process).where(Process.business_key == res["payment_id"])).scalar_one()
    payment_handle: WorkflowHandle[Any, rules.PaymentResult] = client.get_workflow_handle(
        proc.process_id, result_type=rules.PaymentResult)
    result = await payment_handle.result()
    assert sorted(result.invoices) == sorted([waiting, gone])
    # asked after its process ended, the answer is still the payment (its run's result)
    assert await stack.platform.recorded(payment_handle, PaymentWorkflow.recorded, rules.PaymentResult) == result
    with db.read() as s:
        assert s.execute(select(Invoice.status).where(Invoice.number == a)).scalar_one() == InvoiceStatus.PAID


# --- the pages ------------------------------------------------------------------------------------------------

async def test_the_payment_page_previews_then_records_and_shows_the_payment(stack: Stack):
    from tests.e2e.test_sales_pages import Browser, text

    db = stack.db
    cid = party(db, Customer, "Globex Corporation")
    first = issue(db, cid, "600", date(2026, 10, 1))
    second = issue(db, cid, "400", date(2026, 11, 1))
    grace = await Browser(stack, "grace").start()
    before = counts(db)
    page = await grace.get(f"/payments/new?party=in:{cid}")
    assert page.status_code == 200, page.text
    assert first in text(page) and second in text(page) and f'name="alloc_{first}"' in page.text
    form = {"direction": "in", "party_id": str(cid), "amount": "1,000.50", "currency": "USD",
            "paid_on": PAID_ON, "reference": "PAGE-1", f"alloc_{first}": "", f"alloc_{second}": ""}
    r = await grace.post("/payments/new", {**form, "action": "preview"})
    assert r.status_code == 200, text(r)
    assert "oldest first" in text(r) and "0.50 USD" in text(r)
    assert counts(db) == before  # a preview stores nothing
    r = await grace.post("/payments/new", {**form, f"alloc_{second}": "400", f"alloc_{first}": "700",
                                           "action": "preview"})
    assert r.status_code == 409 and "more than invoice" in text(r), text(r)
    r = await grace.post("/payments/new", {**form, f"alloc_{second}": "400", "action": "record"})
    assert r.status_code == 303, text(r)
    number = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    assert outstanding(db, second) == (D(0), InvoiceStatus.PAID) and outstanding(db, first)[0] == D(600)
    shown = text(await grace.get(f"/payments/{number}"))
    assert second in shown and "600.50" in shown  # what is left is credit
    listed = text(await grace.get("/payments?direction=in"))
    assert number in listed and "PAGE-1" in listed
    alice = await Browser(stack, "alice").start()
    assert (await alice.get("/payments")).status_code == 403
    assert (await alice.get(f"/payments/new?party=in:{cid}")).status_code == 403
    reconciled(db)
