"""An Idempotency-Key is the caller's own: reusing another user's key (same endpoint, same body, another endpoint,
a forged or logged-out token) never yields the victim's answer or touches the victim's document."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from domain.core.tables import IdempotencyKey
from domain.crm.tables import Lead
from domain.expenses.tables import ExpenseClaim
from tests.attack.conftest import AttackStack

pytestmark = pytest.mark.e2e

LEAD = {"company": "Initech", "contact": "Bill Lumbergh", "email": "bill@initech.example", "source": "website",
        "estimated_value": "5000"}
LINE = {"category": "travel", "amount": "100.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}


class TestCrossUserKeyReuse:
    async def _victim(self, stack: AttackStack, key: str) -> Any:
        r = await stack.as_("alice", "POST", "/api/leads", json=LEAD, headers={"Idempotency-Key": key})
        assert r.status_code == 201, r.text
        return r.json()

    async def test_same_key_same_body_by_another_user_is_their_own_request(self, stack: AttackStack) -> None:
        key = f"k-{uuid.uuid4()}"
        victims = await self._victim(stack, key)
        r = await stack.as_("bob", "POST", "/api/leads", json=LEAD, headers={"Idempotency-Key": key})
        assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
        assert r.json()["lead_id"] != victims["lead_id"]
        with stack.db.read() as s:
            assert s.execute(select(Lead.created_by).where(Lead.number == r.json()["lead_id"])).scalar_one() == "bob"
            scopes = sorted(s.execute(select(IdempotencyKey.username, IdempotencyKey.path)
                                      .where(IdempotencyKey.key == key)).all())
        assert scopes == [("alice", "/api/leads"), ("bob", "/api/leads")]

    async def test_a_user_without_the_role_gets_his_refusal_not_the_victims_answer(self, stack: AttackStack) -> None:
        key = f"k-{uuid.uuid4()}"
        await self._victim(stack, key)
        r = await stack.as_("erin", "POST", "/api/leads", json=LEAD, headers={"Idempotency-Key": key})
        assert r.status_code == 403 and "lead_id" not in r.text

    async def test_another_users_key_on_another_endpoint_is_unrelated(self, stack: AttackStack) -> None:
        key = f"k-{uuid.uuid4()}"
        victims = await self._victim(stack, key)
        r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [LINE]},
                            headers={"Idempotency-Key": key})
        assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers and victims["lead_id"] not in r.text
        with stack.db.read() as s:
            assert s.execute(select(ExpenseClaim.requester).where(ExpenseClaim.number == r.json()["claim_id"])
                             ).scalar_one() == "erin"

    async def test_a_body_differing_from_the_victims_is_not_a_mismatch_for_the_attacker(self,
                                                                                       stack: AttackStack) -> None:
        """A 422 'key used for another request' would tell the attacker the victim used this key: he gets none."""
        key = f"k-{uuid.uuid4()}"
        await self._victim(stack, key)
        r = await stack.as_("bob", "POST", "/api/leads", json={**LEAD, "company": "Other"},
                            headers={"Idempotency-Key": key})
        assert r.status_code == 201 and r.json()["lead_id"]

    async def test_another_users_key_does_not_reach_the_victims_stock_adjustment(self, stack: AttackStack) -> None:
        """Was the defect: stock adjustments keyed `adjust:<key>` for everyone, so admin's adjustment under ivan's key
        answered with ivan's entry and moved nothing."""
        key = f"k-{uuid.uuid4()}"
        before = (await stack.as_("admin", "GET", "/api/stock/BOLT-M8")).json()["on_hand"]
        ivans = await stack.as_("ivan", "POST", "/api/stock/adjustments", headers={"Idempotency-Key": key},
                                json={"sku": "BOLT-M8", "qty": 5, "reason": "found in the back"})
        admins = await stack.as_("admin", "POST", "/api/stock/adjustments", headers={"Idempotency-Key": key},
                                 json={"sku": "BOLT-M8", "qty": 7, "reason": "recount"})
        assert ivans.status_code == admins.status_code == 201
        assert admins.json()["ledger_entry_id"] != ivans.json()["ledger_entry_id"]
        after = (await stack.as_("admin", "GET", "/api/stock/BOLT-M8")).json()["on_hand"]
        assert float(after) == float(before) + 12

    async def test_forged_anonymous_and_logged_out_tokens_get_401_not_the_answer(self, stack: AttackStack) -> None:
        assert stack.settings is not None
        key = f"k-{uuid.uuid4()}"
        victims = await self._victim(stack, key)
        forged = jwt.encode({"sub": "alice", "exp": int(time.time()) + 600, "jti": uuid.uuid4().hex},
                            stack.settings.secret_key, algorithm="HS256")  # right key, but no session behind it
        wrong = jwt.encode({"sub": "alice", "exp": int(time.time()) + 600, "jti": uuid.uuid4().hex},
                           "another-secret-of-enough-length-for-hs256", algorithm="HS256")
        for headers in ({}, {"Authorization": f"Bearer {forged}"}, {"Authorization": f"Bearer {wrong}"},
                        {"Authorization": "Bearer x", "Cookie": f"vl_session={forged}"}):
            r = await stack.http.post("/api/leads", json=LEAD, headers={**headers, "Idempotency-Key": key})
            assert r.status_code == 401 and victims["lead_id"] not in r.text, (headers, r.text)
        # alice's own token after she logged out: 401 too, not her stored answer
        token = await stack.login("alice")
        assert (await stack.http.post("/api/auth/logout", headers=token)).status_code in (200, 204)
        r = await stack.http.post("/api/leads", json=LEAD, headers={**token, "Idempotency-Key": key})
        assert r.status_code == 401 and victims["lead_id"] not in r.text
