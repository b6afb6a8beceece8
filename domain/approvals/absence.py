"""Out of office: a user names a deputy for a date range; the approval engine reads it when it opens a task.

Anyone may record their own absences; an admin may record one for anybody. A user sees and removes their
own; an admin sees and removes everyone's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import permissions
from domain.approvals.rules import Absence
from domain.approvals.tables import OutOfOffice
from domain.core.errors import Conflict, Forbidden, Invalid, NotFound
from domain.org.tables import User
from domain.permissions import Action

NOTE_MAX = 300


def today() -> date:
    """The company's calendar day (UTC, like every timestamp the platform stores)."""
    return datetime.now(UTC).date()


def _is_admin(roles: set[str] | frozenset[str]) -> bool:
    return permissions.may(roles, Action.ABSENCE_MANAGE_ALL)


def view(a: OutOfOffice) -> dict[str, Any]:
    return {"id": a.id, "username": a.username, "deputy": a.deputy, "starts_on": a.starts_on,
            "ends_on": a.ends_on, "note": a.note, "created_at": a.created_at}


def create(session: Session, actor: str, roles: set[str] | frozenset[str], *, deputy: str, starts_on: date,
           ends_on: date, note: str = "", username: str | None = None, on: date | None = None) -> OutOfOffice:
    """Record an absence of `username` (the actor by default; someone else only for an admin).
    Refuses a deputy who is not an active user or is the user themself, a range that ends before it
    starts or has ended already, and a range overlapping another absence of the same user."""
    who = (username or actor).strip()
    if who != actor and not _is_admin(roles):
        raise Forbidden("only an admin can record an absence for someone else")
    deputy = deputy.strip()
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise Invalid(f"the note is longer than {NOTE_MAX} characters")
    if ends_on < starts_on:
        raise Invalid("the absence ends before it starts")
    if ends_on < (on or today()):
        raise Invalid("the absence is over already: its last day is in the past")
    # Locking the user's row serializes concurrent requests for the same user (PostgreSQL), so two
    # overlapping absences cannot both pass the check below.
    # (Only the id column: the mapped User joins its manager, and FOR UPDATE refuses an outer join.)
    user_id = session.execute(select(User.id).where(User.username == who).with_for_update()).scalar_one_or_none()
    if user_id is None:
        raise Invalid(f"there is no user {who!r}")
    if not deputy:
        raise Invalid("name the deputy who takes your tasks")
    if deputy == who:
        raise Invalid(f"{who} cannot be their own deputy")
    stand_in = session.execute(select(User.active).where(User.username == deputy)).first()
    if stand_in is None:
        raise Invalid(f"the deputy {deputy!r} is not a user")
    if not stand_in.active:
        raise Invalid(f"the deputy {deputy} is not active")
    clash = session.execute(select(OutOfOffice).where(
        OutOfOffice.username == who, OutOfOffice.starts_on <= ends_on, OutOfOffice.ends_on >= starts_on,
    ).order_by(OutOfOffice.starts_on)).scalars().first()
    if clash is not None:
        raise Conflict(f"{who} is already out of office from {clash.starts_on.isoformat()} to "
                       f"{clash.ends_on.isoformat()}; change or delete that absence first")
    row = OutOfOffice(username=who, deputy=deputy, starts_on=starts_on, ends_on=ends_on, note=note)
    session.add(row)
    session.flush()
    return row


def listing(session: Session, actor: str, roles: set[str] | frozenset[str], *,
            everyone: bool = False) -> list[OutOfOffice]:
    """The actor's own absences; with `everyone`, an admin sees all users' (others still see only theirs)."""
    q = select(OutOfOffice)
    if not (everyone and _is_admin(roles)):
        q = q.where(OutOfOffice.username == actor)
    return list(session.execute(q.order_by(OutOfOffice.starts_on, OutOfOffice.id).limit(500)).scalars())


def delete(session: Session, actor: str, roles: set[str] | frozenset[str], absence_id: int) -> OutOfOffice:
    """Remove an absence: one's own, or anyone's for an admin. Someone else's is not even found."""
    row = session.get(OutOfOffice, absence_id)
    if row is None or (row.username != actor and not _is_admin(roles)):
        raise NotFound(f"no absence {absence_id}")
    session.delete(row)
    session.flush()
    return row


def absences_on(session: Session, day: date) -> list[Absence]:
    """Every absence covering `day`: what the approval engine routes by."""
    rows = session.execute(select(OutOfOffice).where(OutOfOffice.starts_on <= day, OutOfOffice.ends_on >= day))
    return [Absence(username=a.username, deputy=a.deputy, starts_on=a.starts_on, ends_on=a.ends_on)
            for a in rows.scalars()]


def active_usernames(session: Session) -> list[str]:
    """Who can be named a deputy."""
    return list(session.execute(select(User.username).where(User.active.is_(True)).order_by(User.username)).scalars())
