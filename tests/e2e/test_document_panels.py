"""Attachments and comments on every document page (issue 19): a lead, its opportunity and quotation, the sales
order it won, that order's invoice and the customer's payment, a production order and a supplier bill each show the
attachments panel and the comments timeline to someone who may see the document; a comment posted from the sales
order's and the bill's page lands in their timeline. And the built-in requests tell their requester when decided:
an approved expense claim and a rejected (or approved) purchase requisition each leave one request.decided row in the
outbox."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from domain.cash.tables import Invoice
from domain.notifications.tables import NotificationEvent
from tests.e2e.conftest import Stack
from tests.e2e.test_invoices import customer, ready_order
from tests.e2e.test_payments import body, pay
from tests.e2e.test_production_pages import short_order
from tests.e2e.test_sales_pages import Browser, flash, new_lead, quotation_status, text
from tests.e2e.test_supplier_bills import bill, received_order
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

CLAIM = {"lines": [{"category": "travel", "amount": "120.00", "currency": "USD", "date": "2026-11-02",
                    "description": "Taxi"}]}


def has_panels(page: Any, document: str) -> bool:
    return (page.status_code == 200 and 'id="attachments"' in page.text
            and 'action="/attachments/upload"' in page.text and f'name="document" value="{document}"' in page.text
            and f'<label for="comment-text-{document}"' in page.text and 'id="comments"' in page.text)


async def test_every_document_page_shows_attachments_and_comments_to_who_may_see_it(stack: Stack) -> None:
    alice, bob, carol, dave, grace = [await Browser(stack, u).start()
                                      for u in ("alice", "bob", "carol", "dave", "grace")]
    lead = await new_lead(alice)
    r = await alice.post(f"/leads/{lead}/qualify", {"decision": "qualified", "customer_id": ""})
    opp = re.fullmatch(r"/opportunities/(OP-\d+)", r.headers["location"]).group(1)  # type: ignore[union-attr]
    r = await alice.post(f"/opportunities/{opp}/quotations", {
        "sku": ["FAN-200", ""], "qty": ["2", ""], "unit_price": ["500", ""], "discount_pct": ["", ""],
        "valid_days": "14", "tax_rate": "0"})
    assert r.status_code == 303, text(r)
    quote = re.fullmatch(r"/quotations/(QT-\d+)", r.headers["location"]).group(1)  # type: ignore[union-attr]
    await quotation_status(alice, quote, "sent")
    for url, document in ((f"/leads/{lead}", lead), (f"/opportunities/{opp}", opp), (f"/quotations/{quote}", quote)):
        assert has_panels(await alice.get(url), document), url
        assert has_panels(await bob.get(url), document), url  # the sales manager sees every one of them

    so = await ready_order(stack, "2")
    r = await stack.as_("alice", "POST", f"/api/sales-orders/{so}/deliver", json={})
    assert r.status_code in (200, 201), r.text
    inv = await eventually(stack.db, lambda s: s.execute(select(Invoice.number).where(
        Invoice.sales_order_number == so)).scalar_one_or_none(), limit=30)
    payment = (await pay(stack, body(await customer(stack), "520.00", "DOC-PANELS-1")))["payment_id"]
    for who, url, document in ((alice, f"/sales-orders/{so}", so), (grace, f"/invoices/{inv}", inv),
                               (grace, f"/payments/{payment}", payment)):
        page = await who.get(url)
        assert has_panels(page, document), (url, page.status_code)

    sup, po = await received_order(stack, qty=2)
    r = await stack.as_("grace", "POST", "/api/supplier-invoices", json=bill(sup, po, "DP-1", 2, "200.00"))
    assert r.status_code == 201, r.text
    bill_no = r.json()["number"]
    assert has_panels(await grace.get(f"/bills/{bill_no}"), bill_no)

    _, housing, _ = await short_order(stack)
    assert has_panels(await carol.get(f"/production-orders/{housing}"), housing)
    # dave (a buyer) reads production orders too, and so sees their files and comments
    assert has_panels(await dave.get(f"/production-orders/{housing}"), housing)

    for who, url, document, note in ((alice, f"/sales-orders/{so}", so, "@grace the customer asks for a copy"),
                                     (grace, f"/bills/{bill_no}", bill_no, "@dave is DP-1 the agreed price?")):
        r = await who.post("/comments", {"document": document, "text": note, "back": url})
        assert r.status_code == 303 and r.headers["location"] == f"{url}#comments", r.text
        assert flash(r)["msg"].startswith("Comment posted"), flash(r)
        assert note in text(await who.get(url))


async def test_an_approved_claim_and_a_rejected_requisition_tell_their_requester(stack: Stack) -> None:
    r = await stack.as_("erin", "POST", "/api/expense-claims", json=CLAIM)
    claim = r.json()["claim_id"]
    task = await stack.open_task("frank", claim)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    r = await stack.as_("dave", "POST", "/api/purchase-requisitions", json={
        "lines": [{"sku": "MOTOR-200W", "qty": 1, "est_unit_price": "200"}], "justification": "a spare"})
    assert r.status_code == 201, r.text
    req = r.json()["requisition_id"]
    task = await stack.open_task("frank", req)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete",
                        json={"decision": "reject", "comment": "not this month"})
    assert r.status_code == 200, r.text

    def decided(document: str) -> Any:
        def check(s: Any) -> Any:
            return s.execute(select(NotificationEvent).where(NotificationEvent.event == "request.decided",
                                                             NotificationEvent.document == document)).scalars().all()
        return check

    [told] = await eventually(stack.db, decided(claim), limit=30)
    assert (told.users, told.title, told.link) == (["erin"], f"Expense claim {claim}: approved",
                                                   f"/requests/expense-claims/{claim}")
    [told] = await eventually(stack.db, decided(req), limit=30)
    assert (told.users, told.title, told.link) == (["dave"], f"Purchase requisition {req}: rejected",
                                                   f"/requests#requisition-{req}")
    assert "is rejected." in told.detail
    _, po = await received_order(stack, qty=1)  # an approved one is told with its purchase order
    with stack.db.read() as s:
        [told] = s.execute(select(NotificationEvent).where(NotificationEvent.event == "request.decided",
                                                           NotificationEvent.link == f"/purchase-orders/{po}")).scalars()
    assert told.users == ["dave"] and told.title.endswith(": approved") and po in told.detail
