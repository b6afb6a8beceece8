"""Every UI error is a page (issue 18): an unknown address is a 404 page in the viewer's language, a GET on a
POST-only address (a reload after a form error) goes back to the form's page, an unexpected error is a 500 page
with a reference that is logged; the API keeps answering JSON. A process linked from a page the viewer sees
but which they may not open says so (403), while one known only by its id stays a 404."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from domain.production.tables import ProductionOrder
from domain.purchasing.tables import PurchaseRequisition
from tests.e2e.conftest import Stack
from tests.e2e.test_production_pages import short_order
from tests.e2e.test_sales_pages import Browser, text
from tests.helpers import eventually

pytestmark = pytest.mark.e2e


async def test_an_unknown_address_is_a_page_and_the_api_stays_json(stack: Stack) -> None:
    erin = await Browser(stack, "erin").start()
    r = await erin.get("/no-such-page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Page not found" in text(r) and "/no-such-page" in text(r) and 'href="/inbox"' in r.text
    assert "Log out" in r.text or "logout" in r.text  # the navigation of a logged-in viewer
    assert '"detail"' not in r.text
    # not logged in, in Chinese by the browser's language
    r = await stack.http.get("/nothing/here", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert r.status_code == 404 and "页面不存在" in text(r) and "/nothing/here" in text(r)
    # (an address a page answers for logged-in viewers, /items/…, sends a visitor to the login instead)
    # an unknown document number on a real page is a 404 page too
    r = await (await Browser(stack, "alice").start()).get("/sales-orders/SO-99999")
    assert r.status_code == 404 and "no sales order SO-99999" in text(r) and "<h1>" in r.text
    # the API, the docs and health keep their JSON
    for url in ("/api/no-such-thing", "/api/expense-claims/EC-99999/nothing"):
        r = await stack.as_("erin", "GET", url)
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}, url
    r = await stack.as_("erin", "GET", "/api/expense-claims/EC-1/cancel")
    assert r.status_code == 405 and r.json()["detail"] == "Method Not Allowed"
    assert (await stack.http.get("/static/nothing.css")).status_code == 404
    assert (await stack.http.get("/openapi.json")).status_code == 200


@pytest.mark.parametrize(("post_address", "page"), [
    ("/requests/expense-claims", "/requests"),
    ("/requests/expense-claims/EC-00001/cancel", "/requests/expense-claims/EC-00001"),  # the claim's own page
    ("/inbox/12/decide", "/inbox"),
    ("/inbox/approve-selected", "/inbox"),
    ("/pipeline/leads", "/pipeline"),
    ("/leads/LD-00001/qualify", "/leads/LD-00001"),
    ("/opportunities/OP-00001/stage", "/opportunities/OP-00001"),
    ("/processes/saved-filters", "/processes"),
    ("/processes/saved-filters/3/delete", "/processes"),
    ("/inbox/saved-filters/3/delete", "/inbox"),
    ("/production-orders/MO-00001/progress", "/production-orders/MO-00001"),
    ("/planning/mrp-runs", "/planning"),
    ("/finance/rates/import", "/finance/rates"),
    ("/sales-orders/SO-00001/deliver", "/sales-orders/SO-00001"),
    ("/incidents/cancel/purchase-PR-00001", "/incidents"),
])
async def test_a_reloaded_post_address_goes_back_to_its_page(stack: Stack, post_address: str, page: str) -> None:
    """A form refused with 422 leaves the browser on the POST address; reloading it GETs that address."""
    admin = await Browser(stack, "admin").start()
    r = await admin.get(post_address)
    assert r.status_code == 303, (post_address, r.status_code, r.text[:200])
    assert r.headers["location"] == page
    assert "Method Not Allowed" not in r.text


async def test_a_reloaded_form_error_lands_on_the_form(stack: Stack) -> None:
    erin = await Browser(stack, "erin").start()
    r = await erin.post("/requests/expense-claims", {"category": "travel", "amount": "lots", "currency": "USD",
                                                      "date": "2026-11-02", "description": "taxi"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    again = await erin.get("/requests/expense-claims")  # the reload
    assert again.status_code == 303 and again.headers["location"] == "/requests"
    assert (await erin.get(again.headers["location"])).status_code == 200


async def test_an_unexpected_error_is_a_500_page_with_a_logged_reference(
        stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from api.routes.ui import processes

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(processes, "process_summary", boom)
    await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [{
        "category": "travel", "amount": "10", "currency": "USD", "date": "2026-11-02", "description": "taxi"}]})
    erin = await Browser(stack, "erin").start()
    with caplog.at_level(logging.ERROR, logger="valueloop.pages"):
        r = await erin.get("/processes")
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    body = text(r)
    assert "Something went wrong" in body and "a bug" not in body and "Traceback" not in body
    reference = body.split("Reference: ", 1)[1].split()[0]
    assert len(reference) == 12
    logged = [rec for rec in caplog.records if reference in rec.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_a_linked_process_the_viewer_may_not_open_is_a_403_an_unknown_one_a_404(stack: Stack) -> None:
    so, _housing, _fan = await short_order(stack)
    requisition = await eventually(stack.db, lambda s: s.execute(select(PurchaseRequisition.process_id).where(
        PurchaseRequisition.sales_order_number == so)).scalars().first(), limit=30)
    ivan = await Browser(stack, "ivan").start()  # the warehouse sees the sales order, not the purchasing
    order = await ivan.get(f"/sales-orders/{so}")
    assert order.status_code == 200
    r = await ivan.get(f"/processes/{requisition}")
    assert r.status_code == 403, text(r)[:300]
    business_key = requisition.split("purchase-", 1)[1]
    assert f"You may not see purchase requisition {business_key}" in text(r) and "no process" not in text(r)
    assert "BLADE-SET" not in text(r)  # nothing of its content
    # a production order raised for it: its page is the warehouse's to read, so its process is no secret either
    with stack.db.read() as s:
        made = s.execute(select(ProductionOrder.process_id).where(
            ProductionOrder.sales_order_number == so)).scalars().first()
    r = await ivan.get(f"/processes/{made}")
    assert r.status_code in (200, 403) and "no process" not in text(r), text(r)[:300]
    assert r.status_code == 200 or "You may not see production order" in text(r)
    r = await ivan.get("/processes/purchase-PR-99999")
    assert r.status_code == 404 and "no process purchase-PR-99999" in text(r)
    # a process known only by its id (another user's claim, nothing of it on ivan's pages) stays a 404
    claim = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [{
        "category": "travel", "amount": "10", "currency": "USD", "date": "2026-11-02", "description": "taxi"}]})
    r = await ivan.get(f"/processes/{claim.json()['process_id']}")
    assert r.status_code == 404
    # and the JSON API keeps its 404 for what one may not see
    assert (await stack.as_("ivan", "GET", f"/api/processes/{requisition}")).status_code == 404
