"""Form types as data (units of work): save a definition as a new version (checked against the roles and users
that exist, audited), read the latest or one version, list them; and the leave balances the leave form draws on."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.audit import services as audit
from domain.core.errors import Conflict, NotFound
from domain.core.records import once
from domain.forms import request_rules, rules
from domain.forms.rules import FormTypeIn
from domain.forms.tables import FormType, LeaveBalance
from domain.org import services as org
from domain.org.tables import Role

ENTITY = "form_type"


def check(session: Session, defn: FormTypeIn) -> None:
    """rules.check_definition against the roles and people of the company (Invalid naming the problem)."""
    people = org.people(session)
    roles = set(session.execute(select(Role.name)).scalars())
    rules.check_definition(defn, roles, set(people), people)
    request_rules.check_effect_fields(defn.key, {f.name: f.type for f in defn.fields})


def _latest_row(session: Session, key: str) -> FormType | None:
    return session.execute(select(FormType).where(FormType.key == key).order_by(FormType.version.desc())
                           .limit(1)).scalar_one_or_none()


def save(session: Session, actor: str, defn: FormTypeIn, *, new: bool) -> tuple[str, int]:
    """Publish `defn` as a version of its key: `new` (POST) makes version 1 and is a Conflict when the key exists;
    otherwise (PUT) version n+1 of an existing key (NotFound when there is none). Checked first (Invalid, nothing
    stored); one audit line with the version before and after."""
    check(session, defn)
    previous = _latest_row(session, defn.key)
    if new and previous is not None:
        raise Conflict(f"a form type {defn.key!r} exists already; publish a new version with PUT")
    if not new and previous is None:
        raise NotFound(f"no form type {defn.key!r}")
    version = 1 if previous is None else previous.version + 1
    definition = defn.model_dump(mode="json")
    row = FormType(key=defn.key, version=version, name=defn.name, definition=definition, active=True,
                   created_by=actor)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # two publishes at once: one wins, the other is told
        raise Conflict(f"form type {defn.key!r} version {version} was just published by someone else; "
                       f"reload and try again") from None
    before = None if previous is None else {"version": previous.version, **previous.definition}
    audit.record(session, actor, ENTITY, defn.key, before, {"version": version, **definition})
    return defn.key, version


def definition(row: FormType) -> FormTypeIn:
    return FormTypeIn.model_validate(row.definition)


def view(row: FormType) -> dict[str, Any]:
    return {**row.definition, "key": row.key, "version": row.version, "active": row.active,
            "created_by": row.created_by, "created_at": row.created_at}


def latest(session: Session, key: str) -> FormType:
    """The newest version of `key` (NotFound when there is none, or it is deactivated)."""
    row = _latest_row(session, key)
    if row is None or not row.active:
        raise NotFound(f"no form type {key!r}")
    return row


def version(session: Session, key: str, number: int) -> FormType:
    """Version `number` of `key`, active or not (a running request's version stays readable)."""
    row = session.execute(select(FormType).where(FormType.key == key, FormType.version == number)
                          ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no version {number} of form type {key!r}")
    return row


def list_types(session: Session, *, include_inactive: bool = False) -> list[FormType]:
    """The newest version of every form type (only the active ones unless asked), by name."""
    newest = (select(FormType.key, func.max(FormType.version).label("v")).group_by(FormType.key).subquery())
    rows = session.execute(select(FormType).join(newest, (FormType.key == newest.c.key)
                                                 & (FormType.version == newest.c.v))
                           .order_by(FormType.name, FormType.key)).scalars().all()
    return [r for r in rows if include_inactive or r.active]


def set_active(session: Session, actor: str, key: str, active: bool) -> None:
    """Withdraw a form type from the New request list (every version), or offer it again; running requests go on."""
    rows = session.execute(select(FormType).where(FormType.key == key)).scalars().all()
    if not rows:
        raise NotFound(f"no form type {key!r}")
    was = all(r.active for r in rows)
    for r in rows:
        r.active = active
    session.flush()
    audit.record(session, actor, ENTITY, key, {"active": was}, {"active": active},
                 action=None if active else audit.DEACTIVATED)


# --- leave balances -----------------------------------------------------------------------------------------

def leave_balance(session: Session, username: str, year: int, *, lock: bool = False) -> LeaveBalance | None:
    """`username`'s leave of `year`; with `lock`, the row locked (FOR UPDATE) and read afresh, to change it."""
    q = select(LeaveBalance).where(LeaveBalance.username == username, LeaveBalance.year == year)
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    return session.execute(q).scalar_one_or_none()


def days_left(session: Session, username: str, year: int) -> Decimal:
    """What is left of `username`'s leave in `year` (0 when none was granted)."""
    row = leave_balance(session, username, year)
    return Decimal(0) if row is None else row.days_granted - row.days_taken


def grant_leave(session: Session, username: str, year: int, days: Decimal, actor: str) -> LeaveBalance:
    """Set the days granted to `username` in `year` (audited)."""
    row = leave_balance(session, username, year)
    before = None if row is None else {"days_granted": row.days_granted}
    if row is None:
        row = LeaveBalance(username=username, year=year, days_granted=days, days_taken=Decimal(0))
        session.add(row)
    row.days_granted = days
    session.flush()
    audit.record(session, actor, "leave_balance", f"{username}/{year}", before, {"days_granted": days})
    return row


def take_leave(session: Session, username: str, days: Decimal, key: str, year: int) -> dict[str, str]:
    """Take `days` of `username`'s leave of `year`, once per `key` (a retried activity takes nothing more); checked
    against what is left (rules.check_leave_balance: Invalid when it is more). Returns what is left, as text."""
    def effect() -> dict[str, str]:
        # Locked: on PostgreSQL two leaves of one person approved at once would otherwise both add to the days
        # taken they read, and one would be lost (SQLite's writers are serialized anyway).
        row = leave_balance(session, username, year, lock=True)
        rules.check_leave_balance(Decimal(0) if row is None else row.days_granted - row.days_taken, days)
        assert row is not None  # a balance of 0 refuses any leave above
        row.days_taken += days
        session.flush()
        return {"username": username, "year": str(year), "days_left": rules.days_text(row.days_granted - row.days_taken)}

    result: dict[str, str] = once(session, key, effect)
    return result
