"""The pages in the reader's language over HTTP: the browser's Accept-Language chooses Simplified Chinese or English,
the login page's language links keep a choice in a cookie, a user's own setting comes first; times are shown in the
user's time zone; the API stays English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update

from domain.approvals.tables import Task
from domain.org.tables import User
from tests.e2e.conftest import Stack
from tests.e2e.test_inbox_pages import file_claim
from tests.e2e.test_sales_pages import text

pytestmark = pytest.mark.e2e

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


async def page(stack: Stack, username: str, url: str, **headers: str) -> httpx.Response:
    await stack.login(username)
    cookie = f"vl_session={stack.tokens[username]}"
    if "cookie" in headers:
        cookie += "; " + headers.pop("cookie")
    return await stack.http.get(url, headers={"Cookie": cookie, **headers})


async def test_the_browsers_language_chooses_the_pages_language(stack: Stack) -> None:
    r = await stack.http.get("/login", headers=ZH)
    assert r.status_code == 200 and '<html lang="zh-Hans">' in r.text
    assert "登录" in text(r) and "用户名" in text(r) and "Username" not in text(r)
    r = await stack.http.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in r.text and "Username" in text(r) and "用户名" not in text(r)
    r = await stack.http.get("/login")  # no preference: English, as every other test reads the pages
    assert "Username" in text(r)

    claim = await file_claim(stack, "300")
    await stack.open_task("frank", claim)
    zh = text(await page(stack, "frank", "/inbox", **ZH))
    assert "待办" in zh and "批准" in zh and "驳回" in zh and claim in zh
    assert "Approve selected" not in zh and "Business key" not in zh
    en = text(await page(stack, "frank", "/inbox"))
    assert "Approve selected" in en and "批准" not in en
    # a refusal's page is in the reader's language too, its reason (the domain's) as it is
    r = await page(stack, "frank", "/leads/LD-99999", **ZH)
    assert r.status_code in (403, 404) and '<html lang="zh-Hans">' in r.text

    # the API stays English whatever the browser says
    api = await stack.http.get("/api/tasks", headers={**await stack.login("frank"), **ZH})
    assert api.status_code == 200 and api.json()[0]["status"] == "open"


async def test_the_login_pages_links_keep_a_language_and_a_users_setting_comes_first(stack: Stack) -> None:
    r = await stack.http.get("/language", params={"lang": "zh_Hans", "next": "/inbox"})
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Finbox"
    assert r.cookies.get("vl_lang") == "zh_Hans"
    r = await stack.http.get("/login", headers={"Cookie": "vl_lang=zh_Hans", "Accept-Language": "en"})
    assert "用户名" in text(r)  # the choice on the page beats the browser's
    r = await stack.http.get("/language", params={"lang": "xx"})  # not a language of ours: nothing kept
    assert r.status_code == 303 and "vl_lang" not in r.cookies

    assert "待办" in text(await page(stack, "erin", "/requests", cookie="vl_lang=zh_Hans"))
    with stack.db.write() as s:
        s.execute(update(User).where(User.username == "erin").values(locale="en"))
    assert "My requests" in text(await page(stack, "erin", "/requests", cookie="vl_lang=zh_Hans", **ZH))


async def test_times_are_shown_in_the_users_time_zone(stack: Stack) -> None:
    claim = await file_claim(stack, "300")
    task = await stack.open_task("frank", claim)
    due = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=3)
    with stack.db.write() as s:
        s.execute(update(Task).where(Task.id == task["id"]).values(due_at=due))
        s.execute(update(User).where(User.username == "frank").values(time_zone="Asia/Shanghai"))
    shanghai = due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert shanghai.endswith("08:00")
    r = await page(stack, "frank", f"/tasks/{task['id']}", **ZH)
    assert shanghai in text(r), text(r)[:2000]
    assert due.strftime("%Y-%m-%d 00:00") not in text(r)
