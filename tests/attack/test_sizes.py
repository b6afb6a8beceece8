"""Oversized input: bodies over the limit (with or without a Content-Length) are 413, lists over the line
limit and absurdly long strings are 422 -- never a 500, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from domain.crm.tables import Lead
from domain.expenses.tables import ExpenseClaim

pytestmark = pytest.mark.e2e

LINE = {"category": "travel", "amount": "1.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}


async def test_bodies_over_the_limit_are_413(stack):
    limit = stack.settings.max_body_bytes
    headers = {**await stack.login("erin"), "content-type": "application/json"}
    big = json.dumps({"lines": [LINE], "pad": "x" * limit}).encode()
    r = await stack.http.post("/api/expense-claims", content=big, headers=headers)
    assert r.status_code == 413 and "bytes" in r.json()["detail"]

    # a small chunked body still goes through
    async def small():
        yield json.dumps({"lines": [LINE]}).encode()
    r = await stack.http.post("/api/expense-claims", content=small(), headers=headers)
    assert r.status_code == 201, r.text
    with stack.db.read() as s:
        assert s.execute(select(func.count()).select_from(ExpenseClaim)).scalar_one() == 1


async def test_a_chunked_body_over_the_limit_is_413(stack):
    limit = stack.settings.max_body_bytes
    headers = {**await stack.login("erin"), "content-type": "application/json"}

    async def chunks():  # no Content-Length: sent chunked, counted as it streams in
        yield b'{"lines": [' + json.dumps(LINE).encode() + b'], "pad": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    r = await stack.http.post("/api/expense-claims", content=chunks(), headers=headers)
    assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
    assert r.status_code == 413, r.text


async def test_lists_over_the_line_limit_are_422(stack):
    n = stack.settings.max_lines + 1
    cases = [
        ("erin", "/api/expense-claims", {"lines": [LINE] * n}),
        ("dave", "/api/purchase-requisitions", {"lines": [{"sku": "MOTOR-200W", "qty": 1, "est_unit_price": 1}] * n}),
        ("admin", "/api/sales-orders", {"customer_id": 1, "lines": [{"sku": "BOLT-M8", "qty": 1, "unit_price": 1}] * n}),
        ("admin", "/api/scoring-rules", {"rules": [{"field": "source", "op": "eq", "value": "x", "points": 1}] * n}),
    ]
    for who, url, body in cases:
        method = "PUT" if url == "/api/scoring-rules" else "POST"
        r = await stack.as_(who, method, url, json=body)
        assert r.status_code == 422, (url, r.status_code, r.text[:200])
        assert isinstance(r.json()["detail"], str)
    with stack.db.read() as s:
        assert s.execute(select(func.count()).select_from(ExpenseClaim)).scalar_one() == 0


LONG = "A" * 100_000


async def test_absurdly_long_strings_are_422_not_500(stack):
    bodies = [
        ("erin", "POST", "/api/expense-claims", {"lines": [{**LINE, "description": LONG}]}),
        ("alice", "POST", "/api/leads", {"company": LONG, "contact": "x", "email": "a@b.example", "source": "website",
                                          "estimated_value": "1"}),
        ("admin", "POST", "/api/items", {"sku": LONG, "name": "x", "kind": "purchased"}),
        ("admin", "POST", "/api/customers", {"name": LONG}),
        ("admin", "POST", "/api/users", {"username": "u" * 5000, "password": "p" * 10_000, "roles": ["employee"]}),
        ("dave", "POST", "/api/purchase-requisitions", {"lines": [{"sku": "MOTOR-200W", "qty": 1,
                                                                   "est_unit_price": 1}], "justification": LONG}),
        ("ivan", "POST", "/api/stock/adjustments", {"sku": "BOLT-M8", "qty": 1, "reason": LONG}),
        ("erin", "POST", "/api/expense-claims", {"lines": [{**LINE, "amount": "1" * 5000}]}),
        # issue 19: form requests, form types, comments, webhooks, OA actions
        ("erin", "POST", "/api/requests", {"form": "business_trip", "values": {"destination": LONG}}),
        ("erin", "POST", "/api/requests", {"form": LONG, "values": {}}),
        ("admin", "POST", "/api/form-types", {"key": "x" * 5000, "name": LONG, "fields": [], "route": []}),
        ("erin", "POST", "/api/comments", {"document": "EC-00001", "text": LONG}),
        ("admin", "POST", "/api/webhooks", {"url": "http://" + LONG, "events": ["mention"], "secret": LONG}),
        ("frank", "POST", "/api/tasks/x/send-back", {"comment": LONG}),
        ("frank", "POST", "/api/tasks/x/copy-to", {"usernames": [LONG]}),
        ("frank", "POST", "/api/tasks/x/add-approver", {"username": LONG}),
    ]
    for who, method, url, body in bodies:
        r = await stack.as_(who, method, url, json=body)
        assert r.status_code == 422, (url, r.status_code, r.text[:200])
    # long values in paths and queries: an answer, not a crash
    for who, url in [("admin", "/api/items/" + "A" * 3000), ("admin", "/api/leads/" + "L" * 3000),
                     ("admin", "/api/expense-claims?status=" + "s" * 5000),
                     ("admin", "/api/processes?business_key=" + "k" * 5000),
                     ("admin", "/api/tasks?business_key=" + "k" * 5000),
                     ("admin", "/api/customers/" + "9" * 400), ("erin", "/api/requests/" + "F" * 3000),
                     ("erin", "/api/attachments/" + "a" * 3000), ("erin", "/api/comments?document=" + "D" * 5000),
                     ("erin", "/api/attachments?document=" + "D" * 5000), ("erin", "/api/form-types/" + "k" * 3000),
                     ("erin", "/api/requests?status=" + "s" * 5000 + "&form=" + "f" * 5000)]:
        r = await stack.as_(who, "GET", url)
        assert r.status_code in (200, 404, 422), (url[:60], r.status_code, r.text[:200])
    r = await stack.http.post("/api/auth/token", data={"username": LONG, "password": LONG})
    assert r.status_code in (401, 422)
    with stack.db.read() as s:
        assert s.execute(select(func.count()).select_from(Lead)).scalar_one() == 0


async def test_text_no_database_can_store_is_422_not_500(stack):
    """A NUL (PostgreSQL refuses it) or an unpaired surrogate (not UTF-8), in a JSON body, a query string, a path
    or a form: 422 with a sentence, nothing stored; the same text with the characters escaped harmlessly (a
    literal backslash-u, a real surrogate pair) goes through."""
    headers = await stack.login("admin")
    for body in ('{"name": "Acme\\u0000 Ltd", "currency": "USD"}', '{"name": "Acme \\udc00", "currency": "USD"}',
                 '{"name": "Acme \\ud83d", "currency": "USD"}'):
        r = await stack.http.post("/api/customers", content=body.encode(),
                                  headers={**headers, "content-type": "application/json"})
        assert r.status_code == 422 and "NUL" in r.json()["detail"], (body, r.text)
    for url in ("/api/processes?customer=a%00b", "/api/processes/counts?owner=%00", "/api/items/BOLT%00"):
        r = await stack.http.get(url, headers=headers)
        assert r.status_code == 422, (url, r.text)
    r = await stack.http.post("/login", content=b"username=a%00&password=x",
                              headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422
    before = len((await stack.as_("admin", "GET", "/api/customers")).json())
    for name in ("Acme \\u0000 escaped", "Acme \U0001F600 pair"):
        r = await stack.as_("admin", "POST", "/api/customers", json={"name": name, "currency": "USD"})
        assert r.status_code == 201, (name, r.text)
    assert len((await stack.as_("admin", "GET", "/api/customers")).json()) == before + 2


async def test_a_name_told_apart_only_by_case_beyond_ascii_is_409_not_500(stack):
    """SQLite's lower() folds ASCII only: 'Ärger' twice passed the check and hit the unique index (500)."""
    for path in ("/api/customers", "/api/suppliers"):
        assert (await stack.as_("admin", "POST", path, json={"name": "Ärger GmbH", "currency": "EUR"})).status_code == 201
        r = await stack.as_("admin", "POST", path, json={"name": " Ärger GmbH ", "currency": "EUR"})
        assert r.status_code == 409 and "exists already" in r.json()["detail"], r.text


async def test_an_amount_bound_past_what_the_column_holds_is_422_not_500(stack):
    """An amount column holds up to ~9.2e14 on SQLite (ten-thousandths in 64 bits): 9.8e14 overflowed (500)."""
    headers = await stack.login("frank")
    for url in ("/api/tasks?max_amount=981520938350250", "/api/tasks/counts?min_amount=981520938350250"):
        r = await stack.http.get(url, headers=headers)
        assert r.status_code == 422, (url, r.text)
    # the inbox page says the same in words: tests/e2e/test_inbox_pages.py
