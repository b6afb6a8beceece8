"""Form requests' pure rules: their effects, values as JSON, resubmission, and the monitor's map from the route."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.core.errors import Conflict, Forbidden
from domain.expenses import rules as expenses
from domain.forms import request_rules as rules
from domain.org.people import Actor
from domain.processes.monitor import RecordedStep, business_map


def test_leave_takes_days_and_marks_the_absence_a_trip_pays_its_advance_others_nothing():
    leave = rules.effect_of("leave", {"days": "5", "from": "2026-12-14", "to": "2026-12-18", "deputy": "grace"})
    assert (leave.kind, leave.days, leave.starts_on, leave.ends_on, leave.deputy) == (
        "leave", Decimal(5), date(2026, 12, 14), date(2026, 12, 18), "grace")
    assert rules.effect_of("business_trip", {"advance": "1500.00"}).amount == Decimal("1500.00")
    assert rules.effect_of("business_trip", {"advance": "0"}).kind == ""
    assert rules.effect_of("contract", {"amount": "9"}).kind == ""


def test_values_as_json_and_the_amount_searched_by():
    plain = rules.as_json({"days": Decimal("2.5"), "from": date(2026, 1, 2), "files": ["a"], "who": "grace"})
    assert plain == {"days": "2.5", "from": "2026-01-02", "files": ["a"], "who": "grace"}
    assert rules.amount_of({"advance": "10.50"}) == Decimal("10.50") and rules.amount_of({"days": "2"}) is None


def test_only_the_requester_resubmits_a_request_still_on_its_way():
    rules.check_may_resubmit(Actor(username="erin"), "erin", "sent_back", "FR-00001")
    with pytest.raises(Forbidden):
        rules.check_may_resubmit(Actor(username="frank"), "erin", "sent_back", "FR-00001")
    with pytest.raises(Conflict):
        rules.check_may_resubmit(Actor(username="erin"), "erin", "approved", "FR-00001")


def test_the_map_of_a_form_request_is_its_route():
    plan = ("submitted", "approval: Manager", "approval: Manager's manager", "approved")
    m = business_map("form_request", [RecordedStep("submitted", "done"), RecordedStep("approval: Manager")],
                     "approval: Manager", "running", plan=plan)
    assert [(s.name, s.state) for s in m] == [("submitted", "done"), ("approval: Manager", "current"),
                                              ("approval: Manager's manager", "todo"), ("approved", "todo")]


def test_a_claims_payment_nets_its_trips_advance():
    entry = expenses.payment_entry("EC-00001", Decimal(2000), Decimal(1500))
    lines = {(p.account, p.debit, p.credit) for p in entry.postings}
    assert lines == {("2200", Decimal(2000), Decimal(0)), ("1000", Decimal(0), Decimal(500)),
                     ("1500", Decimal(0), Decimal(1500))}
