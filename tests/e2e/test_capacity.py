"""Capacity over HTTP (issue 20): a work centre's calendar and an item's routing (every refusal a 4xx with a sentence
that stores nothing), the load table with an overloaded week, and carol moving the production order that overloads
it: its process records the new dates and the load moves with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from api.starters import production_order
from domain.org.people import Actor

pytestmark = pytest.mark.e2e


def monday_in(weeks: int) -> datetime:
    today = datetime.now(UTC)
    return today - timedelta(days=today.weekday()) + timedelta(weeks=weeks)


async def test_calendar_routing_load_and_moving_an_order(stack):
    # --- master data: a new work centre has no calendar, so no routing may use it --------------------------
    r = await stack.as_("carol", "POST", "/api/work-centres", json={"code": "E-CAP", "name": "Cell", "hourly_cost": 30})
    assert r.status_code == 201, r.text
    assert (await stack.as_("carol", "GET", "/api/work-centres/E-CAP/calendar")).json()["hours"] is None
    one_op = {"operations": [{"seq": 10, "work_centre": "E-CAP", "setup_hours": "2", "hours_per_unit": "1"}]}
    before = (await stack.as_("carol", "GET", "/api/routings/FAN-HOUSING")).json()["operations"]
    r = await stack.as_("carol", "PUT", "/api/routings/FAN-HOUSING", json=one_op)
    assert r.status_code == 422 and "work centre E-CAP has no calendar" in r.json()["detail"], r.text
    for bad, words in [
        ({"operations": [{"seq": 10, "work_centre": "NOPE", "hours_per_unit": 1}]}, "no work centre 'NOPE'"),
        ({"operations": [{"seq": 10, "work_centre": "ASSEMBLY", "hours_per_unit": 1},
                         {"seq": 10, "work_centre": "ASSEMBLY", "setup_hours": 1}]}, "operation 10 is given twice"),
        ({"operations": [{"seq": 10, "work_centre": "ASSEMBLY"}]}, "needs setup hours or hours per unit"),
        ({"operations": [{"seq": 10, "work_centre": "ASSEMBLY", "hours_per_unit": "-1"}]}, "hours_per_unit"),
    ]:
        r = await stack.as_("carol", "PUT", "/api/routings/FAN-HOUSING", json=bad)
        assert r.status_code == 422 and words in r.json()["detail"], (bad, r.text)
    r = await stack.as_("carol", "PUT", "/api/routings/BLADE-SET", json={"operations": []})
    assert r.status_code == 422 and "purchased" in r.json()["detail"], r.text
    assert (await stack.as_("carol", "GET", "/api/routings/FAN-HOUSING")).json()["operations"] == before
    for bad in [{"mon": 25}, {}, {"mon": "-1"}, {"funday": 8}]:
        r = await stack.as_("carol", "PUT", "/api/work-centres/E-CAP/calendar", json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert (await stack.as_("carol", "GET", "/api/work-centres/E-CAP/calendar")).json()["hours"] is None
    assert (await stack.as_("alice", "PUT", "/api/work-centres/E-CAP/calendar", json={"mon": 8})).status_code == 403
    assert (await stack.as_("carol", "PUT", "/api/work-centres/NOPE/calendar", json={"mon": 8})).status_code == 404

    r = await stack.as_("carol", "PUT", "/api/work-centres/E-CAP/calendar",
                        json={"mon": 4, "tue": 4, "wed": 4, "thu": 4, "fri": 4})
    assert r.status_code == 200 and r.json()["week_hours"] == "20.00", r.text
    r = await stack.as_("carol", "PUT", "/api/routings/FAN-HOUSING", json=one_op)
    assert r.status_code == 200 and r.json()["operations"][0]["work_centre"] == "E-CAP", r.text

    # Dated days: a holiday takes a day's hours out of its week; a day given twice is refused, nothing stored.
    hol = str(monday_in(6).date() + timedelta(days=2))
    r = await stack.as_("carol", "PUT", "/api/work-centres/E-CAP/calendar",
                        json={"mon": 4, "tue": 4, "wed": 4, "thu": 4, "fri": 4,
                              "days": [{"day": hol, "reason": "closed"}, {"day": hol, "hours": 2}]})
    assert r.status_code == 422 and f"{hol} is given twice" in r.json()["detail"], r.text
    assert (await stack.as_("carol", "GET", "/api/work-centres/E-CAP/calendar")).json()["days"] == []
    r = await stack.as_("carol", "PUT", "/api/work-centres/E-CAP/calendar",
                        json={"mon": 4, "tue": 4, "wed": 4, "thu": 4, "fri": 4,
                              "days": [{"day": hol, "hours": 0, "reason": "stocktaking"}]})
    assert r.status_code == 200 and r.json()["days"] == [{"day": hol, "hours": "0.00", "reason": "stocktaking"}]
    load = (await stack.as_("carol", "GET", "/api/planning/load", params={"run": "none"})).json()
    caps = {c["week"]: c["capacity"] for x in load["rows"] if x["work_centre"] == "E-CAP" for c in x["cells"]}
    assert sorted(set(caps.values())) == ["16.00", "20.00"], caps

    # --- an order of 30 housings in one week: 32 h on a 20 h week -----------------------------------------
    week = monday_in(3).date()
    made = await production_order.for_stock(stack.platform, Actor(username="carol", roles=["planner"]),
                                            "FAN-HOUSING", Decimal(30), week + timedelta(days=4))
    number = made["production_order_id"]
    r = await stack.as_("carol", "GET", "/api/planning/load", params={"run": "none"})
    assert r.status_code == 200, r.text
    load = r.json()
    row = next(x for x in load["rows"] if x["work_centre"] == "E-CAP")
    hot = [c for c in row["cells"] if c["overloaded"]]
    assert len(hot) == 1 and hot[0]["load"] == "32.00" and hot[0]["capacity"] == "20.00", row
    assert hot[0]["orders"][0]["reference"] == number
    assert [(o["work_centre"], o["week"]) for o in load["overloads"]] == [("E-CAP", hot[0]["week"])]

    # --- moves refused with a sentence, nothing changed -------------------------------------------------------
    for body, code, words in [
        ({"release_date": str(week + timedelta(days=9)), "due_date": str(week + timedelta(days=8))}, 422,
         "is after the due date"),
        ({"release_date": "2020-01-01", "due_date": "2020-01-03"}, 422, "out of range"),
        ({"release_date": str(week), "due_date": "someday"}, 422, "due_date"),
    ]:
        r = await stack.as_("carol", "POST", f"/api/production-orders/{number}/reschedule", json=body)
        assert r.status_code == code and words in r.json()["detail"], (body, r.text)
    r = await stack.as_("alice", "POST", f"/api/production-orders/{number}/reschedule",
                        json={"release_date": str(week), "due_date": str(week + timedelta(days=11))})
    assert r.status_code == 403, r.text
    r = await stack.as_("carol", "POST", "/api/production-orders/MO-99999/reschedule",
                        json={"release_date": str(week), "due_date": str(week + timedelta(days=11))})
    assert r.status_code == 404, r.text

    # --- carol spreads it over two weeks: the load moves, no overload is left ----------------------------------
    mo = (await stack.as_("carol", "GET", f"/api/production-orders/{number}")).json()
    release = mo["release_date"]  # today at the earliest; once released (its kit is in stock) it stays
    assert release == str(week + timedelta(days=2)), mo  # its lead time (2 days) before it is due
    if mo["status"] == "released":
        r = await stack.as_("carol", "POST", f"/api/production-orders/{number}/reschedule",
                            json={"release_date": str(week), "due_date": str(week + timedelta(days=12))})
        assert r.status_code == 409 and "only its due date can move" in r.json()["detail"], r.text
    r = await stack.as_("carol", "POST", f"/api/production-orders/{number}/reschedule",
                        json={"release_date": release, "due_date": str(week + timedelta(days=12)),
                              "reason": "level E-CAP"})
    assert r.status_code == 200 and r.json()["due_date"] == str(week + timedelta(days=12)), r.text
    mo = (await stack.as_("carol", "GET", f"/api/production-orders/{number}")).json()
    assert (mo["release_date"], mo["due_date"]) == (release, str(week + timedelta(days=12))), mo
    load = (await stack.as_("carol", "GET", "/api/planning/load", params={"run": "none"})).json()
    row = next(x for x in load["rows"] if x["work_centre"] == "E-CAP")
    # 32 h over Wednesday to next Friday (8 working days of 4 h): 3 days this week, 5 the next.
    assert load["overloads"] == [] and [c["load"] for c in row["cells"] if c["load"] != "0.00"] == ["12.00",
                                                                                                     "20.00"], row
    r = await stack.as_("admin", "GET", "/api/audit", params={"entity": "production_order", "key": number})
    assert r.status_code == 200, r.text
    moved = [a for a in r.json() if a["action"] == "moved"]
    assert len(moved) == 1 and moved[0]["actor"] == "carol" and moved[0]["after"]["reason"] == "level E-CAP", r.json()


async def test_saves_at_once_take_turns(stack):
    """Five saves of one routing, and five first calendars of one work centre, at the same instant: every one
    answers 200 (none a 500 from the unique keys), and what is stored is one of them whole."""
    import asyncio

    assert (await stack.as_("carol", "POST", "/api/work-centres",
                            json={"code": "E-RACE", "name": "Race", "hourly_cost": 1})).status_code == 201
    cals = await asyncio.gather(*[stack.as_("carol", "PUT", "/api/work-centres/E-RACE/calendar",
                                            json={"mon": n + 1}) for n in range(5)])
    assert [r.status_code for r in cals] == [200] * 5, [r.text for r in cals]
    ops = await asyncio.gather(*[stack.as_("carol", "PUT", "/api/routings/FAN-200", json={"operations": [
        {"seq": 10, "work_centre": "E-RACE", "hours_per_unit": n + 1},
        {"seq": 20, "work_centre": "ASSEMBLY", "setup_hours": 1}]}) for n in range(5)])
    assert [r.status_code for r in ops] == [200] * 5, [r.text for r in ops]
    final = (await stack.as_("carol", "GET", "/api/routings/FAN-200")).json()["operations"]
    assert [o["seq"] for o in final] == [10, 20]
