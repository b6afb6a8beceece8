"""Sessions end at once, over HTTP (issue 15): after an API logout, a UI logout, a password change, a deactivation
or a change of roles, the old token or cookie gets 401 on its very next request, on this API process and on any
other sharing the database (the revocation is a row, not one process's memory)."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.platform import Platform
from api.routes.ui.workspaces import landing
from domain.core.db import Database
from domain.demo import USERS
from domain.expenses.tables import ExpenseClaim
from domain.org import services as org
from domain.org.tables import AuthSession
from settings import Settings
from tests.e2e.conftest import Stack, serve_stack

pytestmark = pytest.mark.e2e

ENDED = "this session has ended; log in again"
PAGE_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
LOGIN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINE = {"category": "travel", "amount": "100.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}


async def token(http: httpx.AsyncClient, username: str, password: str = "demo") -> str:
    r = await http.post("/api/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def bearer(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


async def me(http: httpx.AsyncClient, t: str) -> httpx.Response:
    return await http.get("/api/auth/me", headers=bearer(t))


async def refused(http: httpx.AsyncClient, t: str) -> bool:
    r = await me(http, t)
    return r.status_code == 401 and r.json()["detail"] == ENDED and r.headers["www-authenticate"] == "Bearer"


async def test_api_logout_ends_that_token_at_once_and_no_other(stack: Stack) -> None:
    one, two = await token(stack.http, "erin"), await token(stack.http, "erin")
    assert (await me(stack.http, one)).json()["username"] == "erin"
    r = await stack.http.post("/api/auth/logout", headers=bearer(one))
    assert r.status_code == 200, r.text
    assert await refused(stack.http, one)
    for method, url in (("GET", "/api/tasks"), ("GET", "/api/expense-claims"), ("POST", "/api/auth/logout")):
        assert (await stack.http.request(method, url, headers=bearer(one))).status_code == 401, url
    r = await stack.http.post("/api/expense-claims", json={"lines": [LINE]}, headers=bearer(one))
    assert r.status_code == 401
    with stack.db.read() as s:
        assert s.execute(select(func.count()).select_from(ExpenseClaim)).scalar_one() == 0
    assert (await me(stack.http, two)).status_code == 200  # her other session goes on
    assert (await stack.http.post("/api/auth/logout")).status_code == 401  # no token: nothing to end


async def ui_login(http: httpx.AsyncClient, username: str) -> str:
    """Logs in through the login form (its double-submit cookie included); the session cookie it set."""
    form = await http.get("/login")
    csrf = LOGIN_CSRF.search(form.text)
    assert form.status_code == 200 and csrf
    r = await http.post("/login", data={"username": username, "password": "demo", "csrf": csrf.group(1)})
    roles = next(roles for name, _full, roles, _manager in USERS if name == username)
    assert r.status_code == 303 and r.headers["location"] == landing(roles), r.text  # each role's own work
    cookie = http.cookies.get("vl_session")
    assert cookie
    return cookie


async def test_ui_logout_ends_the_cookie_server_side(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.http.base_url, timeout=30) as browser:
        cookie = await ui_login(browser, "frank")
        inbox = await browser.get("/inbox")
        assert inbox.status_code == 200
        csrf = PAGE_CSRF.search(inbox.text)
        assert csrf
        r = await browser.post("/logout", data={"csrf": csrf.group(1)})
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert "vl_session" not in browser.cookies
    # whoever kept a copy of the old cookie: refused by the API and sent to the login form by the pages
    async with httpx.AsyncClient(base_url=stack.http.base_url, timeout=30,
                                 headers={"Cookie": f"vl_session={cookie}"}) as replay:
        r = await replay.get("/api/auth/me")
        assert r.status_code == 401 and r.json()["detail"] == ENDED
        assert (await replay.get("/api/tasks")).status_code == 401
        for page in ("/inbox", "/processes", "/"):
            r = await replay.get(page)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), (page, r.status_code)
        r = await replay.post("/logout", data={"csrf": csrf.group(1)})
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert await refused(stack.http, cookie)  # the same session as a bearer token


async def test_a_password_change_ends_every_session_and_the_caller_gets_a_new_one(stack: Stack) -> None:
    one, two = await token(stack.http, "erin"), await token(stack.http, "erin")
    frank = await token(stack.http, "frank")

    r = await stack.http.post("/api/me/password", json={"current": "wrong", "new": "a much better one"},
                              headers=bearer(one))
    assert r.status_code == 403 and r.json()["detail"] == "the current password is wrong"
    for body in ({"current": "demo", "new": "short"}, {"current": "demo", "new": "erin"},
                 {"current": "demo", "new": "x" * 201}, {"current": "demo"},
                 {"current": "demo", "new": "a much better one", "username": "frank"}):
        r = await stack.http.post("/api/me/password", json=body, headers=bearer(one))
        assert r.status_code == 422 and isinstance(r.json()["detail"], str), (body, r.text)
    # nothing changed: both sessions live, the old password still logs in
    assert (await me(stack.http, one)).status_code == 200 and (await me(stack.http, two)).status_code == 200
    await token(stack.http, "erin", "demo")

    r = await stack.http.post("/api/me/password", json={"current": "demo", "new": "a much better one"},
                              headers=bearer(one))
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "bearer"
    fresh = r.json()["access_token"]
    assert "vl_session" not in r.cookies  # a bearer caller gets a token, not a cookie
    assert await refused(stack.http, one) and await refused(stack.http, two)
    assert (await me(stack.http, fresh)).json()["username"] == "erin"
    assert (await me(stack.http, frank)).status_code == 200  # another user's session is untouched
    r = await stack.http.post("/api/auth/token", data={"username": "erin", "password": "demo"})
    assert r.status_code == 401
    await token(stack.http, "erin", "a much better one")
    # the old token cannot change the password back either
    r = await stack.http.post("/api/me/password", json={"current": "a much better one", "new": "demo-demo-demo"},
                              headers=bearer(one))
    assert r.status_code == 401


async def test_a_password_change_from_the_cookie_sets_a_new_cookie(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.http.base_url, timeout=30) as browser:
        old = await ui_login(browser, "grace")
        r = await browser.post("/api/me/password", json={"current": "demo", "new": "grace's new secret"})
        assert r.status_code == 200, r.text
        new = browser.cookies.get("vl_session")
        assert new and new != old and new == r.json()["access_token"]
        assert (await browser.get("/inbox")).status_code == 200
    assert await refused(stack.http, old)


async def test_deactivation_ends_every_session_at_once(stack: Stack) -> None:
    t = await token(stack.http, "erin")
    assert (await me(stack.http, t)).status_code == 200
    with stack.db.write() as s:
        org.set_active(s, "erin", False)
    assert await refused(stack.http, t)
    r = await stack.http.post("/api/auth/token", data={"username": "erin", "password": "demo"})
    assert r.status_code == 401
    with stack.db.write() as s:
        org.set_active(s, "erin", True)
    assert await refused(stack.http, t)  # coming back does not revive the old session
    assert (await me(stack.http, await token(stack.http, "erin"))).status_code == 200


async def test_a_change_of_roles_ends_every_session_at_once(stack: Stack) -> None:
    t = await token(stack.http, "erin")
    assert (await stack.http.get("/api/ledger/trial-balance", headers=bearer(t))).status_code == 403
    with stack.db.write() as s:
        org.set_roles(s, "erin", ["employee", "finance"])
    assert await refused(stack.http, t)
    assert (await stack.http.get("/api/ledger/trial-balance", headers=bearer(t))).status_code == 401
    fresh = await token(stack.http, "erin")
    assert (await me(stack.http, fresh)).json()["roles"] == ["employee", "finance"]
    assert (await stack.http.get("/api/ledger/trial-balance", headers=bearer(fresh))).status_code == 200
    with stack.db.write() as s:
        org.set_roles(s, "erin", ["employee"])  # a role taken away ends the session too
    assert await refused(stack.http, fresh)


async def test_another_api_process_refuses_a_revoked_token_on_its_next_request(dev_env: WorkflowEnvironment,
                                                                               db: Database) -> None:
    """A second app over the same database (its own engine and pool, as a replica in another process has) sees
    every revocation the first one writes, and the first sees the second's."""
    async with serve_stack(dev_env, db, "e2e") as one:
        replica_db = Database(db.url, schema=db.schema)
        settings = Settings(database_url=db.url, task_queue=one.settings.task_queue,
                            secret_key=one.settings.secret_key)
        replica = create_app(settings, Platform(dev_env.client, replica_db, one.settings.task_queue,
                                                id_prefix=f"replica-{uuid.uuid4()}/"))
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=replica),
                                         base_url="http://replica", timeout=30) as two:
                t = await token(one.http, "erin")
                for http in (one.http, two, one.http, two):  # warm: each process has served it
                    assert (await me(http, t)).status_code == 200
                assert (await one.http.post("/api/auth/logout", headers=bearer(t))).status_code == 200
                assert await refused(two, t) and await refused(one.http, t)

                u = await token(two, "frank")
                assert (await me(one.http, u)).status_code == 200
                assert (await two.post("/api/auth/logout", headers=bearer(u))).status_code == 200
                assert await refused(one.http, u)

                v = await token(one.http, "grace")
                assert (await me(two, v)).status_code == 200
                with replica_db.write() as s:
                    org.set_roles(s, "grace", ["finance"])
                assert await refused(one.http, v) and await refused(two, v)
        finally:
            replica_db.dispose()


async def test_every_token_issued_has_a_session_row(stack: Stack) -> None:
    await token(stack.http, "ivan")
    await token(stack.http, "ivan")
    with stack.db.read() as s:
        rows = s.execute(select(AuthSession).where(AuthSession.username == "ivan")).scalars().all()
    assert len(rows) == 2 and all(r.revoked_at is None and r.expires_at > r.issued_at for r in rows)
