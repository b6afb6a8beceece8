"""Issue 15 through HTTP: approval follows what the company gives away, not only the discount field. A quotation
priced under cost or too far under list, or under the minimum margin, waits for the sales manager (and the cfo
under the second threshold), with the margin and the reasons on the task; the pricing policies' admin API and
the items' list price and group. Demo policy: at most 15 % under list, margin 15 % or more, the cfo below 0 %."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.test_leads import qualified
from tests.e2e.test_sales_pages import Browser

pytestmark = pytest.mark.e2e


async def quote(stack, opp: str, price: str, qty: int = 2, discount: str = "0") -> dict:
    line = {"sku": "FAN-200", "qty": qty, "unit_price": price, "discount_pct": discount}
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={"lines": [line]})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def status_is(stack, number: str, want: str) -> dict:
    for _ in range(200):
        q = (await stack.as_("alice", "GET", f"/api/quotations/{number}")).json()
        if q["status"] == want:
            return q  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{number} is {q['status']}, not {want}")


async def test_a_thin_margin_goes_to_the_sales_manager_with_the_margin_on_the_task(stack):
    opp = await qualified(stack)
    out = await quote(stack, opp, "350")  # 0 % discount; 30 % under list, margin 8.6 % (cost 320)
    assert out["status"] == "pending_approval"
    number = out["quotation_id"]
    task = await stack.open_task("bob", number)
    assert "margin 60.00 (8.6 %)" in task["title"]
    r = await stack.as_("bob", "GET", f"/api/tasks/{task['id']}")
    assert r.status_code == 200, r.text
    c = r.json()["context"]
    assert c["margin"] == {"revenue": "700.00", "cost": "640.00", "margin": "60.00", "margin_pct": "8.60"}
    assert c["review"]["reasons"] == ["line FAN-200 30% under list price (at most 15%)",
                                      "margin 8.6% under the 15% minimum"]
    assert c["review"]["needs_cfo"] is False and c["review"]["margin"] == "60.00"
    page = await (await Browser(stack, "bob").start()).get(f"/tasks/{task['id']}")  # the task page shows them too
    assert page.status_code == 200 and "Why it needs approval" in page.text
    assert "margin 8.6% under the 15% minimum" in page.text and "30% under list price" in page.text
    r = await stack.as_("bob", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    q = await status_is(stack, number, "sent")
    assert [a["decided_by"] for a in q["approvals"]] == ["bob"]


async def test_a_deep_loss_needs_bob_then_heidi(stack):
    opp = await qualified(stack)
    out = await quote(stack, opp, "100")  # a fan that costs 320 at 100, no discount: the defect of issue 15
    assert out["status"] == "pending_approval"
    number = out["quotation_id"]
    task = await stack.open_task("bob", number)
    assert "margin -440.00 (-220.0 %)" in task["title"] and "under its standard cost" in task["title"]
    c = (await stack.as_("bob", "GET", f"/api/tasks/{task['id']}")).json()["context"]
    assert c["review"]["needs_cfo"] is True and c["margin"]["margin"] == "-440.00"
    assert "margin -220% under the cfo's 0% threshold" in c["review"]["reasons"]
    assert (await stack.as_("alice", "POST", f"/api/quotations/{number}/accept")).status_code == 409
    r = await stack.as_("bob", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    second = await stack.open_task("heidi", number)
    assert second["id"] != task["id"]
    r = await stack.as_("heidi", "POST", f"/api/tasks/{second['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    q = await status_is(stack, number, "sent")
    assert [a["decided_by"] for a in q["approvals"]] == ["bob", "heidi"]


async def test_a_normal_quotation_is_sent_at_once_and_a_full_discount_is_still_refused(stack):
    opp = await qualified(stack)
    assert (await quote(stack, opp, "480", discount="3"))["status"] == "sent"
    line = {"sku": "FAN-200", "qty": 1, "unit_price": "500", "discount_pct": "100"}
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={"lines": [line]})
    assert r.status_code == 422 and "greater than zero" in r.json()["detail"], r.text  # nothing to approve


async def test_pricing_policies_admin_api(stack):
    r = await stack.as_("alice", "GET", "/api/pricing-policies")
    assert r.status_code == 200 and r.json()["policies"] == [
        {"item_group": None, "max_below_list_pct": "15.00", "min_margin_pct": "15.00", "cfo_margin_pct": "0.00"}]
    assert (await stack.as_("erin", "GET", "/api/pricing-policies")).status_code == 403
    fans = {"item_group": "fans", "max_below_list_pct": "40", "min_margin_pct": "-5", "cfo_margin_pct": "-100"}
    company = {"item_group": None, "max_below_list_pct": "15", "min_margin_pct": "15", "cfo_margin_pct": "0"}
    assert (await stack.as_("bob", "PUT", "/api/pricing-policies", json={"policies": [fans]})).status_code == 403
    for bad in ([{**fans, "max_below_list_pct": "101"}], [{**fans, "max_below_list_pct": "-1"}],
                [{**fans, "min_margin_pct": "-101"}], [{**fans, "min_margin_pct": "10", "cfo_margin_pct": "11"}],
                [{**fans, "min_margin_pct": None}], [{**fans, "surprise": 1}], [company, company],
                [fans, {**fans, "min_margin_pct": "1"}], [{**fans, "item_group": ""}]):
        r = await stack.as_("admin", "PUT", "/api/pricing-policies", json={"policies": bad})
        assert r.status_code == 422, (bad, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str)
    r = await stack.as_("admin", "GET", "/api/pricing-policies")
    assert len(r.json()["policies"]) == 1  # nothing stored
    r = await stack.as_("admin", "PUT", "/api/pricing-policies", json={"policies": [fans, company]})
    assert r.status_code == 200, r.text
    assert [p["item_group"] for p in r.json()["policies"]] == [None, "fans"]
    # Fans may now go 40 % under list with a margin down to -5 % (the cfo's below -100 %): 330 is 34 % under
    # list at a 3 % margin, sent at once; under cost still goes to the sales manager whatever the policy says.
    opp = await qualified(stack)
    assert (await quote(stack, opp, "330"))["status"] == "sent"
    assert (await quote(stack, opp, "310"))["status"] == "pending_approval"


async def test_items_carry_a_list_price_and_a_group(stack):
    item = {"sku": "FAN-400", "name": "Industrial fan 400 W", "kind": "manufactured", "standard_cost": "500",
            "list_price": "820.50", "item_group": "fans"}
    r = await stack.as_("admin", "POST", "/api/items", json=item)
    assert r.status_code == 201, r.text
    assert (r.json()["list_price"], r.json()["item_group"]) == ("820.50", "fans")
    got = (await stack.as_("alice", "GET", "/api/items/FAN-400")).json()
    assert (got["list_price"], got["item_group"]) == ("820.50", "fans")
    fan = (await stack.as_("alice", "GET", "/api/items/FAN-200")).json()
    assert (fan["list_price"], fan["item_group"]) == ("500.00", "fans")
    for bad in ({"list_price": "-1"}, {"list_price": "abc"}, {"item_group": "x" * 61}, {"item_group": "<b>"}):
        r = await stack.as_("admin", "POST", "/api/items", json={**item, "sku": "FAN-500", **bad})
        assert r.status_code == 422, (bad, r.text)
    assert (await stack.as_("alice", "GET", "/api/items/FAN-500")).status_code == 404
