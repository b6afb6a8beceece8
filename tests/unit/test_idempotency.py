"""The Idempotency-Key middleware and the one-time form tokens against a small app of their own (no Temporal): what
is kept, what is released for a retry, the key's scope, its checks, the wait for a first request still running, and
the day after which a key is forgotten."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import func, select, update

from api import auth, idempotency
from api.idempotency import Idempotency, once_per_form
from api.platform import Platform
from domain.core import idempotency as keys
from domain.core.db import Database
from domain.core.tables import IdempotencyKey
from domain.core.types import utcnow
from domain.org import sessions

SECRET = "unit-test-secret-" + "x" * 20


DB: list[Database] = []


def token(username: str, secret: str = SECRET) -> str:
    """A token of a live session of `username` (a demo user)."""
    with DB[0].write() as s:
        row = sessions.open_session(s, username, 60)
        return auth.sign(username, row.jti, row.issued_at, row.expires_at, secret)


def bearer(username: str, key: str | None = None, secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(username, secret)}", **({"Idempotency-Key": key} if key else {})}


class Settings:
    secret_key = SECRET


@pytest_asyncio.fixture
async def app(db: Database) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    calls: dict[str, Any] = {"n": 0, "fail": [], "gate": None}
    app = FastAPI()
    app.state.settings = Settings()
    DB[:] = [db]
    app.state.platform = Platform(None, db, "unit")  # type: ignore[arg-type]  # only its read and write

    @app.post("/api/things", status_code=201)
    async def make(request: Request) -> Any:
        calls["n"] += 1
        n = calls["n"]
        if calls["gate"] is not None:
            await calls["gate"].wait()
        if calls["fail"]:
            kind = calls["fail"].pop(0)
            if kind == "raise":
                raise RuntimeError("boom")
            return JSONResponse({"detail": kind}, status_code=int(kind))
        return JSONResponse({"thing": n, "body": (await request.body()).decode()}, status_code=201,
                            headers={"Location": f"/api/things/{n}", "Set-Cookie": "x=1"})

    @app.post("/api/other", status_code=201)
    async def other() -> Any:
        calls["n"] += 1
        return {"other": calls["n"]}

    @app.post("/api/auth/token")
    async def login() -> Any:
        calls["n"] += 1
        return {"n": calls["n"]}

    @app.post("/form")
    async def form(request: Request) -> Any:
        async def handler() -> Any:
            calls["n"] += 1
            if calls["gate"] is not None:
                await calls["gate"].wait()
            if (await request.form()).get("bad"):
                return JSONResponse({"detail": "fix it"}, status_code=422)
            return RedirectResponse(f"/done/{calls['n']}", status_code=303)
        return await once_per_form(request, handler)

    app.add_middleware(Idempotency)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http, calls


def rows(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(IdempotencyKey)).scalar_one())


async def test_a_repeat_gets_the_first_answer_and_runs_nothing(app: Any, db: Database) -> None:
    http, calls = app
    first = await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "k-1"))
    again = await http.post("/api/things", content=b'{ "a" : 1 }', headers={**bearer("erin", "k-1"),
                                                                              "Content-Type": "application/json"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() == {"thing": 1, "body": '{"a":1}'}
    assert again.headers["Location"] == "/api/things/1" and "set-cookie" not in again.headers
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert calls["n"] == 1 and rows(db) == 1


async def test_the_key_is_the_callers_and_the_endpoints(app: Any) -> None:
    http, _calls = app
    a = await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "k"))
    b = await http.post("/api/things", json={"a": 1}, headers=bearer("dave", "k"))
    c = await http.post("/api/other", json={"a": 1}, headers=bearer("erin", "k"))
    assert [a.json()["thing"], b.json()["thing"], c.json()["other"]] == [1, 2, 3]
    assert "Idempotent-Replayed" not in b.headers and "Idempotent-Replayed" not in c.headers


async def test_another_body_under_a_used_key_is_422_and_runs_nothing(app: Any) -> None:
    http, calls = app
    assert (await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "k"))).status_code == 201
    r = await http.post("/api/things", json={"a": 2}, headers=bearer("erin", "k"))
    assert r.status_code == 422 and "different request" in r.json()["detail"]
    r = await http.post("/api/things?x=1", json={"a": 1}, headers=bearer("erin", "k"))
    assert r.status_code == 422
    assert calls["n"] == 1


@pytest.mark.parametrize("failure", ["500", "503", "raise", "401", "429"])
async def test_a_failed_first_request_leaves_the_key_free_for_a_retry(app: Any, db: Database,
                                                                      failure: str) -> None:
    http, calls = app
    calls["fail"] = [failure]
    r = await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "k"))
    assert r.status_code == (500 if failure == "raise" else int(failure))
    assert rows(db) == 0
    r = await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "k"))
    assert r.status_code == 201 and r.json()["thing"] == 2 and "Idempotent-Replayed" not in r.headers


async def test_a_4xx_answer_is_final(app: Any) -> None:
    http, calls = app
    calls["fail"] = ["409"]
    r = await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "k"))
    again = await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "k"))
    assert r.status_code == again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert calls["n"] == 1


@pytest.mark.parametrize("key", ["", " lead", "tab\there", "é", "x" * 201])
async def test_a_bad_key_is_422(app: Any, key: str) -> None:
    http, calls = app
    headers = {**bearer("erin"), "Idempotency-Key": key.encode("utf-8")}
    r = await http.post("/api/things", json={"a": 1}, headers=headers)
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    assert calls["n"] == 0


async def test_two_key_headers_are_422(app: Any) -> None:
    http, calls = app
    headers = [("Authorization", f"Bearer {token('erin')}"), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    r = await http.post("/api/things", json={"a": 1}, headers=headers)
    assert r.status_code == 422 and calls["n"] == 0


async def test_without_a_valid_user_the_key_is_not_looked_at(app: Any, db: Database) -> None:
    http, calls = app
    erins = bearer("erin", "k")
    assert (await http.post("/api/things", json={"a": 1}, headers=erins)).json()["thing"] == 1
    now = utcnow()
    with db.write() as s:
        sessions.revoke_sessions(s, "erin", sessions.LOGOUT)
    for headers in ({"Idempotency-Key": "k"}, bearer("erin", "k", secret="another-secret-" + "y" * 20),
                    {"Authorization": "Bearer nonsense", "Idempotency-Key": "k"},
                    {"Authorization": "Bearer " + auth.sign("erin", uuid.uuid4().hex, now, now + timedelta(hours=1),
                                                            SECRET), "Idempotency-Key": "k"},
                    erins):  # forged, a session never opened, and erin's own token after her logout
        r = await http.post("/api/things", json={"a": 1}, headers=headers)
        assert "Idempotent-Replayed" not in r.headers and r.json()["thing"] != 1
    assert calls["n"] == 6 and rows(db) == 1  # (this app has no login of its own: each ran)
    r = await http.post("/api/auth/token", headers=bearer("erin", "k2"))
    r = await http.post("/api/auth/token", headers=bearer("erin", "k2"))
    assert r.json() == {"n": 8} and rows(db) == 1


async def test_concurrent_repeats_wait_for_the_first_and_get_its_answer(app: Any, db: Database) -> None:
    http, calls = app
    calls["gate"] = asyncio.Event()
    headers = bearer("erin", "k")
    sent = [asyncio.create_task(http.post("/api/things", json={"a": 1}, headers=headers)) for _ in range(5)]
    for _ in range(200):
        if calls["n"]:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert calls["n"] == 1  # the others wait
    calls["gate"].set()
    answers = await asyncio.gather(*sent)
    assert {r.status_code for r in answers} == {201} and {r.json()["thing"] for r in answers} == {1}
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in answers) == ["", "true", "true", "true", "true"]
    assert calls["n"] == 1 and rows(db) == 1


async def test_a_repeat_waits_only_so_long_then_409(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    http, calls = app
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    calls["gate"] = asyncio.Event()
    first = asyncio.create_task(http.post("/api/things", json={"a": 1}, headers=bearer("erin", "k")))
    while not calls["n"]:  # noqa: ASYNC110 - the first request has claimed the key and runs
        await asyncio.sleep(0.02)
    r = await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "k"))
    assert r.status_code == 409 and "still in progress" in r.json()["detail"]
    calls["gate"].set()
    assert (await first).status_code == 201 and calls["n"] == 1


async def test_keys_are_forgotten_after_a_day_and_abandoned_claims_taken_over(app: Any, db: Database) -> None:
    http, _calls = app
    assert (await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "old"))).json()["thing"] == 1
    with db.write() as s:
        s.execute(update(IdempotencyKey).values(created_at=utcnow() - keys.KEEP - timedelta(minutes=1)))
    r = await http.post("/api/things", json={"a": 2}, headers=bearer("erin", "old"))  # a new request now
    assert r.status_code == 201 and r.json()["thing"] == 2 and "Idempotent-Replayed" not in r.headers
    with db.write() as s:  # a claim whose process died (pending, never finished)
        s.execute(update(IdempotencyKey).values(state="pending", created_at=utcnow() - keys.ABANDONED * 2))
    r = await http.post("/api/things", json={"a": 2}, headers=bearer("erin", "old"))
    assert r.status_code == 201 and r.json()["thing"] == 3
    with db.write() as s:
        s.execute(update(IdempotencyKey).values(created_at=utcnow() - keys.KEEP * 2))
        assert keys.prune(s) == 1
    assert rows(db) == 0


async def test_a_form_token_runs_once_and_a_refused_submit_frees_it(app: Any, db: Database) -> None:
    http, calls = app
    cookie = {"Cookie": f"vl_session={token('erin')}"}
    t = idempotency.new_form_token()
    assert t != idempotency.new_form_token()
    r = await http.post("/form", data={"form_token": t, "bad": "1"}, headers=cookie)
    assert r.status_code == 422 and rows(db) == 0
    calls["gate"] = asyncio.Event()
    sent = [asyncio.create_task(http.post("/form", data={"form_token": t}, headers=cookie)) for _ in range(3)]
    await asyncio.sleep(0.3)
    calls["gate"].set()
    answers = await asyncio.gather(*sent)
    assert [r.status_code for r in answers] == [303] * 3
    assert {r.headers["location"] for r in answers} == {"/done/2"} and calls["n"] == 2
    # another user's session with the same token is another submit; no token at all runs every time
    r = await http.post("/form", data={"form_token": t}, headers={"Cookie": f"vl_session={token('dave')}"})
    assert r.headers["location"] == "/done/3"
    assert (await http.post("/form", data={}, headers=cookie)).headers["location"] == "/done/4"
    assert (await http.post("/form", data={}, headers=cookie)).headers["location"] == "/done/5"


async def test_old_keys_are_pruned_at_most_every_few_minutes(app: Any, db: Database,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    http, _calls = app

    def age_all() -> None:
        with db.write() as s:
            s.execute(update(IdempotencyKey).values(created_at=utcnow() - keys.KEEP * 2))

    await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "a"))  # the first request prunes
    age_all()
    await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "b"))  # not again so soon
    assert rows(db) == 2
    age_all()
    monkeypatch.setattr(idempotency, "PRUNE_EVERY", 0.0)
    await http.post("/api/things", json={"a": 1}, headers=bearer("erin", "c"))
    assert rows(db) == 1


def test_the_api_schema_names_the_header_where_it_applies():
    from api.app import create_app
    from settings import Settings

    paths = create_app(Settings(_env_file=None, secret_key="k" * 32)).openapi()["paths"]
    named = {(m.upper(), p) for p, ops in paths.items() for m, op in ops.items()
             if any(x.get("name", "").lower() == "idempotency-key" and x["in"] == "header"
                    for x in op.get("parameters", []))}
    assert ("POST", "/api/expense-claims") in named and ("POST", "/api/stock/adjustments") in named
    assert ("PUT", "/api/pricing-policies") in named
    assert not any(p.startswith("/api/auth/") for _, p in named)
    assert not any(m == "GET" for m, _ in named)
    writes = {(m.upper(), p) for p, ops in paths.items() for m in ops
              if m.upper() in ("POST", "PUT", "PATCH", "DELETE") and p.startswith("/api/") and not p.startswith("/api/auth/")}
    assert writes == named


def test_a_keyed_request_run_again_takes_the_numbers_its_first_run_took(db: Database) -> None:
    from domain.core import records
    from domain.core.tables import IdempotencyRecord

    scope = keys.Scope("erin", "POST", "/api/expense-claims", "k1")

    def run(scope_: keys.Scope) -> list[str]:
        token_ = records.keyed_request.set(records.KeyedRequest(keys.scope_hash(scope_)))
        try:
            with db.write() as s:
                return [records.next_number(s, "ZZ"), records.next_number(s, "ZZ"), records.next_number(s, "ZY")]
        finally:
            records.keyed_request.reset(token_)

    first = run(scope)
    assert first == ["ZZ-00001", "ZZ-00002", "ZY-00001"]
    assert run(scope) == first  # the same request again: the same numbers, none taken
    other = keys.Scope("erin", "POST", "/api/expense-claims", "k2")
    assert run(other) == ["ZZ-00003", "ZZ-00004", "ZY-00002"]
    with db.write() as s:  # outside a keyed request: the next number, as always
        assert records.next_number(s, "ZZ") == "ZZ-00005"
    # the key forgotten after a day: a claim of it is a new request, which takes new numbers
    with db.write() as s:
        assert keys.claim(s, scope, None).kind == "claimed"
    with db.write() as s:
        s.execute(update(IdempotencyKey).values(created_at=utcnow() - keys.KEEP - timedelta(minutes=1)))
    with db.write() as s:
        assert keys.claim(s, scope, None).kind == "claimed"
    assert run(scope) == ["ZZ-00006", "ZZ-00007", "ZY-00003"]
    # prune forgets the numbers with the keys
    with db.write() as s:
        s.execute(update(IdempotencyRecord).values(created_at=utcnow() - keys.KEEP * 2))
        s.execute(update(IdempotencyKey).values(created_at=utcnow() - keys.KEEP * 2))
        keys.prune(s)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(IdempotencyRecord)
                         .where(IdempotencyRecord.key.startswith(records.NUMBER_RECORD))).scalar_one() == 0
