"""Leads through HTTP: create, read, log activity, qualify; and the refusals."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

LEAD = {"company": "Wayne Enterprises", "contact": "Lucius Fox", "email": "lucius@wayne.example",
        "source": "trade_show", "estimated_value": "75000"}


async def test_lead_to_opportunity_over_http(stack):
    r = await stack.as_("alice", "POST", "/api/leads", json=LEAD)
    assert r.status_code == 201, r.text
    number = r.json()["lead_id"]
    lead = (await stack.as_("alice", "GET", f"/api/leads/{number}")).json()
    assert lead["owner"] == "alice" and lead["status"] == "assigned" and lead["score"] > 0
    assert lead["score_reasons"] and all({"rule", "points", "reason"} <= set(x) for x in lead["score_reasons"])
    assert (await stack.as_("carol", "GET", f"/api/leads/{number}")).status_code == 404
    assert (await stack.as_("bob", "GET", f"/api/leads/{number}")).status_code == 200  # sales manager
    r = await stack.as_("alice", "POST", f"/api/leads/{number}/activities", json={"kind": "meeting", "note": "demo"})
    assert r.status_code == 201 and r.json()["score"] > lead["score"]
    r = await stack.as_("alice", "POST", f"/api/leads/{number}/qualify", json={"decision": "qualified"})
    assert r.status_code == 200, r.text
    assert r.json()["opportunity_id"].startswith("OP-")
    r = await stack.as_("alice", "POST", f"/api/leads/{number}/qualify", json={"decision": "qualified"})
    assert r.status_code == 409
    lead = (await stack.as_("alice", "GET", f"/api/leads/{number}")).json()
    assert lead["status"] == "qualified" and lead["customer_id"]


async def test_lead_refusals(stack):
    assert (await stack.as_("erin", "POST", "/api/leads", json=LEAD)).status_code == 403
    for bad in ({**LEAD, "email": "not-an-email"}, {**LEAD, "estimated_value": "-1"}, {**LEAD, "source": "tv"},
                {**LEAD, "status": "qualified"}, {**LEAD, "owner": "erin"}):
        r = await stack.as_("alice", "POST", "/api/leads", json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert isinstance(r.json()["detail"], str)
    number = (await stack.as_("bob", "POST", "/api/leads", json={**LEAD, "owner": "alice"})).json()["lead_id"]
    r = await stack.as_("alice", "POST", f"/api/leads/{number}/qualify", json={"decision": "disqualified"})
    assert r.status_code == 422 and "why" in r.json()["detail"]
    r = await stack.as_("admin", "POST", f"/api/leads/{number}/qualify",
                        json={"decision": "qualified", "customer_id": 999999})
    assert r.status_code == 404
    r = await stack.as_("bob", "POST", f"/api/leads/{number}/qualify",
                        json={"decision": "disqualified", "reason": "duplicate"})
    assert r.status_code == 200 and r.json()["opportunity_id"] is None
    assert (await stack.as_("alice", "GET", "/api/leads/LD-99999")).status_code == 404
