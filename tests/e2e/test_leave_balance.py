"""The leave balance a requester sees (GET /api/me/leave, "My requests", the leave form) after an approved leave and
with one waiting; a form request's route map and trail in Chinese: its approvers and "all of" parts worded there."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.forms import services as forms
from tests.e2e.conftest import Stack
from tests.e2e.test_i18n_pages import ZH, page
from tests.e2e.test_sales_pages import text

pytestmark = pytest.mark.e2e

TODAY = datetime.now(UTC).date()
FIRST = max(TODAY, min(TODAY + timedelta(days=3), date(TODAY.year, 12, 31)))  # this year, whatever the day


def half_day_leave(days: str) -> dict[str, Any]:
    return {"leave_type": "annual", "from": FIRST.isoformat(), "to": FIRST.isoformat(), "days": days,
            "deputy": "grace"}


async def wait_status(stack: Stack, who: str, number: str, status: str) -> None:
    for _ in range(200):
        if (await stack.as_(who, "GET", f"/api/requests/{number}")).json()["status"] == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{number} never became {status}")


async def test_the_balance_after_an_approved_leave_and_with_one_waiting(stack: Stack) -> None:
    with stack.db.write() as s:
        forms.grant_leave(s, "erin", TODAY.year, Decimal(15), "admin")
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "leave", "values": half_day_leave("1")})
    assert r.status_code == 201, r.text
    number = r.json()["request_id"]
    task = await stack.open_task("frank", number)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    await wait_status(stack, "erin", number, "approved")
    for _ in range(200):  # the approved leave's effect takes it off the balance
        got = (await stack.as_("erin", "GET", "/api/me/leave")).json()
        if got["taken"] != "0.00":
            break
        await asyncio.sleep(0.05)
    assert got == {"year": TODAY.year, "granted": "15.00", "taken": "1.00", "pending": "0.00", "left": "14.00"}
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "leave", "values": half_day_leave("0.5")})
    assert r.status_code == 201, r.text
    got = (await stack.as_("erin", "GET", "/api/me/leave")).json()
    assert got == {"year": TODAY.year, "granted": "15.00", "taken": "1.00", "pending": "0.50", "left": "13.50"}
    for url in ("/requests", "/requests/new/leave"):
        shown = text(await page(stack, "erin", url))
        assert f"My leave in {TODAY.year}" in shown, shown
        assert "Days granted 15" in shown and "Days taken 1" in shown, shown
        assert "Days waiting for approval 0.5" in shown and "Days left 13.5" in shown, shown
    zh = text(await page(stack, "erin", "/requests/new/leave", **ZH))
    assert "剩余天数 13.5" in zh and "待审批天数 0.5" in zh, zh
    other = (await stack.as_("heidi", "GET", "/api/me/leave")).json()  # one's own: heidi's untouched
    assert other == {"year": TODAY.year, "granted": "15.00", "taken": "0.00", "pending": "0.00", "left": "15.00"}


async def test_the_route_map_and_trail_are_worded_in_the_readers_language(stack: Stack) -> None:
    form = {"key": "it_buy", "name": "IT purchase", "fields": [{"name": "item", "label": "Item", "type": "text",
                                                                 "required": True}],
            "route": [{"name": "Manager", "approver": "manager"},
                      {"name": "IT and finance", "approver": ["role:it", "role:finance"], "mode": "all"}]}
    r = await stack.as_("admin", "POST", "/api/form-types", json=form)
    assert r.status_code == 201, r.text
    r = await stack.as_("erin", "POST", "/api/requests", json={"form": "it_buy", "values": {"item": "laptop"}})
    assert r.status_code == 201, r.text
    number = r.json()["request_id"]
    task = await stack.open_task("frank", number)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    task = await stack.open_task("tom", number)
    r = await stack.as_("tom", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    got = (await stack.as_("erin", "GET", f"/api/requests/{number}")).json()
    assert got["route"][0]["approvers"] == [{"kind": "manager", "value": "frank", "above": 1}]
    assert got["route"][1]["approvers"] == [{"kind": "role", "value": "it", "above": 0},
                                            {"kind": "role", "value": "finance", "above": 0}]
    en = text(await page(stack, "erin", f"/requests/{number}"))
    assert "frank (manager)" in en and "role it, role finance · all of them" in en and "it (all of)" in en, en
    zh = text(await page(stack, "erin", f"/requests/{number}", **ZH))
    assert "frank（直属上级）" in zh and "角色 it、角色 finance · 会签（全部同意）" in zh and "it（会签）" in zh, zh
    assert "role it" not in zh and "all of" not in zh, zh
