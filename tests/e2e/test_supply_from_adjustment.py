"""Stock added by a counted adjustment tells the processes waiting for that item at once, as a goods receipt
does: a production order waiting for its kit is released, not at its next twice-a-day look."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.planning import services as planning_svc
from domain.production.tables import ProductionOrder
from tests.e2e.test_order_to_cost import BLADES, FAN, HOUSING, globex, poll

pytestmark = pytest.mark.e2e


async def _short_fan_order(stack, qty: int = 10) -> tuple[str, str]:
    """A sales order of `qty` fans (5 on hand): its fan production order waits for housings and a blade set."""
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": await globex(stack), "lines": [{"sku": FAN, "qty": qty, "unit_price": "450"}]})
    assert r.status_code == 201, r.text
    so = r.json()["sales_order_id"]
    view = await poll(stack, "alice", f"/api/sales-orders/{so}", lambda b: len(b["production_orders"]) == 2)
    fan = next(m["id"] for m in view["production_orders"] if m["sku"] == FAN)
    url = f"/api/production-orders/{fan}"
    await poll(stack, "carol", url, lambda b: "short" in b["wait_reason"])
    return so, url


async def test_an_adjustment_that_completes_a_kit_releases_the_waiting_order_at_once(stack):
    _, fan_url = await _short_fan_order(stack)
    waiting = stack.db.read  # the processes that the adjustment must tell
    with waiting() as s:
        told = planning_svc.waiting_for(s, BLADES)
        mo = s.execute(select(ProductionOrder.process_id).where(ProductionOrder.sku == FAN)).scalar_one()
    assert mo in told
    with waiting() as s:
        assert planning_svc.waiting_for(s, "NO-SUCH-SKU") == []
    for sku, qty in ((HOUSING, 3), (BLADES, 1)):
        r = await stack.as_("ivan", "POST", "/api/stock/adjustments",
                            json={"sku": sku, "qty": qty, "unit_cost": "12", "reason": "found in the cycle count"})
        assert r.status_code == 201, r.text
    # Released within seconds (the periodic look is 12 h away); the kit was issued for it.
    body = await poll(stack, "carol", fan_url, lambda b: b["status"] == "released", tries=200, pause=0.1)
    assert body["wait_reason"] == ""


async def test_a_negative_or_unrelated_adjustment_releases_nothing(stack):
    _, fan_url = await _short_fan_order(stack)
    for sku, qty in ((BLADES, -1), ("STEEL-SHEET", 5)):
        r = await stack.as_("ivan", "POST", "/api/stock/adjustments",
                            json={"sku": sku, "qty": qty, "unit_cost": "10", "reason": "count"})
        assert r.status_code == 201, r.text
    body = (await stack.as_("carol", "GET", fan_url)).json()
    assert body["status"] == "waiting_material", body
