"""Net-change MRP runs over HTTP (POST /api/planning/mrp-runs {"net_change": true}): the first is a full run
(no state in the process yet), the next re-plans only what changed since, and gives what a full run gives."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from domain.planning.tables import MrpRun

MOTOR = "MOTOR-200W"  # demo: safety stock 5, minimum order 10, 30 on hand


def plan(run: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A run's planned orders (without their ids: those name the run) and exceptions."""
    return [{k: v for k, v in p.items() if k != "id"} for p in run["planned_orders"]], run["exceptions"]


def runs_stored(stack: Any) -> int:
    with stack.db.read() as s:
        return int(s.execute(select(func.count()).select_from(MrpRun)).scalar_one())


async def net_change(stack: Any, who: str = "carol", **body: Any) -> Any:
    return await stack.as_(who, "POST", "/api/planning/mrp-runs", json={"net_change": True, **body})


async def test_a_net_change_run_replans_what_changed_and_gives_the_full_run(stack):
    # No state in this process for this company: a full run, which keeps its state.
    r = await net_change(stack)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["scope"] == "all open orders and forecasts" and first["items_replanned"] is None
    assert all(p["sku"] != MOTOR for p in first["planned_orders"])

    # Nothing changed: nothing re-planned, the same plan, stored as a run of its own.
    r = await net_change(stack)
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["scope"] == f"net change from {first['run_id']} (0 items re-planned)"
    assert second["items_replanned"] == 0 and second["run_id"] != first["run_id"]
    assert plan(second) == plan(first)
    assert (await stack.as_("carol", "GET", f"/api/planning/mrp-runs/{second['run_id']}")).json()["scope"] == \
        second["scope"]

    # 28 motors scrapped: 2 left, under the safety stock of 5. Only the motor is re-planned: one order of 10.
    r = await stack.as_("ivan", "POST", "/api/stock/adjustments", json={"sku": MOTOR, "qty": -28, "reason": "scrap"})
    assert r.status_code == 201, r.text
    r = await net_change(stack)
    assert r.status_code == 201, r.text
    third = r.json()
    assert third["scope"] == f"net change from {second['run_id']} (1 item re-planned)"
    [motor] = [p for p in third["planned_orders"] if p["sku"] == MOTOR]
    assert (motor["kind"], motor["qty"], motor["pegged_to"]) == ("purchase", "10", [])
    # Exactly what a full run gives.
    r = await stack.as_("carol", "POST", "/api/planning/mrp-runs")
    assert r.status_code == 201, r.text
    full = r.json()
    assert plan(third) == plan(full)

    # The full run is the latest now, and this process holds no state of it: the next is a full run again.
    r = await net_change(stack)
    assert r.status_code == 201, r.text
    assert r.json()["items_replanned"] is None and r.json()["scope"] == "all open orders and forecasts"
    assert plan(r.json()) == plan(full)


async def test_a_net_change_run_refuses_what_it_cannot_do(stack):
    before = runs_stored(stack)
    due = "2031-01-31"
    for body, status, match in (
            ({"demand": [{"sku": MOTOR, "qty": 1, "due_date": due}]}, 422, "net-change run"),
            ({"demand": [{"sku": MOTOR, "qty": 1, "due_date": due}],
              "scheduled_receipts": [{"sku": MOTOR, "qty": 1, "due_date": due}]}, 422, "net-change run"),
            ({"scheduled_receipts": [{"sku": MOTOR, "qty": 1, "due_date": due}]}, 422, "demand"),
            ({"net_change": "sometimes"}, 422, "net_change"),
            ({"as_of": "1999-01-01"}, 422, "as_of")):
        r = await net_change(stack, **body)
        assert r.status_code == status, (body, r.status_code, r.text)
        assert match in r.text, (body, r.text)
    r = await net_change(stack, "alice")  # may not plan
    assert r.status_code == 403, r.text
    assert runs_stored(stack) == before
