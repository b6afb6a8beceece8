"""The back office over HTTP: the company's settings, users changed by admin (a deactivated user's token stops at
once), a user's own settings, permissions as data (a role created and given actions only once a second approver
said yes), a policy change waiting for the cfo, the audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from domain import permissions
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _default_grants() -> Iterator[None]:
    yield
    permissions.use_grants({str(k): v for k, v in permissions.DEFAULT_GRANTS.items()}, 0)


async def _approve(stack: Stack, who: str, change: dict[str, object]) -> None:
    task = await stack.open_task(who, f"change-{change['change_id']}")
    r = await stack.as_(who, "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    for _ in range(200):
        got = (await stack.as_("admin", "GET", f"/api/changes/{change['change_id']}")).json()
        if got["status"] != "pending_approval":
            assert got["status"] == "applied", got
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the change was never applied")


async def test_the_company_settings(stack: Stack) -> None:
    assert (await stack.as_("erin", "GET", "/api/company")).status_code == 403
    r = await stack.as_("admin", "PUT", "/api/company", json={"name": "Acme 星辰", "base_currency": "CNY",
                                                              "fiscal_year_start": 4, "time_zone": "Asia/Shanghai"})
    assert r.status_code == 200, r.text
    assert (await stack.as_("admin", "GET", "/api/company")).json()["time_zone"] == "Asia/Shanghai"
    bad = await stack.as_("admin", "PUT", "/api/company", json={"name": "Acme", "base_currency": "CNY",
                                                                "fiscal_year_start": 4, "time_zone": "Mars/Base"})
    assert bad.status_code == 422 and "not a time zone" in bad.json()["detail"]
    trail = (await stack.as_("admin", "GET", "/api/audit", params={"entity": "company", "key": "1"})).json()
    assert trail[0]["actor"] == "admin" and trail[0]["after"]["name"] == "Acme 星辰"


async def test_admin_creates_changes_and_deactivates_a_user(stack: Stack) -> None:
    r = await stack.as_("admin", "POST", "/api/users", json={
        "username": "zoe", "full_name": "Zoe Z", "email": "zoe@x.dev", "roles": ["employee"], "manager": "carol",
        "password": "zoe's long secret"})
    assert r.status_code == 201, r.text
    token = await stack.login("zoe", "zoe's long secret")
    assert (await stack.http.get("/api/tasks", headers=token)).status_code == 200
    r = await stack.as_("admin", "PATCH", "/api/users/zoe", json={"roles": ["employee", "buyer"], "manager": "dave"})
    assert r.status_code == 200 and r.json()["roles"] == ["buyer", "employee"] and r.json()["manager"] == "dave"
    assert (await stack.http.get("/api/tasks", headers=token)).status_code == 401  # roles changed: log in again
    stack.tokens.pop("zoe")
    token = await stack.login("zoe", "zoe's long secret")
    r = await stack.as_("zoe", "PUT", "/api/me/settings", json={"locale": "zh_Hans", "time_zone": "Asia/Shanghai"})
    assert r.status_code == 200, r.text
    assert (await stack.as_("zoe", "PUT", "/api/me/settings", json={"locale": "fr"})).status_code == 422
    assert (await stack.as_("erin", "PATCH", "/api/users/zoe", json={"active": False})).status_code == 403
    assert (await stack.as_("admin", "PATCH", "/api/users/zoe", json={"roles": ["wizard"]})).status_code == 422
    assert (await stack.as_("admin", "PATCH", "/api/users/nobody", json={"active": False})).status_code == 404
    r = await stack.as_("admin", "PATCH", "/api/users/zoe", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert (await stack.http.get("/api/tasks", headers=token)).status_code == 401  # at once
    r = await stack.as_("admin", "POST", "/api/users/zoe/password", json={"new": "short"})
    assert r.status_code == 422
    trail = (await stack.as_("admin", "GET", "/api/audit", params={"entity": "user", "key": "zoe"})).json()
    assert [t["action"] for t in trail] == ["deactivated", "changed", "created"]


async def test_a_role_gets_actions_only_once_a_second_approver_says_yes(stack: Stack) -> None:
    r = await stack.as_("admin", "POST", "/api/roles", json={"name": "auditor", "description": "reads the books"})
    assert r.status_code == 201, r.text
    assert (await stack.as_("admin", "POST", "/api/roles", json={"name": "auditor"})).status_code == 422
    r = await stack.as_("admin", "POST", "/api/users", json={
        "username": "aud", "full_name": "Au Ditor", "roles": ["auditor"], "password": "a long secret 1"})
    assert r.status_code == 201
    await stack.login("aud", "a long secret 1")
    unknown = await stack.as_("admin", "PUT", "/api/roles/auditor", json={"actions": ["ledger.burn"]})
    assert unknown.status_code == 422 and "ledger.burn" in unknown.json()["detail"]
    assert (await stack.as_("admin", "PUT", "/api/roles/ghost", json={"actions": []})).status_code == 404
    r = await stack.as_("admin", "PUT", "/api/roles/auditor", json={"actions": ["finance_report.read"]})
    assert r.status_code == 202, r.text
    change = r.json()
    assert change["status"] == "pending_approval" and change["process_id"].endswith(f"change-{change['change_id']}")
    before = await stack.as_("aud", "GET", "/api/reports/ar-aging", headers={})
    assert before.status_code == 403  # nothing yet
    perms = (await stack.as_("admin", "GET", "/api/permissions")).json()
    assert "auditor" not in next(p for p in perms if p["action"] == "finance_report.read")["roles"]
    # admin cannot approve their own change (no other admin here): the cfo is asked
    await _approve(stack, "heidi", change)
    after = await stack.as_("aud", "GET", "/api/reports/ar-aging", headers={})
    assert after.status_code == 200, after.text
    perms = (await stack.as_("admin", "GET", "/api/permissions")).json()
    assert "auditor" in next(p for p in perms if p["action"] == "finance_report.read")["roles"]
    trail = (await stack.as_("admin", "GET", "/api/audit", params={"entity": "role", "key": "auditor"})).json()
    assert trail[0]["after"] == {"actions": ["finance_report.read"]}


async def test_a_policy_change_waits_for_the_cfo(stack: Stack) -> None:
    old = (await stack.as_("admin", "GET", "/api/approval-policies/expense_claim")).json()
    tiers = [{"above": "0", "steps": [{"kind": "manager"}]}]
    r = await stack.as_("admin", "PUT", "/api/approval-policies/expense_claim", json={"tiers": tiers})
    assert r.status_code == 202, r.text
    assert (await stack.as_("admin", "GET", "/api/approval-policies/expense_claim")).json() == old
    await _approve(stack, "heidi", r.json())
    now = (await stack.as_("admin", "GET", "/api/approval-policies/expense_claim")).json()
    assert len(now["tiers"]) == 1
    bad = await stack.as_("admin", "PUT", "/api/approval-policies/expense_claim",
                          json={"tiers": [{"above": "5", "steps": [{"kind": "manager"}]}]})
    assert bad.status_code == 422 and "lowest tier" in bad.json()["detail"]


async def test_scoring_rules_changed_through_the_api_are_in_the_audit_trail(stack: Stack) -> None:
    rules = (await stack.as_("admin", "GET", "/api/scoring-rules")).json()["rules"]
    r = await stack.as_("admin", "PUT", "/api/scoring-rules", json={"rules": rules[:1]})
    assert r.status_code == 200, r.text
    [line] = (await stack.as_("admin", "GET", "/api/audit", params={"entity": "scoring_rules"})).json()
    assert line["actor"] == "admin" and len(line["before"]["rules"]) == len(rules) and len(line["after"]["rules"]) == 1
    assert (await stack.as_("erin", "GET", "/api/audit")).status_code == 403
