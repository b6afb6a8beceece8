"""Login sessions against a real database: a session is live until logout, expiry, or a change of the user's
password, active flag or roles (each of which ends all of the user's sessions)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from domain.core.db import Database
from domain.core.errors import Forbidden, Invalid
from domain.core.types import utcnow
from domain.org import company, grants, sessions
from domain.org import services as org
from domain.org.tables import AuthSession, User


def open_for(db: Database, username: str, minutes: int = 60) -> str:
    with db.write() as s:
        return sessions.open_session(s, username, minutes).jti


def holder(db: Database, jti: str) -> sessions.Holder | None:
    with db.read() as s:
        return sessions.holder(s, jti)


def reason(db: Database, jti: str) -> str | None:
    with db.read() as s:
        return s.execute(select(AuthSession.revoked_reason).where(AuthSession.jti == jti)).scalar_one()


def test_a_new_session_is_live_and_names_its_user_and_roles(db: Database) -> None:
    jti = open_for(db, "frank")
    with db.read() as s:
        frank = org.user_by_name(s, "frank")
        expected = sessions.Holder(username="frank", full_name=frank.full_name, roles=frozenset(frank.roles),
                                   time_zone=company.settings(s).time_zone, grants_version=grants.version(s))
    assert holder(db, jti) == expected and "manager" in expected.roles
    assert holder(db, "no-such-session") is None
    assert open_for(db, "frank") != jti  # each login its own session


def test_a_user_without_roles_still_has_a_session(db: Database) -> None:
    with db.write() as s:
        org.create_user(s, "nora", "long enough pw", [])
    jti = open_for(db, "nora")
    h = holder(db, jti)
    assert h is not None and h.username == "nora" and h.roles == frozenset()


def test_an_inactive_user_gets_no_session(db: Database) -> None:
    with db.write() as s:
        org.set_active(s, "erin", False)
        with pytest.raises(Invalid):
            sessions.open_session(s, "erin", 60)
        with pytest.raises(Invalid):
            sessions.open_session(s, "nobody", 60)


def test_logout_ends_that_session_only(db: Database) -> None:
    one, two = open_for(db, "erin"), open_for(db, "erin")
    with db.write() as s:
        assert sessions.end_session(s, one) is True
        assert sessions.end_session(s, one) is False  # already ended
    assert holder(db, one) is None and holder(db, two) is not None
    assert reason(db, one) == sessions.LOGOUT


def test_an_expired_session_is_not_live_and_is_pruned_at_the_next_login(db: Database) -> None:
    old = open_for(db, "erin")
    with db.write() as s:
        s.execute(update(AuthSession).where(AuthSession.jti == old).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert holder(db, old) is None
    other = open_for(db, "frank")
    open_for(db, "erin")
    with db.read() as s:
        jtis = set(s.execute(select(AuthSession.jti)).scalars())
    assert old not in jtis and other in jtis  # only erin's expired rows were pruned


def test_a_password_change_needs_the_current_password_and_ends_every_session(db: Database) -> None:
    one, two, franks = open_for(db, "erin"), open_for(db, "erin"), open_for(db, "frank")
    with db.write() as s, pytest.raises(Forbidden):
        org.change_password(s, "erin", "wrong", "a new password")
    assert holder(db, one) is not None  # a refused change ends nothing
    for bad in ("short", "x" * 201, "erin", "ERIN    "):
        with db.write() as s, pytest.raises(Invalid):
            org.change_password(s, "erin", "demo", bad)
    with db.write() as s:
        with pytest.raises(Invalid):
            org.change_password(s, "erin", "demo", "demo")  # too short anyway, and the same
        org.change_password(s, "erin", "demo", "a new password")
    assert holder(db, one) is None and holder(db, two) is None and holder(db, franks) is not None
    assert reason(db, one) == sessions.PASSWORD
    with db.read() as s:
        hashed = org.user_by_name(s, "erin").password_hash
    assert org.verify_password("a new password", hashed) and not org.verify_password("demo", hashed)
    with db.write() as s, pytest.raises(Invalid):
        org.change_password(s, "erin", "a new password", "a new password")  # not the current one again


def test_an_admin_password_reset_ends_every_session(db: Database) -> None:
    jti = open_for(db, "erin")
    with db.write() as s, pytest.raises(Invalid):
        org.set_password(s, "erin", "short")
    assert holder(db, jti) is not None
    with db.write() as s:
        org.set_password(s, "erin", "reset by admin")
    assert holder(db, jti) is None


def test_deactivation_ends_every_session_and_reactivation_revives_none(db: Database) -> None:
    jti = open_for(db, "erin")
    with db.write() as s:
        org.set_active(s, "erin", False)
    assert holder(db, jti) is None and reason(db, jti) == sessions.DEACTIVATED
    with db.write() as s:
        org.set_active(s, "erin", True)
    assert holder(db, jti) is None
    assert holder(db, open_for(db, "erin")) is not None


def test_an_inactive_user_is_refused_even_when_deactivated_behind_the_service(db: Database) -> None:
    jti = open_for(db, "erin")
    with db.write() as s:
        s.execute(update(User).where(User.username == "erin").values(active=False))
    assert holder(db, jti) is None


def test_a_change_of_roles_ends_every_session_and_no_change_ends_none(db: Database) -> None:
    jti = open_for(db, "erin")
    with db.write() as s:
        org.set_roles(s, "erin", ["employee"])  # the roles she has: nothing changes
    assert holder(db, jti) is not None
    with db.write() as s, pytest.raises(Invalid):
        org.set_roles(s, "erin", ["employee", "emperor"])
    assert holder(db, jti) is not None
    with db.write() as s:
        org.set_roles(s, "erin", ["employee", "finance"])
    assert holder(db, jti) is None and reason(db, jti) == sessions.ROLES
    h = holder(db, open_for(db, "erin"))
    assert h is not None and h.roles == frozenset({"employee", "finance"})
    with db.write() as s:
        org.set_roles(s, "erin", ["finance"])
    h = holder(db, open_for(db, "erin"))
    assert h is not None and h.roles == frozenset({"finance"})


def test_revoke_sessions_counts_only_live_ones(db: Database) -> None:
    one = open_for(db, "erin")
    open_for(db, "erin")
    with db.write() as s:
        sessions.end_session(s, one)
        assert sessions.live_sessions(s, "erin") == 1
        assert sessions.revoke_sessions(s, "erin", sessions.ROLES) == 1
        assert sessions.live_sessions(s, "erin") == 0
        assert sessions.revoke_sessions(s, "erin", sessions.ROLES) == 0
