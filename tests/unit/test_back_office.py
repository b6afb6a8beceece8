"""The back office's rules without HTTP: the company's settings (a time zone that exists), users changed by admin
(roles, manager, deactivation ending every session) with their audit lines, permissions as data (seeded from the
defaults, a role created and given actions, may() answering from the stored grants once refreshed), and changes
that wait for a second approval (proposed, applied once, rejected)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain import permissions
from domain.audit import services as audit
from domain.changes import services as changes
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.types import utcnow
from domain.org import company, grants, sessions
from domain.org import services as org
from domain.parties.tables import Customer

A = permissions.Action


@pytest.fixture(autouse=True)
def _default_grants() -> Iterator[None]:
    """Tests here load stored grants into the module: the next test starts from the defaults again."""
    yield
    permissions.use_grants({str(k): v for k, v in permissions.DEFAULT_GRANTS.items()}, 0)


def test_the_company_needs_a_time_zone_that_exists(fresh_db: Database) -> None:
    with pytest.raises(ValidationError, match="is not a time zone"):
        company.CompanySettings(name="Acme", time_zone="Mars/Olympus")
    with pytest.raises(ValidationError):
        company.CompanySettings(name="Acme", base_currency="XXY")
    with fresh_db.write() as s:
        assert not company.is_set_up(s)
        company.save(s, company.CompanySettings(name=" Acme ", base_currency="CNY", fiscal_year_start=4,
                                                time_zone="Asia/Shanghai"), actor="admin")
    with fresh_db.read() as s:
        assert company.is_set_up(s) and company.settings(s).name == "Acme"
        [line] = audit.trail(s, "company", 1)
        assert line["actor"] == "admin" and line["action"] == "created" and line["after"]["base_currency"] == "CNY"


def test_admin_changes_a_user_and_a_deactivation_ends_their_sessions_at_once(db: Database) -> None:
    with db.write() as s:
        org.create_user(s, "zoe", "a long secret 1", ["employee"], "Zoe Z", manager="carol", email="z@x.dev",
                        actor="admin")
        live = sessions.open_session(s, "zoe", 60)
    with db.write() as s:
        with pytest.raises(Invalid, match="at least 8"):
            org.create_user(s, "yan", "short", ["employee"], actor="admin")
        with pytest.raises(Invalid, match="unknown role"):
            org.update_user(s, "zoe", "admin", roles=["astronaut"])
        with pytest.raises(Invalid, match="above"):
            org.update_user(s, "carol", "admin", manager="zoe")  # no loop in the org chart
    with db.write() as s:
        org.update_user(s, "zoe", "admin", roles=["employee", "buyer"], manager="dave")
    with db.read() as s:
        assert sessions.holder(s, live.jti) is None  # a change of roles ends the sessions
        assert org.person(s, "zoe").manager == "dave"  # type: ignore[union-attr]
    with db.write() as s:
        again = sessions.open_session(s, "zoe", 60)
    with db.write() as s:
        org.update_user(s, "zoe", "admin", active=False)
        with pytest.raises(Invalid, match="yourself"):
            org.update_user(s, "admin", "admin", active=False)
    with db.read() as s:
        assert sessions.holder(s, again.jti, utcnow() + timedelta(seconds=1)) is None
        trail = audit.trail(s, "user", "zoe")
        assert [t["action"] for t in trail] == ["deactivated", "changed", "created"]
        assert trail[1]["before"]["roles"] == ["employee"] and trail[1]["after"]["roles"] == ["buyer", "employee"]
        assert "password" not in str(trail[2]["after"])


def test_a_user_sets_their_language_and_time_zone(db: Database) -> None:
    with db.write() as s:
        org.set_preferences(s, "erin", "zh_Hans", "Asia/Shanghai")
        with pytest.raises(Invalid, match="language"):
            org.set_preferences(s, "erin", "fr", None)
        with pytest.raises(Invalid, match="time zone"):
            org.set_preferences(s, "erin", None, "Moon/Base")
    with db.read() as s:
        user = org.user_by_name(s, "erin")
        assert (user.locale, user.time_zone) == ("zh_Hans", "Asia/Shanghai")


def test_permissions_are_data_seeded_from_the_defaults(db: Database) -> None:
    with db.read() as s:
        stored, version = grants.load(s)
        assert version >= 1
        for action, roles in permissions.DEFAULT_GRANTS.items():
            assert stored[str(action)] == roles, action
    with db.write() as s:
        grants.create_role(s, "auditor", "reads the books", "admin")
        with pytest.raises(Invalid, match="exists"):
            grants.create_role(s, "auditor", "", "admin")
        with pytest.raises(Invalid, match="lower-case"):
            grants.create_role(s, "Bad Name!", "", "admin")
        with pytest.raises(Invalid, match="unknown action"):
            grants.set_role_actions(s, "auditor", ["ledger.read", "ledger.burn"], "admin")
        with pytest.raises(NotFound):
            grants.set_role_actions(s, "ghost", [], "admin")
        grants.set_role_actions(s, "auditor", ["ledger.read", "finance_report.read"], "admin")
        grants.set_role_actions(s, "finance", [a for a in grants.role_actions(s, "finance") if a != "expense.pay"],
                                "admin")
    assert not permissions.may({"auditor"}, A.LEDGER_READ)  # not loaded yet: the defaults
    with db.read() as s:
        assert grants.refresh(s)
        assert not grants.refresh(s)  # the same version: nothing to do
    assert permissions.may({"auditor"}, A.LEDGER_READ) and permissions.may({"auditor"}, "finance_report.read")
    assert not permissions.may({"finance"}, A.EXPENSE_PAY) and permissions.may({"finance"}, A.PAYMENT_RECORD)
    with db.write() as s:
        grants.seed(s)  # a restart: an action taken from every role stays so
    with db.read() as s:
        assert "finance" not in grants.load(s)[0]["expense.pay"]
        assert audit.trail(s, "role", "auditor")[0]["after"] == {
            "actions": ["finance_report.read", "ledger.read"]}


def test_a_credit_limit_above_the_threshold_waits_and_applies_once(db: Database) -> None:
    with db.write() as s:
        customer = s.query(Customer).first()
        assert customer is not None
        cid = customer.id
        assert changes.needs_second_approval(s, cid, changes.CREDIT_LIMIT_THRESHOLD + 1)
        assert not changes.needs_second_approval(s, cid, Decimal("100"))
        proposed = changes.propose(s, "credit_limit", str(cid), {"credit_limit": "250000"}, "admin")
    assert proposed.status == "pending_approval" and proposed.process_id == f"change-{proposed.change_id}"
    with db.read() as s:
        assert s.get(Customer, cid).credit_limit != Decimal("250000")  # type: ignore[union-attr]
    with db.write() as s:
        changes.apply(s, proposed.change_id, "heidi")
        again = changes.apply(s, proposed.change_id, "heidi")
        assert again.status == "applied"
    with db.read() as s:
        assert s.get(Customer, cid).credit_limit == Decimal("250000")  # type: ignore[union-attr]
        [line] = audit.trail(s, "customer", cid)
        assert line["after"] == {"credit_limit": "250000.0000"} or line["after"]["credit_limit"].startswith("250000")
    with db.write() as s:
        with pytest.raises(Invalid, match="unknown policy"):
            changes.propose(s, "approval_policy", "nothing", {"tiers": []}, "admin")
        with pytest.raises(Invalid, match="lowest tier"):
            changes.propose(s, "approval_policy", "expense_claim",
                            {"tiers": [{"above": 10, "steps": [{"kind": "manager"}]}]}, "admin")
        other = changes.propose(s, "role_grants", "buyer", {"actions": ["item.edit"]}, "admin")
        changes.reject(s, other.change_id, "heidi", "no")
        with pytest.raises(Conflict):
            changes.apply(s, other.change_id, "heidi")
    with db.read() as s:
        assert "supplier.create" in grants.role_actions(s, "buyer")  # nothing changed


def test_an_actor_is_an_active_user_with_their_roles(db: Database) -> None:
    """org.actor (who a command runs as, read in columns): each user's roles as the User entity has them; a user
    made inactive is refused, an unknown one is not found."""
    with db.read() as s:
        for username in ("alice", "bob", "frank", "admin", "grace"):
            assert org.actor(s, username).roles == sorted(org.user_by_name(s, username).roles)
        assert "sales_manager" in org.actor(s, "bob").roles
        with pytest.raises(NotFound, match="no user 'nobody'"):
            org.actor(s, "nobody")
    with db.write() as s:
        org.user_by_name(s, "bob").active = False
    with db.read() as s, pytest.raises(Invalid, match="bob is not active"):
        org.actor(s, "bob")
