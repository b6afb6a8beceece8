"""Capable-to-promise over HTTP on the demo company (5 FAN-200 on hand, 2 housings, 4 blade sets; a blade set is
bought in 6 days, a fan assembled in 3): the promise API, its refusals, and a quotation that keeps each line's
promise, is sent to approval when a line is promised after the requested date, and shows it on bob's task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from domain.sales.tables import Quotation
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

LEAD = {"company": "Globex Corporation", "contact": "Hank Scorpio", "email": "hank@globex.example",
        "source": "referral", "estimated_value": "40000"}


def day(n: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=n)).isoformat()


async def opportunity(stack: Stack) -> str:
    lead = (await stack.as_("alice", "POST", "/api/leads", json=LEAD)).json()["lead_id"]
    r = await stack.as_("alice", "POST", f"/api/leads/{lead}/qualify", json={"decision": "qualified"})
    assert r.status_code == 200, r.text
    return str(r.json()["opportunity_id"])


async def test_promise_names_the_date_the_basis_and_what_holds_each_line_up(stack: Stack) -> None:
    r = await stack.as_("alice", "POST", "/api/planning/promise", json={"lines": [{"sku": "FAN-200", "qty": 10}]})
    assert r.status_code == 200, r.text
    [line] = r.json()["lines"]
    # 5 from stock, 5 to assemble: a housing is made in 2 days, one blade set is short and bought in 6, then 3 days
    assert (line["sku"], line["qty"], line["promise_date"], line["basis"]) == ("FAN-200", "10.00", day(9), "build")
    assert line["constrained_by"] == "BLADE-SET: supplier lead time (6 days)"
    assert line["constraint"] == {"why": "purchase", "sku": "BLADE-SET", "reference": None, "due": None, "days": 6}
    assert "late" not in line and "late" not in r.json()

    # lines share the stock: the first takes 4 fans from stock; the second gets the last one and builds 3, with the
    # 2 housings in stock and a third made in 2 days; they took 3 of the 4 blade sets, so 2 more must be bought
    r = await stack.as_("carol", "POST", "/api/planning/promise", json={
        "lines": [{"sku": "FAN-200", "qty": "4"}, {"sku": "FAN-200", "qty": "4"}, {"sku": "BLADE-SET", "qty": 2}],
        "requested_date": day(1)})
    assert r.status_code == 200, r.text
    got = [(ln["promise_date"], ln["basis"], ln["constrained_by"], ln["late"]) for ln in r.json()["lines"]]
    assert got == [(day(0), "stock", "FAN-200: in stock", False),
                   (day(5), "build", "FAN-HOUSING: production lead time (2 days)", True),
                   (day(6), "purchase", "BLADE-SET: supplier lead time (6 days)", True)]
    assert r.json()["late"] is True and r.json()["promise_date"] == day(6)


BAD = [
    ({"lines": [{"sku": "NO-SUCH", "qty": 1}]}, "line 1: there is no item NO-SUCH"),
    ({"lines": [{"sku": "FAN-200", "qty": 1}, {"sku": "nope", "qty": 1}]}, "line 2: there is no item nope"),
    ({"lines": [{"sku": "FAN-200", "qty": 0}]}, "greater than 0"),
    ({"lines": [{"sku": "FAN-200", "qty": "-3"}]}, "greater than 0"),
    ({"lines": [{"sku": "FAN-200", "qty": "1.00001"}]}, "decimal"),
    ({"lines": []}, "at least 1"),
    ({"lines": [{"sku": "FAN-200", "qty": 1}], "requested_date": "2999-01-01"}, "the requested date"),
    ({"lines": [{"sku": "FAN-200", "qty": 1, "price": 3}]}, "price"),
]


async def test_bad_input_is_refused_with_a_sentence(stack: Stack) -> None:
    for body, says in BAD:
        r = await stack.as_("alice", "POST", "/api/planning/promise", json=body)
        assert r.status_code == 422, (body, r.text)
        assert isinstance(r.json()["detail"], str) and says in r.json()["detail"], (body, r.text)


async def test_only_those_who_quote_or_plan_may_ask(stack: Stack) -> None:
    body = {"lines": [{"sku": "FAN-200", "qty": 1}]}
    assert (await stack.http.post("/api/planning/promise", json=body)).status_code == 401
    assert (await stack.as_("erin", "POST", "/api/planning/promise", json=body)).status_code == 403
    assert (await stack.as_("grace", "POST", "/api/planning/promise", json=body)).status_code == 403
    for who in ("alice", "bob", "carol", "admin"):
        assert (await stack.as_(who, "POST", "/api/planning/promise", json=body)).status_code == 200, who


async def test_a_quotation_keeps_each_line_s_promise_and_a_late_one_goes_to_approval(stack: Stack) -> None:
    opp = await opportunity(stack)
    lines = [{"sku": "FAN-200", "qty": 10, "unit_price": "500"}, {"sku": "MOTOR-200W", "qty": 2, "unit_price": "260"}]
    # on time: sent at once, each line's promise kept
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations",
                        json={"lines": lines, "requested_date": day(20)})
    assert r.status_code == 201 and r.json()["status"] == "sent", r.text
    assert r.json()["late"] is False
    q = (await stack.as_("alice", "GET", f"/api/quotations/{r.json()['quotation_id']}")).json()
    assert q["requested_date"] == day(20) and q["late"] is False
    assert [(ln["sku"], ln["promise_date"], ln["promise_basis"], ln["constrained_by"], ln["late"])
            for ln in q["lines"]] == [
        ("FAN-200", day(9), "build", "BLADE-SET: supplier lead time (6 days)", False),
        ("MOTOR-200W", day(0), "stock", "MOTOR-200W: in stock", False)]

    # wanted in 5 days: the fans are late, so bob approves first and reads why on his task
    r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations",
                        json={"lines": lines, "requested_date": day(5)})
    assert r.status_code == 201 and r.json()["status"] == "pending_approval", r.text
    number = r.json()["quotation_id"]
    late = (f"line FAN-200 can ship {day(9)}, 4 day(s) after the requested {day(5)} "
            "(BLADE-SET: supplier lead time (6 days))")
    task = await stack.open_task("bob", number)
    assert late in str(task["title"])
    c = (await stack.as_("bob", "GET", f"/api/tasks/{task['id']}")).json()["context"]
    assert c["requested_date"] == day(5) and c["late"] is True
    assert c["review"]["reasons"] == [late]
    assert [(ln["sku"], ln["promise_date"], ln["constrained_by"], ln["late"]) for ln in c["lines"]] == [
        ("FAN-200", day(9), "BLADE-SET: supplier lead time (6 days)", True),
        ("MOTOR-200W", day(0), "MOTOR-200W: in stock", False)]
    r = await stack.as_("bob", "POST", f"/api/tasks/{task['id']}/complete",
                        json={"decision": "approve", "comment": "customer agreed to wait"})
    assert r.status_code == 200, r.text


async def test_a_bad_requested_date_refuses_the_quotation_and_stores_nothing(stack: Stack) -> None:
    opp = await opportunity(stack)
    with stack.db.read() as s:
        before = s.execute(select(func.count()).select_from(Quotation)).scalar_one()
    for bad in ("2999-01-01", "1999-01-01", "tomorrow"):
        r = await stack.as_("alice", "POST", f"/api/opportunities/{opp}/quotations", json={
            "lines": [{"sku": "FAN-200", "qty": 1, "unit_price": "500"}], "requested_date": bad})
        assert r.status_code == 422 and isinstance(r.json()["detail"], str), r.text
    with stack.db.read() as s:
        assert s.execute(select(func.count()).select_from(Quotation)).scalar_one() == before
