"""GET /api/tasks?business_key=…: one key's tasks come from a statement built once per caller and filter, with the
key as a parameter (api.routes.tasks._under_one_key). Whatever the filter, the answer is the inbox listing's (built
part by part, the other path) narrowed to that key, for every key and caller, asked again and again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from api.platform import Platform
from api.routes import tasks as task_routes
from domain.approvals.tables import Task
from domain.core.db import Database
from domain.core.types import utcnow
from settings import Settings

KEYS = ("EC-K1", "EC-K2", "PR-K3")


def _tasks(db: Database) -> None:
    now = utcnow()
    n = 0
    with db.write() as s:
        for key in KEYS:
            for status, kind, role, user, assignee, requester, due, priority in (
                    ("open", "approval", "manager", None, None, "erin", now + timedelta(days=2), 50),
                    ("open", "approval", None, "frank", None, "erin", now - timedelta(days=1), 80),
                    ("open", "alert", "manager", None, "frank", "dave", now + timedelta(hours=3), 20),
                    ("open", "approval", "manager", None, None, "frank", now - timedelta(days=3), 90),  # his own
                    ("open", "approval", "finance", None, None, "erin", None, 50),
                    ("completed", "approval", "manager", None, "frank", "erin", now - timedelta(days=5), 50)):
                n += 1
                s.add(Task(id=f"t-{n}", workflow_id=f"wf-{key}", process_id=f"p-{key}", process_type="expense_claim",
                           kind=kind, title=f"{key} {n}", business_key=key, amount=Decimal(100 * n),
                           requester=requester, candidate_role=role, candidate_user=user, assignee=assignee,
                           status=status, priority=priority, due_at=due))


@pytest_asyncio.fixture
async def http(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    _tasks(db)
    app = create_app(Settings(database_url=db.url, secret_key=f"unit-{uuid.uuid4().hex}"),
                     Platform(None, db, "unit"))  # type: ignore[arg-type]  # reads only
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://unit") as client:
        yield client


async def _ids(http: httpx.AsyncClient, token: str, **params: Any) -> list[str]:
    r = await http.get("/api/tasks", params={"limit": 200, **params}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()]


@pytest.mark.parametrize("params", [
    {}, {"kind": "approval"}, {"kind": "alert"}, {"view": "mine"}, {"view": "roles"}, {"assigned": "me"},
    {"sort": "priority"}, {"sort": "created", "direction": "desc"}, {"overdue": "true"}, {"status": "completed"},
    {"min_amount": "500", "max_amount": "1500"}, {"scope": "all"},
])
async def test_one_keys_tasks_are_the_listings_under_that_key(http: httpx.AsyncClient, params: dict[str, Any]) -> None:
    task_routes._under_one_key.cache_clear()
    seen = 0
    for user in ("frank", "heidi", "admin", "erin"):
        r = await http.post("/api/auth/token", data={"username": user, "password": "demo"})
        token = r.json()["access_token"]
        listing = await _ids(http, token, **params)
        seen += len(listing)
        keyed: dict[str, str] = {}
        for _ in range(2):  # the second time from the kept statement
            for key in KEYS:
                got = await _ids(http, token, business_key=key, **params)
                keyed.update(dict.fromkeys(got, key))
                assert got == [i for i in listing if i in _under(key)], (user, key, params)
        assert set(keyed) == set(listing)
    assert seen  # someone sees some of them under every filter
    if "overdue" not in params:
        assert task_routes._under_one_key.cache_info().hits > 0


def _under(key: str) -> set[str]:
    first = KEYS.index(key) * 6 + 1
    return {f"t-{n}" for n in range(first, first + 6)}
