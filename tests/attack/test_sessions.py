"""Replaying an ended session: a token or cookie kept after logout (or after a password change) opens nothing —
no read, no write, no page, no way to log out again or to change the password — and a token signed with the
right key that names another user's session, or a session the app never opened, is refused the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import func, select

from domain.expenses.tables import ExpenseClaim
from domain.org.tables import AuthSession
from domain.purchasing.tables import PurchaseRequisition
from tests.attack.conftest import AttackStack

pytestmark = pytest.mark.e2e

LINE = {"category": "travel", "amount": "100.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}

# (method, path, body): reads and writes of several areas, as admin may do them all.
REPLAYS: list[tuple[str, str, object]] = [
    ("GET", "/api/auth/me", None),
    ("GET", "/api/tasks", None),
    ("GET", "/api/users", None),
    ("GET", "/api/items", None),
    ("GET", "/api/customers", None),
    ("GET", "/api/expense-claims", None),
    ("GET", "/api/ledger/trial-balance", None),
    ("GET", "/api/stock/BOLT-M8", None),
    ("POST", "/api/expense-claims", {"lines": [LINE]}),
    ("POST", "/api/purchase-requisitions", {"lines": [{"sku": "BOLT-M8", "qty": 10, "est_unit_price": "0.50"}],
                                            "justification": "replayed"}),
    ("POST", "/api/users", {"username": "mallory", "password": "long enough pw", "roles": ["admin"]}),
    ("POST", "/api/me/password", {"current": "demo", "new": "taken over now"}),
    ("POST", "/api/auth/logout", None),
]
PAGES = ["/inbox", "/processes", "/dashboard"]


def _count(stack: AttackStack, model: type) -> int:
    with stack.db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


async def _replayed(stack: AttackStack, token: str) -> list[tuple[str, str, int]]:
    """Each replay that was not refused: (method, path, status)."""
    wrong = []
    for method, path, body in REPLAYS:
        r = await stack.http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
        if r.status_code != 401 or r.headers.get("www-authenticate") != "Bearer":
            wrong.append((method, path, r.status_code))
        r = await stack.http.request(method, path, json=body, headers={"Cookie": f"vl_session={token}"})
        if r.status_code != 401:
            wrong.append((method, "cookie " + path, r.status_code))
    for page in PAGES:
        r = await stack.http.get(page, headers={"Cookie": f"vl_session={token}"})
        if r.status_code != 303 or not r.headers["location"].startswith("/login"):
            wrong.append(("GET", page, r.status_code))
    return wrong


async def test_a_logged_out_token_replayed_everywhere_is_refused_and_changes_nothing(stack: AttackStack) -> None:
    token = (await stack.login("admin"))["Authorization"].split()[1]
    r = await stack.http.get("/api/users", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200  # the control: it worked before logout
    assert (await stack.http.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    before = (_count(stack, ExpenseClaim), _count(stack, PurchaseRequisition))
    assert await _replayed(stack, token) == []
    assert (_count(stack, ExpenseClaim), _count(stack, PurchaseRequisition)) == before == (0, 0)
    r = await stack.http.post("/api/auth/token", data={"username": "mallory", "password": "long enough pw"})
    assert r.status_code == 401  # no user was made
    r = await stack.http.post("/api/auth/token", data={"username": "admin", "password": "demo"})
    assert r.status_code == 200  # and admin's password is unchanged


async def test_tokens_from_before_a_password_change_are_refused_everywhere(stack: AttackStack) -> None:
    stolen = (await stack.login("admin"))["Authorization"].split()[1]
    r = await stack.http.post("/api/auth/token", data={"username": "admin", "password": "demo"})
    mine = r.json()["access_token"]
    r = await stack.http.post("/api/me/password", json={"current": "demo", "new": "admin's new secret"},
                              headers={"Authorization": f"Bearer {mine}"})
    assert r.status_code == 200, r.text
    assert await _replayed(stack, stolen) == []
    assert await _replayed(stack, mine) == []


def _forge(stack: AttackStack, sub: str, jti: str) -> str:
    now = datetime.now(UTC)
    claims = {"sub": sub, "iat": now, "exp": now + timedelta(minutes=10), "jti": jti}
    return jwt.encode(claims, str(stack.settings.secret_key), algorithm="HS256")  # type: ignore[union-attr]


async def test_a_well_signed_token_needs_its_own_live_session(stack: AttackStack) -> None:
    """With the signing key, an attacker still cannot name a session of another user, a session that ended, or
    one that was never opened."""
    await stack.login("erin")
    with stack.db.read() as s:
        erins = s.execute(select(AuthSession.jti).where(AuthSession.username == "erin")).scalar_one()
    assert (await stack.http.get("/api/auth/me", headers={"Authorization": f"Bearer {_forge(stack, 'erin', erins)}"})
            ).status_code == 200  # the control: the key and erin's own session
    for sub, jti in (("admin", erins), ("heidi", erins), ("admin", "0" * 32), ("admin", "")):
        r = await stack.http.get("/api/auth/me", headers={"Authorization": f"Bearer {_forge(stack, sub, jti)}"})
        assert r.status_code == 401, (sub, jti, r.text)
