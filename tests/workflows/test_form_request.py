"""FormRequest + Approval on the time-skipping server, activities real against the database: the demo's leave and
business trip forms, their effects, a cancel, and a request that finishes on the form version it started with."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from api.platform import Platform
from api.starters import approval, expense_claim, form_request
from domain.accounting import ledger
from domain.approvals.tables import OutOfOffice, Task
from domain.core.errors import Conflict, Forbidden
from domain.expenses import advances
from domain.expenses import services as expenses
from domain.expenses.rules import ExpenseLineIn
from domain.forms import requests
from domain.forms import rules as forms
from domain.forms import services as forms_svc
from tests.helpers import actor, approve_chain, open_task_for


def _platform(worker: Any, db: Any, task_queue: str) -> Platform:
    return Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")


async def _status(db: Any, number: str, status: str, tries: int = 300) -> dict[str, Any]:
    for _ in range(tries):
        with db.read() as s:
            view = requests.view(s, requests.get(s, number))
        if view["status"] == status:
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"{number} is {view['status']}, expected {status}")


@pytest.fixture(autouse=True)
def _next_years_leave(db: Any) -> None:
    """Leave that starts next year (a test run late in December) draws on next year's balance: granted too."""
    with db.write() as s:
        forms_svc.grant_leave(s, "erin", datetime.now(UTC).year + 1, Decimal(15), "admin")


def _leave(days: int, deputy: str = "grace", start_in: int = 10) -> dict[str, Any]:
    first = datetime.now(UTC).date() + timedelta(days=start_in)
    return {"leave_type": "annual", "from": first.isoformat(), "to": (first + timedelta(days=days - 1)).isoformat(),
            "days": str(days), "deputy": deputy}


def _days_left(db: Any, who: str) -> Decimal:
    with db.read() as s:
        return forms_svc.days_left(s, who, (datetime.now(UTC).date() + timedelta(days=10)).year)


def _absences(db: Any, who: str) -> list[OutOfOffice]:
    with db.read() as s:
        return list(s.execute(select(OutOfOffice).where(OutOfOffice.username == who)).scalars())


async def test_short_leave_goes_to_the_manager_only_and_lowers_the_balance_and_marks_the_absence(worker, db,
                                                                                                 task_queue):
    p = _platform(worker, db, task_queue)
    before = _days_left(db, "erin")
    out = await form_request.submit(p, "erin", "leave", _leave(2))
    number = out["request_id"]
    assert out["status"] == "pending_approval" and out["process_id"].endswith(f"form-request-{number}")
    await approve_chain(p, db, number, ["frank"])
    view = await _status(db, number, "approved")
    assert [a["decided_by"] for a in view["approvals"]] == ["frank"]
    assert [st["state"] for st in view["route"]] == ["done"]
    assert _days_left(db, "erin") == before - 2
    [away] = _absences(db, "erin")
    assert away.deputy == "grace" and (away.ends_on - away.starts_on).days == 1
    with db.read() as s:
        assert requests.plan(s, view["process_id"]) == ("submitted", "approval: Manager", "approved")


async def test_long_leave_adds_the_managers_manager(worker, db, task_queue):
    p = _platform(worker, db, task_queue)
    number = (await form_request.submit(p, "erin", "leave", _leave(5)))["request_id"]
    await approve_chain(p, db, number, ["frank", "heidi"])
    view = await _status(db, number, "approved")
    assert [a["decided_by"] for a in view["approvals"]] == ["frank", "heidi"]
    assert [st["name"] for st in view["route"]] == ["Manager", "Manager's manager"]


async def test_rejected_leave_changes_nothing(worker, db, task_queue):
    p = _platform(worker, db, task_queue)
    before = _days_left(db, "erin")
    number = (await form_request.submit(p, "erin", "leave", _leave(2)))["request_id"]
    task = await open_task_for(db, number)
    await approval.decide(p, actor(db, "frank"), task.id, "reject", "busy week")
    view = await _status(db, number, "rejected")
    assert view["effect"] == "" and _days_left(db, "erin") == before and _absences(db, "erin") == []


async def test_the_requester_cancels_a_pending_request(worker, db, task_queue):
    p = _platform(worker, db, task_queue)
    number = (await form_request.submit(p, "erin", "leave", _leave(2)))["request_id"]
    await open_task_for(db, number)
    assert await form_request.cancel(p, actor(db, "erin"), number) == "cancelled"
    await _status(db, number, "cancelled")


async def test_a_request_started_under_v1_finishes_under_v1_after_v2_is_published(worker, db, task_queue):
    p = _platform(worker, db, task_queue)
    old = (await form_request.submit(p, "erin", "leave", _leave(2)))["request_id"]
    with db.write() as s:  # v2: every leave also needs finance
        defn = forms_svc.definition(forms_svc.latest(s, "leave")).model_dump(mode="json")
        defn["route"].append({"name": "Finance", "approver": "role:finance"})
        assert forms_svc.save(s, "admin", forms.FormTypeIn.model_validate(defn), new=False) == ("leave", 2)
    new = (await form_request.submit(p, "erin", "leave", _leave(1, start_in=40)))["request_id"]
    await approve_chain(p, db, old, ["frank"])
    view = await _status(db, old, "approved")
    assert view["version"] == 1 and [a["decided_by"] for a in view["approvals"]] == ["frank"]
    await approve_chain(p, db, new, ["frank", "grace"])
    view = await _status(db, new, "approved")
    assert view["version"] == 2 and [a["decided_by"] for a in view["approvals"]] == ["frank", "grace"]


async def test_a_business_trip_advance_posts_and_the_trips_claim_settles_it(worker, db, task_queue):
    p = _platform(worker, db, task_queue)
    today = datetime.now(UTC).date()
    trip = (await form_request.submit(p, "erin", "business_trip", {
        "destination": "Shanghai", "from": (today + timedelta(days=5)).isoformat(),
        "to": (today + timedelta(days=8)).isoformat(), "purpose": "supplier visit", "advance": "1500.00"}))["request_id"]
    await approve_chain(p, db, trip, ["frank"])
    view = await _status(db, trip, "approved")
    assert view["advance"]["amount"] == Decimal("1500.00") and not view["advance"]["settled"]
    with db.read() as s:
        assert ledger.balances(s).get("1500") == Decimal("1500.00")
    claim = (await expense_claim.submit(p, "erin", [ExpenseLineIn(category="travel", amount=Decimal("2000.00"),
                                                                  currency="USD", date=today - timedelta(days=1))],
                                        trip=trip))["claim_id"]
    await approve_chain(p, db, claim, ["frank", "grace"])
    for _ in range(200):
        with db.read() as s:
            if expenses.get(s, claim).status == "approved":
                break
        await asyncio.sleep(0.05)
    await expense_claim.pay(p, actor(db, "grace"), claim)
    for _ in range(200):
        with db.read() as s:
            if expenses.get(s, claim).status == "paid":
                break
        await asyncio.sleep(0.05)
    with db.read() as s:
        row = advances.by_trip(s, trip)
        bal = ledger.balances(s)
        tb = ledger.trial_balance(s)
    assert row is not None and row.settled and row.claim_number == claim
    assert bal.get("1500", Decimal(0)) == 0 and tb["debit_total"] == tb["credit_total"]


def test_leave_dates_helper_is_in_the_future():
    assert date.fromisoformat(_leave(1)["from"]) > datetime.now(UTC).date()


async def test_sent_back_the_requester_resubmits_changed_values_and_the_route_goes_on(worker, db, task_queue):
    p = _platform(worker, db, task_queue)
    number = (await form_request.submit(p, "erin", "leave", _leave(2)))["request_id"]
    task = await open_task_for(db, number)
    with pytest.raises(Conflict):  # nothing was sent back yet
        await form_request.resubmit(p, actor(db, "erin"), number, _leave(1))
    await approval.send_back(p, actor(db, "frank"), task.id, "one day is enough")
    for _ in range(200):
        with db.read() as s:
            if requests.view(s, requests.get(s, number))["status"] == "sent_back":
                break
        await asyncio.sleep(0.05)
    with pytest.raises(Forbidden):
        await form_request.resubmit(p, actor(db, "frank"), number, _leave(1))
    await form_request.resubmit(p, actor(db, "erin"), number, _leave(1))
    await approve_chain(p, db, number, ["frank"])
    view = await _status(db, number, "approved")
    assert view["values"]["days"] == "1"


async def test_an_all_of_step_needs_every_part_and_the_map_shows_its_parts(worker, db, task_queue):
    p = _platform(worker, db, task_queue)
    with db.write() as s:
        forms_svc.save(s, "admin", forms.FormTypeIn.model_validate({
            "key": "it_purchase", "name": "IT equipment purchase",
            "fields": [{"name": "item", "type": "text", "required": True},
                       {"name": "amount", "type": "money", "required": True, "min": "0"}],
            "route": [{"name": "IT and finance", "approver": ["role:it", "role:finance"], "mode": "all"}]}), new=True)
    out = await form_request.submit(p, "erin", "it_purchase", {"item": "laptop", "amount": "1200"})
    number = out["request_id"]
    for who, role in (("tom", "it"), ("grace", "finance")):
        for _ in range(200):
            with db.read() as s:
                task = s.execute(select(Task).where(Task.business_key == number, Task.status == "open",
                                                    Task.candidate_role == role)).scalar_one_or_none()
            if task is not None:
                break
            await asyncio.sleep(0.05)
        assert task is not None, f"no open task for {role}"
        with db.read() as s:
            assert requests.view(s, requests.get(s, number))["route"][0]["state"] == "current"
        await approval.decide(p, actor(db, who), task.id, "approve", "")
    view = await _status(db, number, "approved")
    assert sorted(a["decided_by"] for a in view["approvals"]) == ["grace", "tom"]
    assert view["route"][0]["state"] == "done"
    with db.read() as s:
        assert requests.plan(s, out["process_id"]) == ("submitted", "approval: it (all of)",
                                                      "approval: finance (all of)", "approved")
