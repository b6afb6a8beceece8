"""The invoice pages and the sales order page's deliveries: a partial delivery typed per line (a refusal shows the
page again and stores nothing), the deliveries, invoices and what is paid on the order's page, the invoice list
with its filters, one invoice with its journal, and finance's write-off form (the cfo decides)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.cash.tables import Invoice
from domain.sales.tables import DeliveryNote
from tests.e2e.test_invoices import ready_order
from tests.e2e.test_sales_pages import Browser, count, text

pytestmark = pytest.mark.e2e


async def test_a_partial_delivery_from_the_page_then_the_invoices_pages(stack):
    so = await ready_order(stack)
    ivan = await Browser(stack, "ivan").start()
    page = await ivan.get(f"/sales-orders/{so}")
    assert page.status_code == 200 and 'name="qty_0"' in page.text and f"Deliver {so}" in text(page)
    r = await ivan.post(f"/sales-orders/{so}/deliver", {"sku_0": "MOTOR-200W", "qty_0": "99", "action": "part"})
    assert r.status_code == 409 and "The order was not delivered" in text(r) and 'value="99"' in r.text
    r = await ivan.post(f"/sales-orders/{so}/deliver", {"sku_0": "MOTOR-200W", "qty_0": "", "action": "part"})
    assert r.status_code == 422 and "at least one line" in text(r)
    assert count(stack, DeliveryNote) == 0
    r = await ivan.post(f"/sales-orders/{so}/deliver", {"sku_0": "MOTOR-200W", "qty_0": "6", "action": "part"})
    assert r.status_code == 303, r.text
    page = await ivan.get(r.headers["location"])
    body = text(page)
    assert "DEL-" in body and "The rest is still to deliver" in body and 'id="invoices"' in page.text
    r = await ivan.post(f"/sales-orders/{so}/deliver", {"sku_0": "MOTOR-200W", "qty_0": "", "action": "all"})
    assert r.status_code == 303, r.text
    with stack.db.read() as s:
        first, second = s.execute(select(Invoice.number).where(Invoice.sales_order_number == so)
                                  .order_by(Invoice.id)).scalars().all()
    page = await ivan.get(f"/sales-orders/{so}")
    assert first in page.text and second in page.text and 'id="paid"' in page.text
    assert 'name="qty_0"' not in page.text  # nothing left to deliver

    grace = await Browser(stack, "grace").start()
    listing = await grace.get("/invoices?kind=customer&status=open")
    assert listing.status_code == 200 and first in listing.text and second in listing.text
    assert first not in (await grace.get("/invoices?status=paid")).text
    one = await grace.get(f"/invoices/{first}")
    body = text(one)
    assert one.status_code == 200 and "1,560.00" in body and "4000" in body and "Ask the cfo" in body
    alice = await Browser(stack, "alice").start()
    mine = await alice.get(f"/invoices/{first}")
    assert mine.status_code == 200 and "Ask the cfo" not in text(mine)
    assert (await (await Browser(stack, "bob").start()).get(f"/invoices/{first}")).status_code == 404
    r = await grace.post(f"/invoices/{second}/write-off", {"reason": ""})
    assert r.status_code == 422 and "nothing changed" in text(r)
    r = await grace.post(f"/invoices/{second}/write-off", {"reason": "the customer went bankrupt"})
    assert r.status_code == 303, r.text
    await stack.open_task("heidi", second)
