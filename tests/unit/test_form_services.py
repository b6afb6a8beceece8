"""Form types and leave balances in the database: versions per key (POST new, PUT n+1), an unsound definition
stores nothing, the list shows each type's newest version, and leave is taken once per key within the balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain import demo
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.forms import services as forms
from domain.forms.rules import FormTypeIn
from domain.forms.tables import FormType

LEAVE = FormTypeIn.model_validate(demo.FORMS[0])


def test_versions_of_a_form_type(db: Database) -> None:
    with db.write() as s:
        with pytest.raises(Conflict, match="exists already"):
            forms.save(s, "admin", LEAVE, new=True)
        assert forms.save(s, "admin", LEAVE.model_copy(update={"name": "Leave"}), new=False) == ("leave", 2)
        with pytest.raises(NotFound):
            forms.save(s, "admin", LEAVE.model_copy(update={"key": "holiday"}), new=False)
    with db.read() as s:
        assert forms.latest(s, "leave").name == "Leave" and forms.version(s, "leave", 1).name == "Leave request"
        assert [(r.key, r.version) for r in forms.list_types(s)] == [
            ("business_trip", 1), ("contract", 1), ("leave", 2)]
        assert forms.definition(forms.version(s, "leave", 1)) == LEAVE


def test_an_unsound_form_type_stores_nothing(db: Database) -> None:
    bad = LEAVE.model_copy(update={"key": "holiday", "route": [
        LEAVE.route[0].model_copy(update={"approver": "role:astronaut"})]})
    with db.write() as s, pytest.raises(Invalid, match="astronaut"):
        forms.save(s, "admin", bad, new=True)
    with db.read() as s:
        assert s.query(FormType).filter(FormType.key == "holiday").count() == 0


def test_a_withdrawn_form_type_is_not_offered_but_its_versions_stay_readable(db: Database) -> None:
    with db.write() as s:
        forms.set_active(s, "admin", "contract", False)
    with db.read() as s:
        assert "contract" not in {r.key for r in forms.list_types(s)}
        with pytest.raises(NotFound):
            forms.latest(s, "contract")
        assert forms.version(s, "contract", 1).active is False


def test_leave_is_taken_once_per_key_within_the_balance(db: Database) -> None:
    year = date.today().year
    with db.write() as s:
        assert forms.days_left(s, "erin", year) == 15
        assert forms.take_leave(s, "erin", Decimal(5), "form-request-FR-1:leave", year)["days_left"] == "10"
        assert forms.take_leave(s, "erin", Decimal(5), "form-request-FR-1:leave", year)["days_left"] == "10"
        with pytest.raises(Invalid, match="more than the 10 days left"):
            forms.take_leave(s, "erin", Decimal(11), "form-request-FR-2:leave", year)
        with pytest.raises(Invalid, match="more than the 0 days left"):
            forms.take_leave(s, "erin", Decimal(1), "form-request-FR-3:leave", year + 5)
    with db.read() as s:
        assert forms.days_left(s, "erin", year) == 10 and forms.days_left(s, "frank", year) == 15


def test_leaves_taken_at_once_all_count(db: Database) -> None:
    """Many leaves of one person approved at the same moment (each its own transaction, as the workers run them):
    every one comes off the balance. On PostgreSQL the balance row is locked; unlocked, two transactions read the
    same days taken and one addition was lost (found by tests/e2e/test_backup_restore.py)."""
    from concurrent.futures import ThreadPoolExecutor

    year = date.today().year

    def take(n: int) -> None:
        with db.write() as s:
            forms.take_leave(s, "erin", Decimal("0.25"), f"form-request-FR-{n}:leave", year)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(take, range(40)))
    with db.read() as s:
        assert forms.days_left(s, "erin", year) == 5
