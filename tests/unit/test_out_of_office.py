"""Out of office: the deputy rule (pure) over the demo org chart, and the absence service (validation,
who sees and removes what) against a real database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain import demo
from domain.approvals import absence
from domain.approvals.rules import Absence, ChainStep, find_deputy, route_to_deputy
from domain.approvals.tables import OutOfOffice
from domain.core.db import Database
from domain.core.errors import Conflict, Forbidden, Invalid, NotFound
from domain.org.people import Person

PEOPLE: dict[str, Person] = {
    username: Person(username=username, roles=frozenset(roles), manager=manager)
    for username, _name, roles, manager in demo.USERS
}
DAY = date(2026, 12, 7)


def away(user: str, deputy: str, start: date = date(2026, 12, 1), end: date = date(2026, 12, 10)) -> Absence:
    return Absence(username=user, deputy=deputy, starts_on=start, ends_on=end)


# frank manages erin; his step carries his approving role, "manager", which a deputy must hold too
FRANK_STEP = ChainStep(index=1, label="manager", candidate_user="frank", eligible=["frank"], authority=["manager"])


def test_nobody_away_means_no_routing() -> None:
    assert find_deputy("frank", DAY, [], PEOPLE, []) == ("frank", [])
    assert route_to_deputy(FRANK_STEP, DAY, [away("bob", "heidi")], PEOPLE, "erin", []) is None


def test_away_within_the_range_routes_to_the_deputy_and_says_why() -> None:
    routed = route_to_deputy(FRANK_STEP, DAY, [away("frank", "bob")], PEOPLE, "erin", [])
    assert routed is not None
    assert routed.deputy == "bob"
    assert routed.step.candidate_user == "bob" and routed.step.eligible == ["bob"]
    assert routed.step.index == 1 and routed.step.authority == ["manager"]
    assert routed.reason == "frank is out of office until 2026-12-10: routed to deputy bob"


@pytest.mark.parametrize("day", [date(2026, 11, 30), date(2026, 12, 11)])
def test_outside_the_range_no_routing(day: date) -> None:
    assert route_to_deputy(FRANK_STEP, day, [away("frank", "bob")], PEOPLE, "erin", []) is None


@pytest.mark.parametrize("day", [date(2026, 12, 1), date(2026, 12, 10)])
def test_both_ends_of_the_range_are_included(day: date) -> None:
    routed = route_to_deputy(FRANK_STEP, day, [away("frank", "bob")], PEOPLE, "erin", [])
    assert routed is not None and routed.deputy == "bob"


def test_a_chain_of_absences_is_followed_to_someone_at_work() -> None:
    absences = [away("frank", "bob", end=date(2026, 12, 9)), away("bob", "heidi")]
    routed = route_to_deputy(FRANK_STEP, DAY, absences, PEOPLE, "erin", [])
    assert routed is not None and routed.deputy == "heidi"
    assert routed.reason == ("frank is out of office until 2026-12-09, bob until 2026-12-10: "
                             "routed to deputy heidi")


def test_a_loop_of_absences_keeps_the_original_person() -> None:
    absences = [away("frank", "bob"), away("bob", "heidi"), away("heidi", "frank")]
    assert find_deputy("frank", DAY, absences, PEOPLE, []) == ("frank", [])
    assert route_to_deputy(FRANK_STEP, DAY, absences, PEOPLE, "erin", []) is None
    assert find_deputy("frank", DAY, [away("frank", "bob"), away("bob", "frank")], PEOPLE, []) == ("frank", [])


def test_a_deputy_without_the_named_approvers_authority_is_not_routed_to() -> None:
    # ivan is warehouse staff: he cannot stand in for frank's manager approval, as he could not by delegation
    assert route_to_deputy(FRANK_STEP, DAY, [away("frank", "ivan")], PEOPLE, "erin", []) is None


def test_the_requester_or_an_earlier_decider_is_never_the_deputy() -> None:
    # bob files the claim himself: frank's deputy bob may not approve it
    assert route_to_deputy(FRANK_STEP, DAY, [away("frank", "bob")], PEOPLE, "bob", []) is None
    assert route_to_deputy(FRANK_STEP, DAY, [away("frank", "bob")], PEOPLE, "erin", ["bob"]) is None
    assert find_deputy("frank", DAY, [away("frank", "bob")], PEOPLE, ["bob"]) == ("frank", [])


def test_an_excluded_deputy_who_is_away_is_passed_over_to_their_own_deputy() -> None:
    absences = [away("frank", "bob"), away("bob", "heidi")]
    assert find_deputy("frank", DAY, absences, PEOPLE, ["bob"]) == ("heidi", absences)


def test_an_inactive_or_unknown_deputy_keeps_the_original_person() -> None:
    people = {**PEOPLE, "bob": PEOPLE["bob"].model_copy(update={"active": False})}
    assert find_deputy("frank", DAY, [away("frank", "bob")], people, []) == ("frank", [])
    assert find_deputy("frank", DAY, [away("frank", "nobody")], PEOPLE, []) == ("frank", [])


def test_a_deputy_a_later_step_cannot_do_without_is_not_routed_to() -> None:
    # heidi is the only cfo: if she takes the manager step, the cfo step would have nobody
    later = [ChainStep(index=2, label="cfo", candidate_role="cfo", eligible=["heidi"])]
    assert route_to_deputy(FRANK_STEP, DAY, [away("frank", "heidi")], PEOPLE, "erin", [], later) is None
    assert route_to_deputy(FRANK_STEP, DAY, [away("frank", "bob")], PEOPLE, "erin", [], later) is not None


def test_role_steps_are_never_rerouted() -> None:
    finance = ChainStep(index=2, label="finance", candidate_role="finance", eligible=["grace"])
    assert route_to_deputy(finance, DAY, [away("grace", "heidi")], PEOPLE, "erin", []) is None


# --- the service -------------------------------------------------------------------------------------

TODAY = absence.today()


def _create(db: Database, actor: str = "frank", roles: frozenset[str] = frozenset({"manager"}),
            **kw: object) -> int:
    args: dict[str, object] = {"deputy": "bob", "starts_on": TODAY, "ends_on": TODAY + timedelta(days=3)} | kw
    with db.write() as s:
        return absence.create(s, actor, roles, **args).id  # type: ignore[arg-type]


def _count(db: Database) -> int:
    with db.read() as s:
        return s.query(OutOfOffice).count()


def test_create_list_and_delete_own(db: Database) -> None:
    aid = _create(db, note="  skiing  ")
    with db.read() as s:
        mine = absence.listing(s, "frank", {"manager"})
        assert [(a.username, a.deputy, a.note) for a in mine] == [("frank", "bob", "skiing")]
        assert absence.listing(s, "bob", {"manager"}) == []
        assert [(a.username, a.deputy) for a in absence.absences_on(s, TODAY)] == [("frank", "bob")]
        assert absence.absences_on(s, TODAY + timedelta(days=4)) == []
    with db.write() as s, pytest.raises(NotFound):
        absence.delete(s, "bob", {"manager"}, aid)  # someone else's is not even found
    with db.write() as s:
        absence.delete(s, "frank", {"manager"}, aid)
    assert _count(db) == 0


@pytest.mark.parametrize(("kw", "error", "said"), [
    ({"deputy": "frank"}, Invalid, "own deputy"),
    ({"deputy": "nobody"}, Invalid, "not a user"),
    ({"deputy": ""}, Invalid, "name the deputy"),
    ({"starts_on": TODAY + timedelta(days=5)}, Invalid, "ends before it starts"),
    ({"starts_on": TODAY - timedelta(days=9), "ends_on": TODAY - timedelta(days=1)}, Invalid, "in the past"),
    ({"note": "x" * 301}, Invalid, "note"),
    ({"username": "grace"}, Forbidden, "only an admin"),
])
def test_bad_input_is_refused_and_nothing_is_stored(db: Database, kw: dict[str, object],
                                                    error: type[Exception], said: str) -> None:
    with pytest.raises(error, match=said):
        _create(db, **kw)
    assert _count(db) == 0


def test_an_inactive_deputy_is_refused(db: Database) -> None:
    from domain.org import services as org
    with db.write() as s:
        org.user_by_name(s, "bob").active = False
    with pytest.raises(Invalid, match="not active"):
        _create(db)
    assert _count(db) == 0


def test_overlapping_absences_of_one_user_are_refused(db: Database) -> None:
    _create(db, starts_on=TODAY + timedelta(days=2), ends_on=TODAY + timedelta(days=6))
    for start, end in ((0, 2), (6, 8), (3, 4), (0, 10)):
        with pytest.raises(Conflict, match="already out of office"):
            _create(db, starts_on=TODAY + timedelta(days=start), ends_on=TODAY + timedelta(days=end))
    _create(db, starts_on=TODAY + timedelta(days=7), ends_on=TODAY + timedelta(days=9))  # adjacent is fine
    _create(db, actor="bob", deputy="frank", starts_on=TODAY, ends_on=TODAY + timedelta(days=9))  # another user
    assert _count(db) == 3


def test_an_admin_records_and_removes_anyones_absence(db: Database) -> None:
    admin = frozenset({"admin"})
    aid = _create(db, actor="admin", roles=admin, username="frank")
    with pytest.raises(Invalid, match="no user"):
        _create(db, actor="admin", roles=admin, username="nobody")
    with db.read() as s:
        assert [a.username for a in absence.listing(s, "admin", admin, everyone=True)] == ["frank"]
        assert absence.listing(s, "admin", admin) == []
        assert absence.listing(s, "erin", {"employee"}, everyone=True) == []  # only an admin sees everyone's
    with db.write() as s:
        absence.delete(s, "admin", admin, aid)
    assert _count(db) == 0
