"""A cancel and the final approval sent together through HTTP (issue 15, class 7): one 200, one 409, and
the claim's status and trail agree with the winner."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.e2e

LINE = {"category": "travel", "amount": "100.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}


async def test_cancel_and_final_approval_at_once_one_wins(stack):
    winners = []
    for round_ in range(6):
        claim = (await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [LINE]})).json()["claim_id"]
        task = await stack.open_task("frank", claim)
        cancel = stack.as_("erin", "POST", f"/api/expense-claims/{claim}/cancel")
        approve = stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve", "comment": "fine"})
        pair = (cancel, approve) if round_ % 2 else (approve, cancel)
        first, second = await asyncio.gather(*pair)
        c, a = (first, second) if round_ % 2 else (second, first)
        assert sorted([c.status_code, a.status_code]) == [200, 409], (c.text, a.text)
        events = (await stack.as_("admin", "GET", f"/api/tasks/{task['id']}")).json()["events"]
        if a.status_code == 200:
            winners.append("approve")
            detail = c.json()["detail"]
            assert ((detail.startswith(f"claim {claim} was approved by frank at ")
                    and detail.endswith("an approved claim can no longer be cancelled"))
                    or detail == f"claim {claim} is approved; only a claim pending approval can be cancelled"), detail
            view = (await stack.as_("erin", "GET", f"/api/expense-claims/{claim}?wait=5&until=approved")).json()
            assert view["status"] == "approved"
            assert [(x["decided_by"], x["decision"]) for x in view["approvals"]] == [("frank", "approve")]
            if "can no longer be cancelled" in detail:  # taken by the approval: on the trail
                for _ in range(100):
                    events = (await stack.as_("admin", "GET", f"/api/tasks/{task['id']}")).json()["events"]
                    if any(e["event"] == "withdrawal refused" for e in events):
                        break
                    await asyncio.sleep(0.05)
                assert [(e["actor"], e["detail"]) for e in events if e["event"] == "withdrawal refused"] == [
                    ("erin", "erin's cancel came after the final approval and was refused")]
        else:
            winners.append("cancel")
            detail = a.json()["detail"]
            assert ((detail.startswith(f"claim {claim} was withdrawn by erin at ")
                    and detail.endswith("nothing left to decide"))
                    or detail == "this task is already cancelled"), detail
            view = (await stack.as_("erin", "GET", f"/api/expense-claims/{claim}")).json()
            assert view["status"] == "cancelled" and view["approvals"] == []
            assert c.json()["status"] == "cancelled"
            assert [(e["actor"], e["detail"]) for e in events if e["event"] == "cancelled"] == [
                ("erin", "withdrawn by erin")]
        task_now = (await stack.as_("admin", "GET", f"/api/tasks/{task['id']}")).json()
        assert task_now["status"] in ("completed", "cancelled")  # nothing left open
    print("winners:", winners)
