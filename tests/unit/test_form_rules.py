"""Form types as data: a definition is checked before it is saved, a request's values against the form, and the
route resolved for one requester (conditions, the manager's manager, any-of and all-of steps, SoD)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from domain import demo
from domain.approvals.rules import ChainStep
from domain.core.errors import Invalid
from domain.forms.rules import (
    FormTypeIn,
    check_definition,
    check_leave_balance,
    check_leave_days,
    check_values,
    plain_values,
    resolve_route,
)
from domain.org.people import Person

PEOPLE: dict[str, Person] = {
    username: Person(username=username, roles=frozenset(roles), manager=manager)
    for username, _name, roles, manager in demo.USERS
}
ROLES = set(demo.ROLES) | set(demo.DEMO_ROLES)
USERS = set(PEOPLE)
FORMS = {f["key"]: FormTypeIn.model_validate(f) for f in demo.FORMS}
TODAY = date(2026, 12, 6)


def _form(**changes: Any) -> FormTypeIn:
    base: dict[str, Any] = {
        "key": "it_purchase", "name": "IT equipment purchase",
        "fields": [{"name": "item", "type": "text", "required": True},
                   {"name": "amount", "type": "money", "required": True, "min": "0", "max": "100000"},
                   {"name": "urgency", "type": "choice", "choices": ["low", "high"]},
                   {"name": "needed_by", "type": "date"}],
        "route": [{"name": "Manager", "approver": "manager"},
                  {"name": "IT and finance", "approver": ["role:it", "role:finance"], "mode": "all"},
                  {"name": "CFO", "approver": "role:cfo", "when": {"field": "amount", "op": ">", "value": "5000"}}]}
    return FormTypeIn.model_validate({**base, **changes})


def _check(defn: FormTypeIn) -> None:
    check_definition(defn, ROLES, USERS, PEOPLE)


def _who(steps: list[ChainStep]) -> list[str]:
    return [s.candidate_user or f"role:{s.candidate_role}" if not s.parts else
            f"{s.mode}({', '.join(p.candidate_user or f'role:{p.candidate_role}' for p in s.parts)})" for s in steps]


# --- definitions --------------------------------------------------------------------------------------------

def test_the_demo_forms_and_a_designed_one_are_sound() -> None:
    for defn in FORMS.values():
        _check(defn)
    _check(_form())


@pytest.mark.parametrize(("change", "says"), [
    ({"route": [{"name": "Big", "approver": "role:cfo", "when": {"field": "total", "op": ">", "value": "1"}}]},
     "'total', which is not a field"),
    ({"route": [{"name": "Urgent", "approver": "role:cfo", "when": {"field": "item", "op": ">", "value": "a"}}]},
     "takes only == or !="),
    ({"route": [{"name": "Big", "approver": "role:cfo", "when": {"field": "amount", "op": ">", "value": "lots"}}]},
     "not a number"),
    ({"route": [{"name": "Hi", "approver": "role:cfo", "when": {"field": "urgency", "op": "==", "value": "mid"}}]},
     "not one of its choices"),
    ({"route": [{"name": "Soon", "approver": "role:cfo", "when": {"field": "needed_by", "op": "<", "value": "soon"}}]},
     "not a date"),
    ({"route": [{"name": "Ops", "approver": "role:operations"}]}, "role 'operations', which does not exist"),
    ({"route": [{"name": "Zed", "approver": "user:zed"}]}, "user 'zed', who does not exist"),
    ({"route": [{"name": "A", "approver": "manager"}, {"name": "A", "approver": "role:cfo"}]}, "two steps"),
    ({"route": [{"name": "A", "approver": ["role:it", "role:it"]}]}, "one approver twice"),
    ({"fields": [{"name": "x", "type": "text"}, {"name": "x", "type": "number"}]}, "two fields are named 'x'"),
    ({"fields": [{"name": "kind", "type": "choice"}]}, "needs at least one choice"),
    ({"fields": [{"name": "n", "type": "number", "min": "5", "max": "1"}]}, "min 5 above its max 1"),
    ({"fields": [{"name": "t", "type": "text", "max": "1"}]}, "min and max apply to number and money"),
    ({"fields": [{"name": "t", "type": "text", "choices": ["a"]}]}, "only a choice field has choices"),
])
def test_an_unsound_definition_is_refused_naming_the_problem(change: dict[str, Any], says: str) -> None:
    base = {"fields": [{"name": "amount", "type": "money"}], "route": [{"name": "M", "approver": "manager"}]}
    with pytest.raises(Invalid, match=says):
        _check(_form(**{**base, **change}) if "fields" in change else
                _form(**{**change, "fields": _form().model_dump()["fields"]}))


def test_a_role_nobody_active_holds_could_never_be_filled() -> None:
    people = {**PEOPLE, "tom": PEOPLE["tom"].model_copy(update={"active": False})}
    with pytest.raises(Invalid, match="role 'it', which nobody active holds"):
        check_definition(_form(), ROLES, USERS, people)
    check_definition(_form(), ROLES, USERS)  # without the org chart: roles and users only


@pytest.mark.parametrize("bad", [
    {"key": "Has Space"}, {"name": ""}, {"fields": []}, {"route": []}, {"sla_hours": 0},
    {"route": [{"name": "x", "approver": "boss"}]}, {"route": [{"name": "x", "approver": []}]},
    {"route": [{"name": "x", "approver": "manager", "mode": "some"}]},
    {"fields": [{"name": "9lives", "type": "text"}]}, {"fields": [{"name": "x", "type": "blob"}]},
    {"fields": [{"name": "x", "type": "text", "colour": "red"}]},
    {"fields": [{"name": f"f{i}", "type": "text"} for i in range(51)]},
])
def test_the_shape_of_a_definition_is_bounded(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _form(**bad)


# --- values -------------------------------------------------------------------------------------------------

LEAVE = FORMS["leave"]
GOOD_LEAVE = {"leave_type": "annual", "from": "2026-12-14", "to": "2026-12-18", "days": "5", "deputy": "carol"}


def test_values_are_normalized() -> None:
    got = check_values(LEAVE, {**GOOD_LEAVE, "days": 4.5, "reason": "  family  "}, today=TODAY, users=USERS)
    assert got == {"leave_type": "annual", "from": date(2026, 12, 14), "to": date(2026, 12, 18),
                   "days": Decimal("4.5"), "deputy": "carol", "reason": "family"}
    assert plain_values(got)["days"] == "4.5" and plain_values(got)["from"] == "2026-12-14"
    trip = check_values(FORMS["business_trip"], {"destination": "Shanghai", "from": "2026-12-10", "to": "2026-12-10",
                                                 "purpose": "fair", "advance": ""}, today=TODAY)
    assert "advance" not in trip  # an empty optional field is left out
    contract = check_values(FORMS["contract"], {"counterparty": "Initech", "amount": "60000.00",
                                                "contract_file": "3f2a-09"}, today=TODAY)
    assert contract["contract_file"] == ["3f2a-09"] and contract["amount"] == Decimal("60000.00")


@pytest.mark.parametrize(("change", "says"), [
    ({"days": None}, "'days' \\(Days\\) is required"),
    ({"deputy": "  "}, "'deputy' .* is required"),
    ({"days": "five"}, "'days' must be a plain decimal"),
    ({"days": True}, "'days' must be a number"),
    ({"days": "0.25"}, "'days' must be at least 0.5"),
    ({"days": 61}, "'days' must be at most 60"),
    ({"leave_type": "holiday"}, "'leave_type' must be one of annual, sick, personal"),
    ({"deputy": "zed"}, "'deputy' names 'zed', who is not a user"),
    ({"from": "14/12/2026"}, "'from' must be a date"),
    ({"from": "2026-12-20"}, "'to' \\(2026-12-18\\) is before 'from' \\(2026-12-20\\)"),
    ({"from": "2046-12-20", "to": "2046-12-21"}, "more than 10 years away"),
    ({"colour": "red"}, "has no field 'colour'"),
    ({"reason": 12}, "'reason' must be text"),
    ({"reason": "x" * 2001}, "longer than 2000"),
])
def test_values_that_break_the_form_are_refused_naming_the_field(change: dict[str, Any], says: str) -> None:
    with pytest.raises(Invalid, match=says):
        check_values(LEAVE, {**GOOD_LEAVE, **change}, today=TODAY, users=USERS)


def test_money_has_two_decimals_and_attachments_are_ids() -> None:
    contract = FORMS["contract"]
    good = {"counterparty": "Initech", "amount": "100", "contract_file": ["a1"]}
    with pytest.raises(Invalid, match="at most 2 decimal places"):
        check_values(contract, {**good, "amount": "1.005"}, today=TODAY)
    with pytest.raises(Invalid, match="'amount' must be at least 0"):
        check_values(contract, {**good, "amount": "-1"}, today=TODAY)
    with pytest.raises(Invalid, match=r"'contract_file' .* is required"):
        check_values(contract, {**good, "contract_file": []}, today=TODAY)
    with pytest.raises(Invalid, match="by their ids"):
        check_values(contract, {**good, "contract_file": ["../etc/passwd"]}, today=TODAY)


def test_leave_days_fit_the_range_and_the_balance() -> None:
    check_leave_days(Decimal(5), date(2026, 12, 14), date(2026, 12, 18))
    check_leave_days(Decimal("0.5"), date(2026, 12, 14), date(2026, 12, 14))
    for days, says in ((Decimal(0), "more than zero"), (Decimal("1.2"), "half days"), (Decimal(6), "do not fit")):
        with pytest.raises(Invalid, match=says):
            check_leave_days(days, date(2026, 12, 14), date(2026, 12, 18))
    check_leave_balance(Decimal(15), Decimal(15))
    with pytest.raises(Invalid, match="more than the 15 days left"):
        check_leave_balance(Decimal(15), Decimal("15.5"))


# --- routes -------------------------------------------------------------------------------------------------

def _route(defn: FormTypeIn, values: dict[str, Any], requester: str,
           people: dict[str, Person] | None = None) -> list[ChainStep]:
    return resolve_route(defn, check_values(defn, values, today=TODAY), requester, people or PEOPLE)


def test_a_condition_adds_the_managers_manager() -> None:
    short = _route(LEAVE, {**GOOD_LEAVE, "days": "3"}, "erin")
    assert _who(short) == ["frank"] and short[0].name == "Manager" and short[0].index == 1
    long = _route(LEAVE, GOOD_LEAVE, "erin")
    assert _who(long) == ["frank", "heidi"] and [s.index for s in long] == [1, 2]
    assert long[1].name == "Manager's manager" and long[1].eligible == ["heidi"]
    assert long[1].sla_hours == 48 and long[1].authority == ["cfo", "manager"]


def test_the_managers_manager_of_someone_under_the_top_is_left_out_not_refused() -> None:
    # lena's manager heidi has no manager: her 5-day leave goes to heidi alone (no level above to ask)
    top = _route(LEAVE, {**GOOD_LEAVE, "deputy": "frank"}, "lena")
    assert _who(top) == ["heidi"] and [s.index for s in top] == [1]
    # the same for frank, a manager under heidi; erin (under frank) still gets both levels
    assert _who(_route(LEAVE, {**GOOD_LEAVE, "deputy": "bob"}, "frank")) == ["heidi"]
    assert _who(_route(LEAVE, GOOD_LEAVE, "erin")) == ["frank", "heidi"]


def test_a_step_that_cannot_be_staffed_for_this_requester_is_refused() -> None:
    with pytest.raises(Invalid, match="heidi has no manager"):
        _route(LEAVE, {**GOOD_LEAVE, "days": "1"}, "heidi")
    solo = _form(route=[{"name": "Frank", "approver": "user:frank"}])
    with pytest.raises(Invalid, match="nobody to approve it but the requester"):
        _route(solo, {"item": "laptop", "amount": "10"}, "frank")


def test_an_all_of_list_is_one_part_per_entry_and_a_condition_adds_the_cfo() -> None:
    steps = _route(_form(), {"item": "laptop", "amount": "6000"}, "erin")
    assert _who(steps) == ["frank", "all(role:it, role:finance)", "role:cfo"]
    both = steps[1]
    assert both.mode == "all" and both.name == "IT and finance" and both.sla_hours == 48
    assert [p.eligible for p in both.parts] == [["tom"], ["grace"]] and both.eligible == ["grace", "tom"]
    assert all(p.index == 2 and p.name == "IT and finance" for p in both.parts)
    assert _who(_route(_form(), {"item": "mouse", "amount": "20"}, "erin")) == [
        "frank", "all(role:it, role:finance)"]


def test_any_of_a_list_and_all_of_a_role() -> None:
    any_of = _form(route=[{"name": "Someone", "approver": ["user:frank", "role:finance"], "mode": "any",
                           "sla_hours": 8}])
    step = _route(any_of, {"item": "pen", "amount": "2"}, "erin")[0]
    assert step.mode == "any" and _who([step]) == ["any(frank, role:finance)"] and step.sla_hours == 8
    assert step.parts[0].authority == ["manager"]
    managers = _form(route=[{"name": "Every manager", "approver": "role:manager", "mode": "all"}])
    step = _route(managers, {"item": "pen", "amount": "2"}, "frank")[0]
    assert _who([step]) == ["all(bob, heidi)"]  # every active holder, the requester left out
    assert step.candidate_role == "manager" and all(p.candidate_user for p in step.parts)


def test_nobody_decides_two_steps_unless_the_form_dedupes() -> None:
    twice = _form(route=[{"name": "Boss", "approver": "user:heidi"}, {"name": "Boss again", "approver": "manager"}])
    with pytest.raises(Invalid, match="more distinct approvers"):
        _route(twice, {"item": "pen", "amount": "2"}, "frank")
    deduped = _form(route=twice.model_dump()["route"], dedupe=True)
    assert _who(_route(deduped, {"item": "pen", "amount": "2"}, "frank")) == ["heidi", "heidi"]


def test_a_manager_who_holds_a_later_role_is_folded_into_it() -> None:
    contract = FORMS["contract"]
    values = {"counterparty": "Initech", "amount": "60000", "contract_file": "a1"}
    assert _who(_route(contract, values, "erin")) == ["frank", "role:legal", "role:cfo"]
    assert _who(_route(contract, values, "frank")) == ["role:legal", "role:cfo"]  # heidi approves once, as cfo
    assert _who(_route(contract, {**values, "amount": "100"}, "frank")) == ["heidi", "role:legal"]


def test_a_trip_with_a_large_advance_goes_to_finance() -> None:
    trip = FORMS["business_trip"]
    values = {"destination": "Berlin", "from": "2026-12-10", "to": "2026-12-12", "purpose": "fair"}
    assert _who(_route(trip, values, "erin")) == ["frank"]
    assert _who(_route(trip, {**values, "advance": "2500"}, "erin")) == ["frank", "role:finance"]
    assert _who(_route(trip, {**values, "advance": "2000"}, "erin")) == ["frank"]


def test_a_conditions_value_is_text_read_as_its_fields_type() -> None:
    numeric = _form(route=[{"name": "CFO", "approver": "role:cfo", "when": {"field": "amount", "op": ">", "value": 5000}}])
    assert numeric.route[0].when is not None and numeric.route[0].when.value == "5000"
    _check(numeric)
    with pytest.raises(ValidationError):
        _form(route=[{"name": "CFO", "approver": "role:cfo", "when": {"field": "amount", "op": ">", "value": True}}])
    odd = _form(route=[{"name": "CFO", "approver": "role:cfo", "when": {"field": "amount", "op": ">", "value": "١٢"}}])
    with pytest.raises(Invalid, match="not a number"):
        _check(odd)
