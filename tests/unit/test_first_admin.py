"""A company started without the demo (`valueloop up`): its first user is admin, with the password given
(VALUELOOP_ADMIN_PASSWORD) or shown once; a database with users is left alone."""

from __future__ import annotations

from sqlalchemy import func, select

from domain import demo, permissions
from domain.core.db import Database
from domain.org import services as org
from domain.org.tables import User


def test_an_empty_company_gets_admin_once(fresh_db: Database) -> None:
    with fresh_db.write() as s:
        assert demo.first_admin(s, "a long secret 1")
    with fresh_db.write() as s:
        assert not demo.first_admin(s, "another one 22")  # users already: nothing changes
    with fresh_db.read() as s:
        assert s.execute(select(func.count()).select_from(User)).scalar_one() == 1
        admin = org.user_by_name(s, "admin")
        roles = [r.role for r in admin.role_rows]
        assert org.verify_password("a long secret 1", admin.password_hash)
    assert permissions.may(roles, permissions.Action.USER_CREATE)  # who creates everyone else


def test_a_company_with_users_gets_no_admin(db: Database) -> None:
    with db.write() as s:
        assert not demo.first_admin(s, "whatever 123456")
