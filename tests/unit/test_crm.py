"""CRM rules: lead input, the explainable lead score (rules as data), opportunity stages and value."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from domain.core.errors import Conflict, Invalid
from domain.core.money import MAX_AMOUNT
from domain.crm.rules import (
    DEFAULT_PROBABILITY,
    DEFAULT_SCORING_RULES,
    OPEN_STAGES,
    SOURCES,
    STAGES,
    LeadIn,
    LeadScore,
    ScoringRule,
    allowed_moves,
    check_stage_move,
    expected_value,
    score_lead,
)


def lead(**overrides: Any) -> LeadIn:
    fields: dict[str, Any] = {"company": "Acme Tools", "contact": "Ada Park", "email": "ada@acme.example",
                              "source": "website", "estimated_value": Decimal("12000")}
    fields.update(overrides)
    return LeadIn(**fields)


def rule(name: str, kind: str, param: str = "", points: int = 10, reason: str = "because") -> ScoringRule:
    return ScoringRule(name=name, kind=kind, param=param, points=points, reason=reason)  # type: ignore[arg-type]


def score(the_lead: LeadIn, rules: Any, *, customer: bool = False, events: int = 0) -> LeadScore:
    return score_lead(the_lead, rules, is_customer=customer, engagement_events=events)


def fired(result: LeadScore) -> list[str]:
    return [r.rule for r in result.reasons]


# --- LeadIn ------------------------------------------------------------------------------------------


def test_a_plain_lead_is_accepted_with_defaults() -> None:
    ld = lead()
    assert ld.phone is None
    assert ld.notes == ""
    assert ld.estimated_value == Decimal("12000")


def test_lead_text_is_stripped_and_a_blank_phone_means_none() -> None:
    ld = lead(company="  Acme  ", phone="   ", notes="  needs 40 units ")
    assert ld.company == "Acme"
    assert ld.phone is None
    assert ld.notes == "needs 40 units"


@pytest.mark.parametrize("phone", ["+1 555 010 0199", "(030) 1234-5678", "0123456"])
def test_ordinary_phone_numbers_are_accepted(phone: str) -> None:
    assert lead(phone=phone).phone == phone


@pytest.mark.parametrize("value", ["0", "0.01", "999999999.99", str(MAX_AMOUNT)])
def test_estimated_value_within_bounds(value: str) -> None:
    assert lead(estimated_value=Decimal(value)).estimated_value == Decimal(value)


@pytest.mark.parametrize("field, value", [
    ("company", ""),
    ("company", "   "),
    ("company", "x" * 201),
    ("contact", ""),
    ("email", "ada"),
    ("email", "ada@acme"),
    ("email", "ada@@acme.example"),
    ("email", "ada park@acme.example"),
    ("email", "ada@acme."),
    ("email", "@acme.example"),
    ("email", "a@" + "b" * 250 + ".com"),
    ("phone", "call me"),
    ("phone", "12"),
    ("phone", "1" * 41),
    ("source", "billboard"),
    ("source", "Referral"),
    ("estimated_value", Decimal("-0.01")),
    ("estimated_value", MAX_AMOUNT + Decimal("0.01")),
    ("estimated_value", Decimal("10.005")),
    ("estimated_value", "lots"),
    ("notes", "x" * 2001),
])
def test_bad_lead_fields_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as err:
        lead(**{field: value})
    assert err.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize("missing", ["company", "contact", "email", "source", "estimated_value"])
def test_required_lead_fields(missing: str) -> None:
    fields = lead().model_dump()
    del fields[missing]
    with pytest.raises(ValidationError):
        LeadIn(**fields)


def test_a_field_the_caller_may_not_set_is_refused() -> None:
    with pytest.raises(ValidationError, match="score"):
        lead(score=100)


# --- ScoringRule -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, param", [
    ("source", "referral"),
    ("value_at_least", "0.01"),
    ("value_at_least", "50000"),
    ("value_at_least", str(MAX_AMOUNT)),
    ("field_present", "phone"),
    ("field_present", "notes"),
    ("is_customer", ""),
    ("engagement_at_least", "1"),
    ("engagement_at_least", "25"),
])
def test_rules_with_a_parameter_that_fits_their_kind(kind: str, param: str) -> None:
    assert rule("r", kind, param).param == param


@pytest.mark.parametrize("kind, param", [
    ("source", "billboard"),
    ("source", ""),
    ("value_at_least", "ten"),
    ("value_at_least", ""),
    ("value_at_least", "0"),
    ("value_at_least", "-5"),
    ("value_at_least", "NaN"),
    ("value_at_least", "Infinity"),
    ("value_at_least", str(MAX_AMOUNT + 1)),
    ("field_present", "fax"),
    ("field_present", ""),
    ("is_customer", "yes"),
    ("engagement_at_least", "0"),
    ("engagement_at_least", "-1"),
    ("engagement_at_least", "1.5"),
    ("engagement_at_least", "many"),
    ("engagement_at_least", ""),
    ("email_domain", "acme.example"),
])
def test_rules_whose_parameter_does_not_fit_are_refused(kind: str, param: str) -> None:
    with pytest.raises(ValidationError):
        rule("r", kind, param)


@pytest.mark.parametrize("points", [-100, 0, 100])
def test_rule_points_at_their_bounds(points: int) -> None:
    assert rule("r", "is_customer", points=points).points == points


@pytest.mark.parametrize("overrides", [
    {"points": 101}, {"points": -101}, {"name": "Has Phone"}, {"name": ""}, {"name": "1st"},
    {"reason": ""}, {"reason": "x" * 301}, {"weight": 2},
])
def test_bad_rules_are_refused(overrides: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"name": "r", "kind": "is_customer", "param": "", "points": 5, "reason": "why"}
    with pytest.raises(ValidationError):
        ScoringRule(**{**fields, **overrides})


def test_rules_round_trip_as_data() -> None:
    stored = [r.model_dump(mode="json") for r in DEFAULT_SCORING_RULES]
    assert [ScoringRule.model_validate(d) for d in stored] == list(DEFAULT_SCORING_RULES)


def test_default_rules_are_valid_and_uniquely_named_with_one_per_source() -> None:
    names = [r.name for r in DEFAULT_SCORING_RULES]
    assert len(names) == len(set(names))
    assert sorted(r.param for r in DEFAULT_SCORING_RULES if r.kind == "source") == sorted(SOURCES)
    assert {r.kind for r in DEFAULT_SCORING_RULES} == {
        "source", "value_at_least", "field_present", "is_customer", "engagement_at_least"}


# --- score_lead: each kind of rule -------------------------------------------------------------------


def test_source_rule_fires_only_for_its_source() -> None:
    rules = [rule("ref", "source", "referral", 25)]
    assert score(lead(source="referral"), rules).score == 25
    assert score(lead(source="website"), rules).score == 0


def test_value_rule_fires_at_its_threshold_and_not_a_cent_below() -> None:
    rules = [rule("big", "value_at_least", "10000", 15)]
    assert score(lead(estimated_value=Decimal("10000.00")), rules).score == 15
    assert score(lead(estimated_value=Decimal("9999.99")), rules).score == 0


def test_field_rule_fires_when_the_field_is_filled() -> None:
    rules = [rule("phone", "field_present", "phone", 10), rule("notes", "field_present", "notes", 5)]
    assert score(lead(), rules).reasons == []
    assert fired(score(lead(phone="+1 555 010 0199"), rules)) == ["phone"]
    assert fired(score(lead(notes="wants a demo"), rules)) == ["notes"]
    assert fired(score(lead(phone="0123456", notes="x"), rules)) == ["phone", "notes"]


def test_customer_rule_follows_the_fact_given() -> None:
    rules = [rule("known", "is_customer", "", 20)]
    assert score(lead(), rules, customer=True).score == 20
    assert score(lead(), rules, customer=False).score == 0


def test_engagement_rule_fires_at_its_count_and_not_one_below() -> None:
    rules = [rule("busy", "engagement_at_least", "3", 10)]
    assert score(lead(), rules, events=3).score == 10
    assert score(lead(), rules, events=50).score == 10
    assert score(lead(), rules, events=2).score == 0


# --- score_lead: totals, order, clamping -------------------------------------------------------------


def test_reasons_are_the_fired_rules_in_rule_order_with_their_points_and_text() -> None:
    rules = [
        rule("small", "value_at_least", "100", 5, "Worth at least 100"),
        rule("ref", "source", "referral", 25, "Referred"),
        rule("huge", "value_at_least", "1000000", 30, "Worth a million"),
        rule("known", "is_customer", "", 20, "Already a customer"),
    ]
    result = score(lead(source="referral", estimated_value=Decimal("500")), rules, customer=True)
    assert [(r.rule, r.points, r.reason) for r in result.reasons] == [
        ("small", 5, "Worth at least 100"), ("ref", 25, "Referred"), ("known", 20, "Already a customer")]
    assert result.score == result.raw == 50


def test_negative_points_lower_the_score() -> None:
    rules = [rule("ref", "source", "other", -5), rule("big", "value_at_least", "10", 30)]
    result = score(lead(source="other"), rules)
    assert result.score == result.raw == 25
    assert [r.points for r in result.reasons] == [-5, 30]


def test_score_is_held_at_100_and_the_raw_sum_kept() -> None:
    rules = [rule("a", "is_customer", "", 60), rule("b", "source", "website", 60)]
    result = score(lead(), rules, customer=True)
    assert (result.score, result.raw) == (100, 120)
    assert fired(result) == ["a", "b"]


def test_score_is_held_at_0_and_the_raw_sum_kept() -> None:
    rules = [rule("a", "source", "website", -30), rule("b", "is_customer", "", 10)]
    result = score(lead(), rules, customer=True)
    assert (result.score, result.raw) == (0, -20)
    assert fired(result) == ["a", "b"]


@pytest.mark.parametrize("points, expected", [(100, 100), (99, 99), (1, 1), (0, 0), (-1, 0)])
def test_score_near_its_bounds(points: int, expected: int) -> None:
    assert score(lead(), [rule("a", "source", "website", points)]).score == expected


def test_a_zero_point_rule_that_fires_is_still_listed() -> None:
    result = score(lead(), [rule("noted", "source", "website", 0, "Website, worth nothing extra")])
    assert (result.score, fired(result)) == (0, ["noted"])


def test_no_rules_no_score() -> None:
    assert score(lead(), []) == LeadScore(score=0, raw=0, reasons=[])


def test_rules_are_data_changing_them_changes_the_score() -> None:
    base = [rule("web", "source", "website", 10), rule("big", "value_at_least", "10000", 15)]
    assert score(lead(), base).score == 25
    reweighted = [base[0].model_copy(update={"points": 40}), base[1]]
    assert score(lead(), reweighted).score == 55
    raised_bar = [base[0], rule("big", "value_at_least", "20000", 15)]
    assert score(lead(), raised_bar).score == 10
    assert fired(score(lead(), list(reversed(base)))) == ["big", "web"]


def test_scoring_is_deterministic() -> None:
    ld = lead(source="referral", phone="0123456", estimated_value=Decimal("60000"))
    first = score(ld, DEFAULT_SCORING_RULES, customer=True, events=4)
    assert all(score(ld, DEFAULT_SCORING_RULES, customer=True, events=4) == first for _ in range(5))


def test_duplicate_rule_names_are_refused() -> None:
    with pytest.raises(Invalid, match="web"):
        score(lead(), [rule("web", "source", "website"), rule("web", "is_customer")])


def test_negative_engagement_is_refused() -> None:
    with pytest.raises(Invalid, match="negative"):
        score(lead(), DEFAULT_SCORING_RULES, events=-1)


# --- score_lead with the demo rules ------------------------------------------------------------------


def test_demo_rules_mid_lead() -> None:
    result = score(lead(source="website", estimated_value=Decimal("12000"), phone="0123456"),
                   DEFAULT_SCORING_RULES, events=2)
    assert fired(result) == ["website", "value_10k", "has_phone", "engaged"]
    assert result.score == result.raw == 10 + 10 + 10 + 5


def test_demo_rules_hot_lead_is_held_at_100() -> None:
    hot = lead(source="referral", estimated_value=Decimal("300000"), phone="0123456", notes="urgent")
    result = score(hot, DEFAULT_SCORING_RULES, customer=True, events=12)
    assert fired(result) == ["referral", "value_10k", "value_50k", "value_250k", "has_phone", "has_notes",
                             "existing_customer", "engaged", "engaged_3", "engaged_10"]
    assert (result.score, result.raw) == (100, 120)


def test_demo_rules_cold_lead_is_held_at_0() -> None:
    result = score(lead(source="other", estimated_value=Decimal("0")), DEFAULT_SCORING_RULES)
    assert fired(result) == ["unknown_source"]
    assert (result.score, result.raw) == (0, -5)


# --- Opportunity stages and value --------------------------------------------------------------------


def test_stages_and_their_default_probability() -> None:
    assert STAGES == ("qualification", "proposal", "negotiation", "won", "lost")
    assert DEFAULT_PROBABILITY == {"qualification": 10, "proposal": 40, "negotiation": 70, "won": 100, "lost": 0}


@pytest.mark.parametrize("amount, probability, expected", [
    ("1000", 40, "400.00"),
    ("1000", 0, "0.00"),
    ("1000", 100, "1000.00"),
    ("33.33", 10, "3.33"),
    ("0.05", 50, "0.03"),  # 0.025 rounds half up
    ("0.01", 49, "0.00"),
    ("200", Decimal("12.5"), "25.00"),
    (str(MAX_AMOUNT), 70, "700000000.00"),
])
def test_expected_value(amount: str, probability: int | Decimal, expected: str) -> None:
    value = expected_value(Decimal(amount), probability)
    assert str(value) == expected


@pytest.mark.parametrize("amount, probability", [("-0.01", 50), ("100", -1), ("100", 101), ("100", Decimal("100.1"))])
def test_expected_value_refuses_nonsense(amount: str, probability: int | Decimal) -> None:
    with pytest.raises(Invalid):
        expected_value(Decimal(amount), probability)


ALLOWED = {
    ("qualification", "proposal"), ("qualification", "negotiation"), ("qualification", "won"),
    ("qualification", "lost"),
    ("proposal", "qualification"), ("proposal", "negotiation"), ("proposal", "won"), ("proposal", "lost"),
    ("negotiation", "proposal"), ("negotiation", "won"), ("negotiation", "lost"),
}


@pytest.mark.parametrize("current, new", sorted(ALLOWED))
def test_allowed_stage_moves(current: str, new: str) -> None:
    check_stage_move(current, new)
    assert new in allowed_moves(current)


@pytest.mark.parametrize("current, new", sorted(set(itertools.product(STAGES, STAGES)) - ALLOWED))
def test_every_other_stage_move_is_a_conflict(current: str, new: str) -> None:
    with pytest.raises(Conflict):
        check_stage_move(current, new)
    assert new not in allowed_moves(current)


def test_allowed_moves_per_stage() -> None:
    assert allowed_moves("qualification") == ("proposal", "negotiation", "won", "lost")
    assert allowed_moves("proposal") == ("qualification", "negotiation", "won", "lost")
    assert allowed_moves("negotiation") == ("proposal", "won", "lost")
    assert allowed_moves("won") == allowed_moves("lost") == ()
    assert set(OPEN_STAGES) | {"won", "lost"} == set(STAGES)


def test_stage_conflicts_explain_themselves() -> None:
    with pytest.raises(Conflict, match="nothing moves it out of won"):
        check_stage_move("won", "negotiation")
    with pytest.raises(Conflict, match="nothing moves it out of lost"):
        check_stage_move("lost", "qualification")
    with pytest.raises(Conflict, match="already in proposal"):
        check_stage_move("proposal", "proposal")
    with pytest.raises(Conflict, match=r"back only one stage.*proposal, won, lost"):
        check_stage_move("negotiation", "qualification")


@pytest.mark.parametrize("current, new", [("draft", "proposal"), ("proposal", "closed"), ("Won", "lost")])
def test_unknown_stages_are_invalid(current: str, new: str) -> None:
    with pytest.raises(Invalid, match="unknown opportunity stage"):
        check_stage_move(current, new)


def test_allowed_moves_of_an_unknown_stage_is_invalid() -> None:
    with pytest.raises(Invalid):
        allowed_moves("pending")
