"""The yes-or-no twins of the processes' checks that pages ask before they offer a button (issue 16): each says
yes exactly where the process takes the command from that person in that state."""

from __future__ import annotations

from datetime import date

import pytest

from domain.approvals import rules as approvals
from domain.approvals.rules import ChainStep
from domain.org.people import Actor
from domain.production import rules as production
from domain.sales import rules as sales


def who(username: str, *roles: str) -> Actor:
    return Actor(username=username, roles=list(roles))


ROLE_STEP = ChainStep(index=3, label="cfo", candidate_role="cfo")
NAMED_STEP = ChainStep(index=1, label="manager", candidate_user="frank", authority=["manager"])


@pytest.mark.parametrize(("actor", "prior", "assignee", "later", "yes"), [
    (who("heidi", "cfo"), ["frank", "fay"], None, [], True),
    (who("fay", "cfo", "finance"), ["frank", "fay"], None, [], False),  # decided an earlier step of this chain
    (who("erin", "cfo"), [], None, [], False),  # the requester
    (who("grace", "finance"), [], None, [], False),  # not the step's role
    (who("heidi", "cfo"), [], "fay", [], False),  # claimed by someone else
    (who("heidi", "cfo"), [], "heidi", [], True),
    (who("heidi", "cfo"), [], None, [ChainStep(index=4, label="x", candidate_role="x", eligible=["heidi"])], False),
])
def test_may_decide(actor: Actor, prior: list[str], assignee: str | None,
                                                        later: list[ChainStep], yes: bool) -> None:
    assert approvals.may_decide(ROLE_STEP, actor, "erin", prior, assignee, later) is yes


def test_may_decide_a_named_step_only_its_approver() -> None:
    assert approvals.may_decide(NAMED_STEP, who("frank", "manager"), "erin", [], None)
    assert not approvals.may_decide(NAMED_STEP, who("bob", "manager"), "erin", [], None)


@pytest.mark.parametrize(("step", "actor", "prior", "assignee", "yes"), [
    (ROLE_STEP, who("heidi", "cfo"), [], None, True),
    (ROLE_STEP, who("heidi", "cfo"), [], "heidi", True),  # claiming it again is harmless
    (ROLE_STEP, who("heidi", "cfo"), [], "fay", False),  # claimed by someone else
    (ROLE_STEP, who("fay", "cfo"), ["fay"], None, False),  # decided an earlier step of this chain
    (ROLE_STEP, who("erin", "cfo"), [], None, False),  # the requester
    (ROLE_STEP, who("grace", "finance"), [], None, False),
    (NAMED_STEP, who("frank", "manager"), [], None, True),
    (NAMED_STEP, who("bob", "manager"), [], None, False),  # may stand in by a hand-on, not take it as it is
])
def test_may_claim(step: ChainStep, actor: Actor, prior: list[str], assignee: str | None, yes: bool) -> None:
    assert approvals.may_claim(step, actor, "erin", prior, assignee) is yes


@pytest.mark.parametrize(("actor", "holder", "yes"), [
    (who("frank", "manager"), "frank", True),  # the holder
    (who("admin", "admin"), "frank", True),  # task.hand_on_any
    (who("bob", "manager"), "frank", False),
    (who("heidi", "cfo"), None, True),  # nobody holds it: a holder of its role
    (who("erin", "cfo"), None, False),  # but never the requester
    (who("grace", "finance"), None, False),
])
def test_may_hand_on(actor: Actor, holder: str | None, yes: bool) -> None:
    assert approvals.may_hand_on(ROLE_STEP, actor, "erin", holder) is yes


def test_may_unclaim_the_assignee_or_an_admin() -> None:
    assert approvals.may_unclaim(who("heidi", "cfo"), "heidi")
    assert approvals.may_unclaim(who("admin", "admin"), "heidi")
    assert not approvals.may_unclaim(who("fay", "cfo"), "heidi")
    assert not approvals.may_unclaim(who("admin", "admin"), None)  # nothing to release


@pytest.mark.parametrize(("actor", "status", "waiting", "yes"), [
    (who("carol", "planner"), "released", False, True),
    (who("carol", "planner"), "waiting_material", False, True),
    (who("carol", "planner"), "released", True, False),  # one change at a time
    (who("carol", "planner"), "completed", False, False),
    (who("ivan", "warehouse"), "released", False, False),  # reports progress, never changes
    (who("admin", "admin"), "released", False, True),
])
def test_may_request_change(actor: Actor, status: str, waiting: bool, yes: bool) -> None:
    assert production.may_request_change(actor, status, change_open=waiting) is yes


TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(("actor", "status", "until", "yes"), [
    (who("alice", "sales"), "sent", TODAY, True),  # the salesperson, on its last valid day
    (who("sam", "sales_manager"), "sent", TODAY, True),  # quotation.answer_any
    (who("admin", "admin"), "sent", TODAY, True),
    (who("heidi", "cfo"), "sent", TODAY, False),
    (who("carl", "sales"), "sent", TODAY, False),  # another salesperson
    (who("alice", "sales"), "sent", date(2026, 12, 5), False),  # expired yesterday, not yet marked so
    (who("alice", "sales"), "pending_approval", TODAY, False),
    (who("alice", "sales"), "accepted", TODAY, False),
])
def test_may_answer(actor: Actor, status: str, until: date, yes: bool) -> None:
    assert sales.may_answer(actor, "alice", status, until, TODAY) is yes


@pytest.mark.parametrize(("actor", "status", "yes"), [
    (who("erin", "employee"), "pending_approval", True),  # the requester, while it awaits approval
    (who("erin", "employee"), "submitted", True),
    (who("admin", "admin"), "pending_approval", True),  # document.cancel_any
    (who("frank", "manager"), "pending_approval", False),
    (who("erin", "employee"), "approved", False),  # an approved claim whose row may still say pending
    (who("admin", "admin"), "paid", False),
])
def test_may_withdraw(actor: Actor, status: str, yes: bool) -> None:
    assert approvals.may_withdraw(actor, "erin", status) is yes


@pytest.mark.parametrize(("actor", "status", "supplied", "yes"), [
    (who("alice", "sales"), "reserving", False, True),  # the salesperson
    (who("bob", "sales_manager"), "waiting for supply", False, True),  # sales_order.cancel
    (who("ivan", "warehouse"), "reserving", False, False),
    (who("alice", "sales"), "waiting for supply", True, False),  # production and purchasing under way
    (who("alice", "sales"), "delivering", False, False),
    (who("alice", "sales"), "completed", False, False),
])
def test_may_cancel_order(actor: Actor, status: str, supplied: bool, yes: bool) -> None:
    assert sales.may_cancel_order(actor, "alice", status, supply_ordered=supplied) is yes
