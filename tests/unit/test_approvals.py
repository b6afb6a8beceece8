"""Approval policy rules: tiers, chain resolution over the demo org chart, SoD and escalation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import demo
from domain.approvals.rules import (
    ChainStep,
    PolicyTier,
    StepSpec,
    check_may_decide,
    check_may_take,
    escalation_target,
    resolve_chain,
    select_tier,
)
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.org.people import Actor, Person


def _tiers(kind: str) -> list[PolicyTier]:
    return [PolicyTier(above=Decimal(above), steps=[StepSpec(kind=k, value=v) for k, v in steps])  # type: ignore[arg-type]
            for above, steps in demo.POLICIES[kind]]


EXPENSE = _tiers("expense_claim")
PURCHASE = _tiers("purchase_requisition")
PEOPLE: dict[str, Person] = {
    username: Person(username=username, roles=frozenset(roles), manager=manager)
    for username, _name, roles, manager in demo.USERS
}
ACTORS: dict[str, Actor] = {u: Actor(username=u, roles=sorted(p.roles)) for u, p in PEOPLE.items()}


def _describe(tier: PolicyTier) -> list[str]:
    return [s.describe() for s in tier.steps]


def _who(steps: list[ChainStep]) -> list[str]:
    return [s.candidate_user or f"role:{s.candidate_role}" for s in steps]


# --- select_tier ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "expected"), [
    ("0.01", ["manager"]),
    ("999.99", ["manager"]),
    ("1000", ["manager"]),
    ("1000.00", ["manager"]),
    ("1000.01", ["manager", "finance"]),
    ("5000", ["manager", "finance"]),
    ("10000", ["manager", "finance"]),
    ("10000.01", ["manager", "finance", "cfo"]),
    ("20000", ["manager", "finance", "cfo"]),
    ("999999999", ["manager", "finance", "cfo"]),
])
def test_select_tier_expense_boundaries(amount: str, expected: list[str]) -> None:
    assert _describe(select_tier(EXPENSE, Decimal(amount))) == expected


@pytest.mark.parametrize(("amount", "expected"), [
    ("1", ["manager"]),
    ("5000", ["manager"]),
    ("5000.01", ["manager", "cfo"]),
])
def test_select_tier_purchase_boundaries(amount: str, expected: list[str]) -> None:
    assert _describe(select_tier(PURCHASE, Decimal(amount))) == expected


def test_select_tier_does_not_depend_on_tier_order() -> None:
    assert _describe(select_tier(list(reversed(EXPENSE)), Decimal("1500"))) == ["manager", "finance"]


@pytest.mark.parametrize("amount", ["0", "0.00", "-1", "-10000.01"])
def test_select_tier_refuses_zero_and_negative(amount: str) -> None:
    with pytest.raises(Invalid, match="greater than zero"):
        select_tier(EXPENSE, Decimal(amount))


def test_select_tier_without_a_covering_tier_is_invalid() -> None:
    only_big = [PolicyTier(above=Decimal(100), steps=[StepSpec(kind="manager")])]
    with pytest.raises(Invalid, match="no approval policy covers"):
        select_tier(only_big, Decimal(50))
    assert select_tier(only_big, Decimal("100.01")).above == Decimal(100)


# --- resolve_chain ----------------------------------------------------------------------------------


def test_erin_20000_goes_to_frank_finance_cfo() -> None:
    steps = resolve_chain(select_tier(EXPENSE, Decimal(20000)), "erin", PEOPLE)
    assert _who(steps) == ["frank", "role:finance", "role:cfo"]
    assert [s.index for s in steps] == [1, 2, 3]
    assert [s.label for s in steps] == ["manager", "finance", "cfo"]


def test_erin_small_claim_goes_to_her_manager_only() -> None:
    steps = resolve_chain(select_tier(EXPENSE, Decimal(1000)), "erin", PEOPLE)
    assert _who(steps) == ["frank"]


def test_alice_1500_goes_to_bob_then_finance() -> None:
    steps = resolve_chain(select_tier(EXPENSE, Decimal(1500)), "alice", PEOPLE)
    assert _who(steps) == ["bob", "role:finance"]


def test_manager_holding_a_later_role_is_folded_into_that_step() -> None:
    # frank's manager heidi is the cfo: she approves once, as cfo, not as manager and again as cfo.
    steps = resolve_chain(select_tier(EXPENSE, Decimal(20000)), "frank", PEOPLE)
    assert _who(steps) == ["role:finance", "role:cfo"]
    assert [s.index for s in steps] == [1, 2]


def test_purchase_above_5000_by_bob_is_only_the_cfo() -> None:
    steps = resolve_chain(select_tier(PURCHASE, Decimal(6000)), "bob", PEOPLE)
    assert _who(steps) == ["role:cfo"]
    assert steps[0].index == 1


def test_manager_not_folded_when_only_an_earlier_step_has_their_role() -> None:
    tier = PolicyTier(above=Decimal(0), steps=[StepSpec(kind="role", value="cfo"), StepSpec(kind="manager")])
    # dave's manager is frank (no cfo role): no folding, two steps.
    assert _who(resolve_chain(tier, "dave", PEOPLE)) == ["role:cfo", "frank"]


def test_named_user_step_holding_a_later_role_is_folded() -> None:
    tier = PolicyTier(above=Decimal(0), steps=[StepSpec(kind="user", value="heidi"), StepSpec(kind="role", value="cfo")])
    assert _who(resolve_chain(tier, "erin", PEOPLE)) == ["role:cfo"]


def test_sla_hours_are_carried_into_the_chain() -> None:
    tier = PolicyTier(above=Decimal(0), steps=[StepSpec(kind="manager", sla_hours=4),
                                                StepSpec(kind="role", value="finance", sla_hours=72)])
    assert [s.sla_hours for s in resolve_chain(tier, "erin", PEOPLE)] == [4, 72]


def test_requester_without_a_manager_is_invalid() -> None:
    with pytest.raises(Invalid, match="heidi has no manager"):
        resolve_chain(select_tier(EXPENSE, Decimal(100)), "heidi", PEOPLE)


def test_unknown_requester_is_invalid() -> None:
    with pytest.raises(Invalid, match="unknown requester"):
        resolve_chain(select_tier(EXPENSE, Decimal(100)), "mallory", PEOPLE)


def test_grace_is_the_only_finance_person_so_her_big_claim_cannot_be_staffed() -> None:
    with pytest.raises(Invalid) as err:
        resolve_chain(select_tier(EXPENSE, Decimal("1000.01")), "grace", PEOPLE)
    assert str(err.value) == "step 2 (finance) has nobody to approve it but the requester (role finance)"


def test_grace_small_claim_is_fine() -> None:
    assert _who(resolve_chain(select_tier(EXPENSE, Decimal(1000)), "grace", PEOPLE)) == ["heidi"]


def test_inactive_approver_does_not_count() -> None:
    people = dict(PEOPLE)
    people["grace"] = people["grace"].model_copy(update={"active": False})
    with pytest.raises(Invalid, match=r"step 2 \(finance\) has nobody"):
        resolve_chain(select_tier(EXPENSE, Decimal(2000)), "erin", people)


def test_inactive_manager_is_invalid() -> None:
    people = dict(PEOPLE)
    people["frank"] = people["frank"].model_copy(update={"active": False})
    with pytest.raises(Invalid, match=r"step 1 \(manager\) has nobody .*\(frank\)"):
        resolve_chain(select_tier(EXPENSE, Decimal(100)), "erin", people)


def test_one_person_cannot_fill_two_steps() -> None:
    # y holds both finance and cfo and is the only holder of either: two steps, one person.
    people = {
        "x": Person(username="x", roles=frozenset({"employee"}), manager="m"),
        "m": Person(username="m", roles=frozenset({"manager"})),
        "y": Person(username="y", roles=frozenset({"finance", "cfo"})),
    }
    tier = PolicyTier(above=Decimal(0), steps=[StepSpec(kind="role", value="finance"),
                                                StepSpec(kind="role", value="cfo")])
    with pytest.raises(Invalid, match="more distinct approvers"):
        resolve_chain(tier, "x", people)


def test_distinct_approvers_found_by_reassigning_an_earlier_choice() -> None:
    # step 1 could be a or b, step 2 only a: a valid assignment exists (b, a), so the chain resolves.
    people = {
        "x": Person(username="x"),
        "a": Person(username="a", roles=frozenset({"finance", "cfo"})),
        "b": Person(username="b", roles=frozenset({"finance"})),
    }
    tier = PolicyTier(above=Decimal(0), steps=[StepSpec(kind="role", value="finance"),
                                                StepSpec(kind="role", value="cfo")])
    assert _who(resolve_chain(tier, "x", people)) == ["role:finance", "role:cfo"]


def test_requester_is_removed_from_a_role_step_before_matching() -> None:
    # x holds finance; the other finance person also holds cfo: finance→x impossible, so y can't do both.
    people = {
        "x": Person(username="x", roles=frozenset({"finance"})),
        "y": Person(username="y", roles=frozenset({"finance", "cfo"})),
    }
    tier = PolicyTier(above=Decimal(0), steps=[StepSpec(kind="role", value="finance"),
                                                StepSpec(kind="role", value="cfo")])
    with pytest.raises(Invalid, match="more distinct approvers"):
        resolve_chain(tier, "x", people)


# --- check_may_decide / check_may_take ------------------------------------------------------------

MANAGER_STEP = ChainStep(index=1, label="manager", candidate_user="frank")
FINANCE_STEP = ChainStep(index=2, label="finance", candidate_role="finance")
CFO_STEP = ChainStep(index=3, label="cfo", candidate_role="cfo")


def test_the_named_manager_may_decide() -> None:
    check_may_decide(MANAGER_STEP, ACTORS["frank"], "erin", [], None)
    check_may_decide(MANAGER_STEP, ACTORS["frank"], "erin", [], "frank")


def test_a_role_holder_may_decide() -> None:
    check_may_decide(FINANCE_STEP, ACTORS["grace"], "erin", ["frank"], None)


def test_requester_may_not_decide_own_request() -> None:
    with pytest.raises(Forbidden, match="own request"):
        check_may_decide(FINANCE_STEP, ACTORS["grace"], "grace", [], None)


def test_earlier_decider_may_not_decide_again() -> None:
    # heidi is the cfo and decided step 1 (as the manager of frank-in-a-custom-chain): not step 3 too.
    with pytest.raises(Forbidden, match="heidi already decided an earlier step"):
        check_may_decide(CFO_STEP, ACTORS["heidi"], "erin", iter(["frank", "heidi"]), None)


def test_someone_else_may_not_decide_a_named_step() -> None:
    with pytest.raises(Forbidden, match="this task is for frank"):
        check_may_decide(MANAGER_STEP, ACTORS["bob"], "erin", [], None)
    # heidi is frank's manager and a manager, but the step names frank.
    with pytest.raises(Forbidden, match="this task is for frank"):
        check_may_decide(MANAGER_STEP, ACTORS["heidi"], "erin", [], None)


def test_wrong_role_may_not_decide() -> None:
    with pytest.raises(Forbidden, match="needs the role finance"):
        check_may_decide(FINANCE_STEP, ACTORS["frank"], "erin", [], None)


def test_admin_without_the_role_may_not_decide() -> None:
    with pytest.raises(Forbidden, match="needs the role cfo"):
        check_may_decide(CFO_STEP, ACTORS["admin"], "erin", [], None)


def test_claimed_by_another_is_a_conflict() -> None:
    other_finance = Actor(username="gina", roles=["finance"])
    with pytest.raises(Conflict, match="claimed by grace"):
        check_may_decide(FINANCE_STEP, other_finance, "erin", [], "grace")


def test_sod_is_checked_before_the_claim() -> None:
    # the requester is told they can't approve their own request, not that someone claimed it.
    with pytest.raises(Forbidden):
        check_may_decide(FINANCE_STEP, ACTORS["grace"], "grace", [], "gina")


def test_check_may_take() -> None:
    check_may_take(FINANCE_STEP, ACTORS["grace"], "erin", ["frank"])
    named = MANAGER_STEP.model_copy(update={"authority": ["manager"]})
    check_may_take(named, ACTORS["heidi"], "erin", [])  # another manager may stand in for frank
    with pytest.raises(Forbidden, match="cannot stand in for frank"):
        check_may_take(named, Actor(username="admin", roles=["admin"]), "erin", [])  # admin has no bypass
    with pytest.raises(Forbidden, match="cannot stand in for frank"):
        check_may_take(MANAGER_STEP, ACTORS["heidi"], "erin", [])  # no known authority: nobody stands in
    with pytest.raises(Forbidden, match="erin made this request"):
        check_may_take(FINANCE_STEP, Actor(username="erin", roles=["finance"]), "erin", [])
    with pytest.raises(Forbidden, match="frank already decided"):
        check_may_take(CFO_STEP, Actor(username="frank", roles=["cfo"]), "erin", ["frank"])
    with pytest.raises(Forbidden, match="dave does not hold the role finance"):
        check_may_take(FINANCE_STEP, ACTORS["dave"], "erin", [])


# --- escalation_target ----------------------------------------------------------------------------


def test_user_step_escalates_to_the_managers_manager() -> None:
    up = escalation_target(MANAGER_STEP, PEOPLE, demo.ROLES, excluded={"erin"})
    assert up is not None
    assert up.candidate_user == "heidi" and up.candidate_role is None
    assert up.index == MANAGER_STEP.index
    assert up.label == "manager → heidi"


def test_user_step_escalation_skips_excluded_people() -> None:
    step = ChainStep(index=1, label="manager", candidate_user="alice")
    up = escalation_target(step, PEOPLE, demo.ROLES, excluded={"bob"})
    assert up is not None and up.candidate_user == "heidi"


def test_user_step_escalation_skips_inactive_people() -> None:
    people = dict(PEOPLE)
    people["bob"] = people["bob"].model_copy(update={"active": False})
    step = ChainStep(index=1, label="manager", candidate_user="alice")
    up = escalation_target(step, people, demo.ROLES, excluded=set())
    assert up is not None and up.candidate_user == "heidi"


def test_user_step_with_nobody_higher_is_none() -> None:
    assert escalation_target(MANAGER_STEP, PEOPLE, demo.ROLES, excluded={"heidi"}) is None
    top = ChainStep(index=1, label="manager", candidate_user="heidi")
    assert escalation_target(top, PEOPLE, demo.ROLES, excluded=set()) is None


def test_user_step_escalation_survives_a_manager_cycle() -> None:
    people = {"a": Person(username="a", manager="b"), "b": Person(username="b", manager="a")}
    step = ChainStep(index=1, label="manager", candidate_user="a")
    assert escalation_target(step, people, {}, excluded={"a", "b"}) is None


def test_role_step_escalates_along_the_role_chain() -> None:
    up = escalation_target(FINANCE_STEP, PEOPLE, demo.ROLES, excluded={"erin", "frank"})
    assert up is not None
    assert up.candidate_role == "cfo" and up.candidate_user is None
    assert up.label == "finance → cfo"


def test_role_step_skips_a_role_nobody_eligible_holds() -> None:
    # employee → manager; every manager excluded → manager → cfo, also excluded → None
    step = ChainStep(index=1, label="employee", candidate_role="employee")
    assert escalation_target(step, PEOPLE, demo.ROLES, excluded={"bob", "frank", "heidi"}) is None
    up = escalation_target(step, PEOPLE, demo.ROLES, excluded={"bob", "frank"})
    assert up is not None and up.candidate_role == "manager"  # heidi still holds manager


def test_cfo_step_has_nobody_higher() -> None:
    assert escalation_target(CFO_STEP, PEOPLE, demo.ROLES, excluded=set()) is None


def test_role_step_escalation_when_the_cfo_is_excluded_is_none() -> None:
    assert escalation_target(FINANCE_STEP, PEOPLE, demo.ROLES, excluded={"heidi"}) is None


# --- nobody may take a step that a later step cannot do without ----------------------------------


def test_a_chain_is_never_left_without_anyone_for_a_later_step() -> None:
    tier = select_tier([PolicyTier(above=Decimal(0), steps=[StepSpec(kind="manager"),
                                                            StepSpec(kind="role", value="finance"),
                                                            StepSpec(kind="role", value="cfo")])], Decimal(20000))
    steps = resolve_chain(tier, "erin", PEOPLE)
    assert [s.eligible for s in steps] == [["frank"], ["grace"], ["heidi"]]
    assert steps[0].authority == ["manager"]
    later = steps[1:]
    # heidi is the only cfo: she may not take frank's step, by delegation, claim or decision
    with pytest.raises(Forbidden, match="heidi is needed for a later step"):
        check_may_take(steps[0], ACTORS["heidi"], "erin", [], later)
    with pytest.raises(Forbidden, match="heidi is needed for a later step"):
        check_may_decide(steps[0].model_copy(update={"candidate_user": "heidi"}), ACTORS["heidi"], "erin", [],
                         None, later)
    check_may_take(steps[0], ACTORS["bob"], "erin", [], later)  # bob is a manager and no one later needs him
    # escalation from frank skips heidi (the only cfo): nobody higher is left
    assert escalation_target(steps[0], PEOPLE, demo.ROLES, {"erin"}, later) is None
