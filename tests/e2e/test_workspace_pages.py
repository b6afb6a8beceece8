"""Issue 18's workspaces over HTTP, without a browser: where `/` sends each role; the buyer's requisition form,
purchase orders list and page (and its PDF); the warehouse's receipt against a purchase order (partial, and an
over-receipt refused with a sentence and nothing stored), stock adjustment (never below zero) and count; finance's
Pay task of an approved claim and the journal and trial balance pages; the quotation and delivery note PDFs."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.approvals.tables import Task
from domain.inventory import stock
from domain.inventory.tables import StockLedgerEntry
from domain.purchasing.tables import PurchaseOrder, PurchaseRequisition
from domain.sales.tables import DeliveryNote
from tests.e2e.conftest import Stack
from tests.e2e.test_finance_reports import pdf_text
from tests.e2e.test_invoices import ready_order
from tests.e2e.test_leads import qualified
from tests.e2e.test_price_review import quote
from tests.e2e.test_sales_pages import Browser, count, text

pytestmark = pytest.mark.e2e
MOTOR = "MOTOR-200W"


async def test_each_role_lands_on_its_own_work(stack: Stack) -> None:
    for user, where in (("erin", "/inbox?view=mine"), ("dave", "/purchasing"), ("ivan", "/warehouse"),
                        ("grace", "/finance"), ("carol", "/planning"), ("alice", "/pipeline"), ("frank", "/inbox"),
                        ("heidi", "/inbox"), ("admin", "/admin")):
        r = await (await Browser(stack, user).start()).get("/")
        assert r.status_code == 303 and r.headers["location"] == where, (user, r.headers.get("location"))
    admin = await (await Browser(stack, "admin").start()).get("/admin")
    assert admin.status_code == 200
    for href in ("/users", "/roles", "/setup", "/items", "/boms", "/work-centres", "/customers", "/suppliers",
                 "/price-lists", "/import", "/approval-policies", "/scoring-rules", "/incidents"):
        assert f'href="{href}"' in admin.text, href
    assert (await (await Browser(stack, "erin").start()).get("/admin")).status_code == 403
    nav = await (await Browser(stack, "dave").start()).get("/purchasing")
    assert nav.status_code == 200 and 'href="/purchasing" aria-current="page"' in nav.text
    # in Chinese, by the browser's language
    for user, url, words in (("dave", "/purchasing", "新建采购申请"), ("ivan", "/warehouse", "待收货的采购订单"),
                             ("grace", "/journal", "凭证"), ("grace", "/trial-balance", "试算平衡表"),
                             ("admin", "/admin", "公司与人员")):
        await stack.login(user)
        r = await stack.http.get(url, headers={"Cookie": f"vl_session={stack.tokens[user]}",
                                               "Accept-Language": "zh-CN,zh;q=0.9"})
        assert r.status_code == 200 and words in r.text, (url, text(r)[:300])


async def _ordered(stack: Stack, dave: Browser, qty: str = "10", price: str = "1,200.00") -> tuple[str, str]:
    """A requisition typed in the buyer's form, approved by frank; its purchase order's number."""
    before = count(stack, PurchaseRequisition)
    r = await dave.post("/purchasing/requisitions", {"sku_0": MOTOR, "qty_0": qty, "price_0": price,
                                                      "justification": "motors for the fan line"})
    assert r.status_code == 303 and r.headers["location"].startswith("/processes/"), text(r)[:400]
    assert count(stack, PurchaseRequisition) == before + 1
    with stack.db.read() as s:
        number = s.execute(select(PurchaseRequisition.number).order_by(PurchaseRequisition.id.desc())).scalars().first()
    assert number
    task = await stack.open_task("frank", number)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    for _ in range(200):
        with stack.db.read() as s:
            po = s.execute(select(PurchaseOrder.number).where(PurchaseOrder.requisition_number == number)
                           ).scalar_one_or_none()
        if po:
            return number, po
        await asyncio.sleep(0.05)
    raise AssertionError(f"no purchase order for {number}")


async def test_buyer_requisition_form_orders_list_order_page_and_pdf(stack: Stack) -> None:
    dave = await Browser(stack, "dave").start()
    page = await dave.get("/purchasing")
    assert page.status_code == 200 and 'for="sku_0"' in page.text and 'for="justification"' in page.text
    before = count(stack, PurchaseRequisition)
    r = await dave.post("/purchasing/requisitions", {"sku_0": MOTOR, "qty_0": "ten", "price_0": "200"})
    assert r.status_code == 422 and "must be a number" in text(r) and 'value="ten"' in r.text
    r = await dave.post("/purchasing/requisitions", {"sku_0": "NO-SUCH", "qty_0": "1", "price_0": "1"})
    assert r.status_code in (404, 422) and "not submitted" in text(r)
    assert count(stack, PurchaseRequisition) == before
    req, po = await _ordered(stack, dave, "3")
    listing = await dave.get("/purchase-orders?status=open")
    assert listing.status_code == 200 and po in listing.text
    assert po not in (await dave.get("/purchase-orders?status=received")).text
    assert (await dave.get("/purchase-orders?status=nonsense")).status_code == 422
    one = await dave.get(f"/purchase-orders/{po}")
    body = text(one)
    assert one.status_code == 200 and req in body and MOTOR in body and "Approval trail" in body
    assert "frank" in body and f'/purchase-orders/{po}/pdf' in one.text
    r = await dave.get(f"/purchase-orders/{po}/pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    printed = pdf_text(r.content)
    assert po in printed and MOTOR in printed and "3,600.00" in printed
    api = await stack.as_("dave", "GET", f"/api/purchase-orders/{po}/pdf")
    assert api.status_code == 200 and po in pdf_text(api.content)
    assert (await stack.as_("alice", "GET", f"/api/purchase-orders/{po}/pdf")).status_code == 404
    assert (await (await Browser(stack, "alice").start()).get(f"/purchase-orders/{po}")).status_code == 404


async def test_warehouse_receives_part_refuses_an_over_receipt_adjusts_and_counts(stack: Stack) -> None:
    dave = await Browser(stack, "dave").start()
    _req, po = await _ordered(stack, dave, "10", "200")
    ivan = await Browser(stack, "ivan").start()
    home = await ivan.get("/warehouse")
    assert home.status_code == 200 and f"/warehouse/receive/{po}" in home.text
    form = await ivan.get(f"/warehouse/receive/{po}")
    assert form.status_code == 200 and 'for="qty_0"' in form.text
    r = await ivan.post(f"/warehouse/receive/{po}", {"sku_0": MOTOR, "qty_0": "4"})
    assert r.status_code == 303 and r.headers["location"] == f"/purchase-orders/{po}", text(r)[:400]
    page = await ivan.get(r.headers["location"])
    assert "still waits for the rest" in text(page) and f"{po}-R1" in text(page)
    with stack.db.read() as s:
        assert s.execute(select(PurchaseOrder.status).where(PurchaseOrder.number == po)).scalar_one() == \
            "partially_received"
        on_hand = stock.levels(s, MOTOR)["on_hand"]
    r = await ivan.post(f"/warehouse/receive/{po}", {"sku_0": MOTOR, "qty_0": "7"})  # 6 are still to come
    assert r.status_code in (409, 422) and "Nothing was received" in text(r) and 'value="7"' in r.text
    with stack.db.read() as s:
        assert stock.levels(s, MOTOR)["on_hand"] == on_hand
    r = await ivan.post(f"/warehouse/receive/{po}", {"sku_0": MOTOR, "qty_0": ""})
    assert r.status_code == 422 and "at least one line" in text(r)
    erin = await Browser(stack, "erin").start()
    assert (await erin.post(f"/warehouse/receive/{po}", {"sku_0": MOTOR, "qty_0": "1"})).status_code == 403
    r = await ivan.post(f"/warehouse/receive/{po}", {"sku_0": MOTOR, "qty_0": "6"})
    assert r.status_code == 303
    assert "received in full" in text(await ivan.get(r.headers["location"]))

    # stock adjustments: never below zero
    with stack.db.read() as s:
        on_hand = stock.levels(s, MOTOR)["on_hand"]
    r = await ivan.post("/warehouse/adjust", {"sku": MOTOR, "qty": str(-(on_hand + 1)), "reason": "broken"})
    assert r.status_code == 409 and "not adjusted" in text(r)
    r = await ivan.post("/warehouse/adjust", {"sku": MOTOR, "qty": "2", "unit_cost": "", "reason": ""})
    assert r.status_code == 422 and "reason" in text(r)
    r = await ivan.post("/warehouse/adjust", {"sku": MOTOR, "qty": "２", "unit_cost": "200", "reason": "found"})
    assert r.status_code == 303, text(r)[:300]
    with stack.db.read() as s:
        assert stock.levels(s, MOTOR)["on_hand"] == on_hand + 2
    # a count: the difference of each item is posted with reason "count", all or nothing
    with stack.db.read() as s:
        bolts = stock.levels(s, "BOLT-M8")["on_hand"]
    r = await ivan.post("/warehouse/count", {"count_sku_0": MOTOR, "count_qty_0": str(on_hand + 5),
                                             "count_sku_1": "BOLT-M8", "count_qty_1": "x"})
    assert r.status_code == 422 and "must be a number" in text(r) and 'value="x"' in r.text
    r = await ivan.post("/warehouse/count", {"count_sku_0": MOTOR, "count_qty_0": str(on_hand + 5),
                                             "count_sku_1": "NO-SUCH", "count_qty_1": "1"})
    assert r.status_code == 404 and "not posted" in text(r)
    with stack.db.read() as s:
        assert stock.levels(s, MOTOR)["on_hand"] == on_hand + 2  # nothing of the refused count
    r = await ivan.post("/warehouse/count", {"count_sku_0": MOTOR, "count_qty_0": str(on_hand + 5),
                                             "count_sku_1": "BOLT-M8", "count_qty_1": str(bolts - 10),
                                             "count_note": "year end"})
    assert r.status_code == 303, text(r)[:300]
    with stack.db.read() as s:
        assert stock.levels(s, MOTOR)["on_hand"] == on_hand + 5
        assert stock.levels(s, "BOLT-M8")["on_hand"] == bolts - 10
        reasons = set(s.execute(select(StockLedgerEntry.reason).where(
            StockLedgerEntry.voucher_type == "stock_adjustment", StockLedgerEntry.reason.like("count%"))).scalars())
    assert reasons == {"count: year end"}
    r = await ivan.post("/warehouse/count", {"count_sku_0": MOTOR, "count_qty_0": "-1"})
    assert r.status_code == 422
    assert (await erin.post("/warehouse/adjust", {"sku": MOTOR, "qty": "1", "reason": "x"})).status_code == 403


async def test_an_approved_claim_is_finance_s_pay_task_until_paid(stack: Stack) -> None:
    line = {"category": "travel", "amount": "300.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}
    r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [line]})
    assert r.status_code == 201, r.text
    claim = r.json()["claim_id"]
    task = await stack.open_task("frank", claim)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    pay = None
    for _ in range(200):
        with stack.db.read() as s:
            pay = s.execute(select(Task).where(Task.business_key == claim, Task.kind == "pay")).scalar_one_or_none()
        if pay is not None:
            break
        await asyncio.sleep(0.05)
    assert pay is not None and pay.status == "open"
    grace = await Browser(stack, "grace").start()
    inbox = await grace.get("/inbox?view=roles")
    assert f"/tasks/{pay.id}" in inbox.text and "to pay" in text(inbox)
    assert f"/tasks/{pay.id}" in (await grace.get("/inbox?kind=pay")).text
    assert f"/tasks/{pay.id}" not in (await grace.get("/inbox?kind=approval")).text
    page = await grace.get(f"/tasks/{pay.id}")
    assert page.status_code == 200 and f'action="/expense-claims/{claim}/pay"' in page.text
    process = await grace.get(f"/processes/{pay.process_id}")
    assert process.status_code == 200 and "Pay expense claim" in text(process)
    erin = await Browser(stack, "erin").start()
    assert "payment: any finance" in text(await erin.get("/requests"))  # her list says who acts next
    assert (await erin.post(f"/expense-claims/{claim}/pay")).status_code == 403
    r = await grace.post(f"/expense-claims/{claim}/pay")
    assert r.status_code == 303, text(r)[:300]
    claim_now = (await stack.as_("erin", "GET", f"/api/expense-claims/{claim}")).json()
    assert claim_now["status"] == "paid"
    for _ in range(200):
        with stack.db.read() as s:
            if s.get(Task, pay.id).status == "completed":
                break
        await asyncio.sleep(0.05)
    with stack.db.read() as s:
        assert s.get(Task, pay.id).status == "completed"
    r = await grace.post(f"/expense-claims/{claim}/pay")
    assert r.status_code == 409 and "already paid" in text(r)

    journal = await grace.get(f"/journal?document={claim}")
    assert journal.status_code == 200 and claim in text(journal) and "300.00" in text(journal)
    assert "Nothing is posted" not in text(journal)
    assert (await grace.get("/journal?from=yesterday")).status_code == 422
    assert (await grace.get("/journal?account=2200")).status_code == 200
    tb = await grace.get("/trial-balance")
    assert tb.status_code == 200 and "Debits equal credits" in text(tb)
    assert (await erin.get("/journal")).status_code == 403 and (await erin.get("/trial-balance")).status_code == 403
    landing = await grace.get("/finance")
    assert 'href="/journal"' in landing.text and 'href="/trial-balance"' in landing.text


async def test_quotation_and_delivery_note_print_as_pdf(stack: Stack) -> None:
    opp = await qualified(stack)
    q = (await quote(stack, opp, "500"))["quotation_id"]
    alice = await Browser(stack, "alice").start()
    assert f"/quotations/{q}/pdf" in (await alice.get(f"/quotations/{q}")).text
    r = await alice.get(f"/quotations/{q}/pdf")
    assert r.status_code == 200 and q in pdf_text(r.content) and "FAN-200" in pdf_text(r.content)
    api = await stack.as_("alice", "GET", f"/api/quotations/{q}/pdf")
    assert api.status_code == 200 and "1,000.00" in pdf_text(api.content)
    assert (await stack.as_("erin", "GET", f"/api/quotations/{q}/pdf")).status_code == 404

    so = await ready_order(stack, "4")
    ivan = await Browser(stack, "ivan").start()
    assert so in (await ivan.get("/warehouse")).text
    r = await ivan.post(f"/sales-orders/{so}/deliver", {"sku_0": MOTOR, "qty_0": "", "action": "all"})
    assert r.status_code == 303, text(r)[:300]
    with stack.db.read() as s:
        note = s.execute(select(DeliveryNote.number).where(DeliveryNote.sales_order_number == so)).scalar_one()
    page = await ivan.get(f"/sales-orders/{so}")
    assert f"/delivery-notes/{note}/pdf" in page.text
    r = await ivan.get(f"/delivery-notes/{note}/pdf")
    printed = pdf_text(r.content)
    assert r.status_code == 200 and note in printed and so in printed and MOTOR in printed
    assert Decimal(4) and "4" in printed
    api = await stack.as_("ivan", "GET", f"/api/delivery-notes/{note}/pdf")
    assert api.status_code == 200
    assert (await stack.as_("erin", "GET", f"/api/delivery-notes/{note}/pdf")).status_code == 404
