"""The back office's pages over HTTP, without a browser: the first-run page an unnamed company's admin lands on,
users (list, search, CSV, create, change, reset, deactivate), a user's own settings, roles and their actions (a
change waits for the cfo), the approval policy tier editor and the scoring rules, each with its audit trail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain import permissions
from domain.org.tables import Company
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, flash, text

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _default_grants() -> Iterator[None]:
    yield
    permissions.use_grants({str(k): v for k, v in permissions.DEFAULT_GRANTS.items()}, 0)


async def test_an_unnamed_company_leads_admin_to_the_first_run_page(stack: Stack) -> None:
    with stack.db.write() as s:
        s.get_one(Company, 1).name = ""
    admin = await Browser(stack, "admin").start()
    home = await admin.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/setup"
    page = await admin.get("/setup")
    assert page.status_code == 200 and "set up your company" in text(page)
    for field in ("name", "base_currency", "fiscal_year_start", "time_zone"):
        assert f'<label for="{field}"' in page.text
    bad = await admin.post("/setup", {"name": "Acme", "base_currency": "CNY", "fiscal_year_start": "4",
                                      "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422 and "not a time zone" in text(bad) and 'value="Acme"' in bad.text
    bad = await admin.post("/setup", {"name": "Acme", "base_currency": "XYZ", "fiscal_year_start": "4",
                                      "time_zone": "Asia/Shanghai"})
    assert bad.status_code == 422
    r = await admin.post("/setup", {"name": "Acme 星辰", "base_currency": "cny", "fiscal_year_start": "4",
                                    "time_zone": "Asia/Shanghai", "credit_limit_threshold": "８0,000"})
    assert r.status_code == 303 and flash(r)["msg"] == "The company's settings are saved."
    with stack.db.read() as s:
        row = s.get_one(Company, 1)
        assert (row.name, row.base_currency, row.fiscal_year_start, row.time_zone) == ("Acme 星辰", "CNY", 4,
                                                                                       "Asia/Shanghai")
        assert row.credit_limit_threshold == 80000
    assert (await admin.get("/")).headers["location"] != "/setup"
    again = await admin.get("/setup")
    assert "Change history" in text(again) and "Acme 星辰" in text(again)
    assert (await (await Browser(stack, "erin").start()).get("/setup")).status_code == 403


async def test_admin_manages_users_in_the_browser(stack: Stack) -> None:
    admin = await Browser(stack, "admin").start()
    page = await admin.get("/users?q=ali")
    assert page.status_code == 200 and "alice" in text(page) and "grace" not in text(page)
    page = await admin.get("/users?role=finance")
    assert "grace" in text(page) and "alice" not in text(page) and '<label for="role"' in page.text
    csv = await admin.get("/users.csv")
    assert csv.status_code == 200 and csv.text.startswith("username,full_name,email,roles,manager,active")
    assert "alice" in csv.text
    form = await admin.get("/users/new")
    assert form.status_code == 200 and '<label for="password"' in form.text
    bad = await admin.post("/users/new", {"username": "zoe", "full_name": "Zoe Z", "roles": ["employee"],
                                          "password": "short"})
    assert bad.status_code == 422 and "8 characters" in text(bad) and 'value="Zoe Z"' in bad.text
    r = await admin.post("/users/new", {"username": "zoe", "full_name": "Zoe Z", "email": "zoe@x.dev",
                                        "roles": ["employee", "buyer"], "manager_username": "carol",
                                        "password": "zoe's long secret"})
    assert r.status_code == 303 and r.headers["location"] == "/users/zoe", text(r)[:300]
    zoe = await Browser(stack, "zoe").start() if await _login(stack, "zoe", "zoe's long secret") else None
    assert zoe is not None and (await zoe.get("/inbox")).status_code == 200
    page = await admin.get("/users/zoe")
    assert page.status_code == 200 and "Change history" in text(page) and "admin created" in text(page)
    r = await admin.post("/users/zoe", {"full_name": "Zoe Zhang", "email": "zoe@x.dev", "roles": ["employee"],
                                        "manager_username": "dave"})
    assert r.status_code == 303
    assert (await zoe.get("/inbox")).status_code == 303  # roles changed: her session ended
    r = await admin.post("/users/zoe/password", {"new": "x"})
    assert r.status_code == 422
    r = await admin.post("/users/zoe/password", {"new": "a brand new secret"})
    assert r.status_code == 303 and "reset" in flash(r)["msg"]
    r = await admin.post("/users/zoe/active", {"active": "0"})
    assert r.status_code == 303 and "deactivated" in flash(r)["msg"]
    page = await admin.get("/users/zoe")
    assert "deactivated" in text(page) and "Activate again" in text(page)
    assert (await (await Browser(stack, "erin").start()).get("/users")).status_code == 403


async def _login(stack: Stack, username: str, password: str) -> bool:
    await stack.login(username, password)
    return True


async def test_a_user_sets_language_time_zone_and_password(stack: Stack) -> None:
    erin = await Browser(stack, "erin").start()
    page = await erin.get("/me")
    assert page.status_code == 200 and '<label for="locale"' in page.text and '<label for="current"' in page.text
    r = await erin.post("/me", {"locale": "zh_Hans", "time_zone": "Asia/Shanghai"})
    assert r.status_code == 303
    page = await erin.get("/me")
    assert 'lang="zh-Hans"' in page.text  # the page now speaks Chinese
    assert (await erin.post("/me", {"locale": "en", "time_zone": "Nowhere/Land"})).status_code == 422
    wrong = await erin.post("/me/password", {"current": "nope", "new": "a new secret 1", "again": "a new secret 1"})
    assert wrong.status_code == 403
    differ = await erin.post("/me/password", {"current": "demo", "new": "a new secret 1", "again": "other one 2"})
    assert differ.status_code == 422
    r = await erin.post("/me/password", {"current": "demo", "new": "a new secret 1", "again": "a new secret 1"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_roles_and_policies_change_only_through_a_second_approval(stack: Stack) -> None:
    admin = await Browser(stack, "admin").start()
    page = await admin.get("/roles")
    assert page.status_code == 200 and "finance" in text(page)
    r = await admin.post("/roles", {"name": "auditor", "description": "reads the books"})
    assert r.status_code == 303 and r.headers["location"] == "/roles/auditor"
    bad = await admin.post("/roles", {"name": "Bad Name", "description": ""})
    assert bad.status_code == 422
    page = await admin.get("/roles/auditor")
    assert page.status_code == 200 and 'id="action-ledger.read"' in page.text
    r = await admin.post("/roles/auditor", {"actions": ["ledger.read", "finance_report.read"]})
    assert r.status_code == 303 and "second admin or the cfo" in flash(r)["msg"]
    page = await admin.get("/roles/auditor")
    assert "Waiting for a second approval" in text(page)
    change = (await stack.as_("admin", "GET", "/api/changes", params={"status": "pending_approval"})).json()[0]
    task = await stack.open_task("heidi", f"change-{change['change_id']}")
    heidi = await Browser(stack, "heidi").start()
    page = await heidi.get(f"/tasks/{task['id']}")
    assert page.status_code == 200, text(page)[:300]
    assert "After approval" in text(page) and "ledger.read added" in text(page)
    unknown = await admin.post("/roles/auditor", {"actions": ["ledger.burn"]})
    assert unknown.status_code == 422 and "ledger.burn" in text(unknown)

    editor = await admin.get("/approval-policies/expense_claim")
    assert editor.status_code == 200 and 'name="above"' in editor.text
    bad = await admin.post("/approval-policies/expense_claim", {"above": ["0", "1,000"],
                                                                  "steps": ["manager", "boss"]})
    assert bad.status_code == 422 and "is not a step" in text(bad) and 'value="1,000"' in bad.text
    r = await admin.post("/approval-policies/expense_claim", {"above": ["0", "１,０００"],
                                                                "steps": ["manager", "manager, role:finance"]})
    assert r.status_code == 303, text(r)[:400]
    assert "second admin or the cfo" in flash(r)["msg"]
    listing = await admin.get("/approval-policies")
    assert listing.status_code == 200 and "waiting for a second approval" in text(listing)
    assert (await (await Browser(stack, "erin").start()).get("/roles")).status_code == 403


async def test_the_scoring_rules_page(stack: Stack) -> None:
    admin = await Browser(stack, "admin").start()
    page = await admin.get("/scoring-rules")
    assert page.status_code == 200 and 'name="points"' in page.text
    r = await admin.post("/scoring-rules", {"name": ["referral"], "kind": ["source"], "param": ["referral"],
                                            "points": ["２０"], "reason": ["came by referral"]})
    assert r.status_code == 303, text(r)[:400]
    page = await admin.get("/scoring-rules")
    assert 'value="referral"' in page.text and "Change history" in text(page)
    bad = await admin.post("/scoring-rules", {"name": ["x"], "kind": ["source"], "param": ["nowhere"],
                                              "points": ["5"], "reason": ["r"]})
    assert bad.status_code == 422
    alice = await Browser(stack, "alice").start()
    page = await alice.get("/scoring-rules")
    assert page.status_code == 200 and "Save the rules" not in text(page)
    assert (await alice.post("/scoring-rules", {"name": ["a"], "kind": ["source"], "param": ["referral"],
                                                "points": ["1"], "reason": ["r"]})).status_code == 403
