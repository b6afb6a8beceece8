"""The cash policies through HTTP: finance and the cfo read them, admin changes them, a policy the rules refuse
(dunning levels not rising) is 422 with a sentence and changes nothing, and a new tolerance is what the next
bill's match uses."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

POLICY = {"dunning": {"reminder_days": 5, "levels": [10, 20, 45], "hold_after_days": 45},
          "match": {"price_pct": "5", "amount": "50"}, "write_off_threshold": "0"}


async def test_admin_edits_the_cash_policy_finance_reads_it(stack):
    r = await stack.as_("grace", "GET", "/api/cash-policy")
    assert r.status_code == 200, r.text
    demo = r.json()
    assert demo["dunning"] == {"reminder_days": 3, "levels": [7, 14, 30], "hold_after_days": 30}
    assert (await stack.as_("grace", "PUT", "/api/cash-policy", json=POLICY)).status_code == 403
    assert (await stack.as_("alice", "GET", "/api/cash-policy")).status_code == 403
    for bad in ({**POLICY, "dunning": {**POLICY["dunning"], "levels": [20, 10]}},
                {**POLICY, "dunning": {**POLICY["dunning"], "levels": [0, 10]}},
                {**POLICY, "match": {"price_pct": "-1", "amount": "50"}},
                {**POLICY, "match": {"price_pct": "١٢", "amount": "50"}}):
        r = await stack.as_("admin", "PUT", "/api/cash-policy", json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert (await stack.as_("heidi", "GET", "/api/cash-policy")).json() == demo  # nothing changed
    r = await stack.as_("admin", "PUT", "/api/cash-policy", json=POLICY)
    assert r.status_code == 200, r.text
    got = (await stack.as_("heidi", "GET", "/api/cash-policy")).json()
    assert got["dunning"] == POLICY["dunning"] and got["match"]["price_pct"] == "5.00"
