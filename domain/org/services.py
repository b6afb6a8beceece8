"""People and roles: the org chart the approval rules read."""

from __future__ import annotations

from pwdlib import PasswordHash
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.audit import services as audit
from domain.core import records as common
from domain.core.errors import Forbidden, Invalid, NotFound
from domain.org import sessions
from domain.org.company import time_zone_or_none
from domain.org.people import Actor, Person
from domain.org.tables import Role, User, UserRole

_hasher = PasswordHash.recommended()

# A password is 8 to 200 characters (the login form and the token endpoint read at most 200).
PASSWORD_MIN, PASSWORD_MAX = 8, 200


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    try:
        return _hasher.verify(password, hashed)
    except Exception:
        return False


def user_by_name(session: Session, username: str) -> User:
    return common.one(session, User, User.username == username, f"no user {username!r}")


def actor(session: Session, username: str) -> Actor:
    """The active user `username` as an Actor (NotFound, Invalid if inactive). Columns, not the User entity (which
    loads its manager and both their roles besides)."""
    user = session.execute(select(User.id, User.active).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    if not user.active:
        raise Invalid(f"{username} is not active")
    roles = session.execute(select(UserRole.role).where(UserRole.user_id == user.id)).scalars()
    return Actor(username=username, roles=sorted(roles))


def people(session: Session) -> dict[str, Person]:
    # Columns, not User entities: every submit resolves its chain with this, and a User loads its manager
    # (joined) and both their roles (selectin) besides.
    users = session.execute(select(User.id, User.username, User.manager_id, User.active)).all()
    roles: dict[int, set[str]] = {}
    for user_id, role in session.execute(select(UserRole.user_id, UserRole.role)):
        roles.setdefault(user_id, set()).add(role)
    by_id = {u.id: u.username for u in users}
    return {
        u.username: Person(username=u.username, roles=frozenset(roles.get(u.id, ())),
                           manager=by_id.get(u.manager_id) if u.manager_id else None, active=u.active)
        for u in users
    }


def person(session: Session, username: str) -> Person | None:
    """One person of the org chart (people() loads them all, for the approval rules)."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        return None
    return Person(username=user.username, roles=frozenset(user.roles),
                  manager=user.manager.username if user.manager else None, active=user.active)


def role_escalation(session: Session) -> dict[str, str | None]:
    return {r.name: r.escalates_to for r in session.execute(select(Role)).scalars()}


def create_user(session: Session, username: str, password: str, roles: list[str], full_name: str = "",
                manager: str | None = None, email: str = "", actor: str | None = None) -> User:
    known = set(session.execute(select(Role.name)).scalars())
    unknown = set(roles) - known
    if unknown:
        raise Invalid(f"unknown role(s): {', '.join(sorted(unknown))}")
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Invalid(f"user {username!r} exists already")
    manager_id = user_by_name(session, manager).id if manager else None
    if actor is not None:  # through the back office: the password rules apply
        problem = password_problem(username, password)
        if problem:
            raise Invalid(problem)
    user = User(username=username, full_name=full_name or username.title(), password_hash=hash_password(password),
                manager_id=manager_id, email=email.strip())
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    if actor is not None:
        audit.record(session, actor, "user", username, None, snapshot(user))
    return user


def snapshot(user: User) -> dict[str, object]:
    """What the audit trail keeps of a user (never the password)."""
    return {"full_name": user.full_name, "email": user.email, "roles": sorted(user.roles),
            "manager": user.manager.username if user.manager else None, "active": user.active}


def update_user(session: Session, username: str, actor: str, *, roles: list[str] | None = None,
                manager: str | None = None, clear_manager: bool = False, active: bool | None = None,
                full_name: str | None = None, email: str | None = None) -> User:
    """Admin changes a user (PATCH /api/users/{username}): roles, manager, active, name, e-mail. A change of roles
    or a deactivation ends every session of the user at once; recorded in the audit trail."""
    user = user_by_name(session, username)
    before = snapshot(user)
    if manager is not None or clear_manager:
        if manager:
            boss = user_by_name(session, manager)
            chain: User | None = boss
            seen = {user.id}
            while chain is not None:  # no loop in the org chart
                if chain.id in seen:
                    raise Invalid(f"{manager} cannot be {username}'s manager: {username} is above {manager}")
                seen.add(chain.id)
                chain = chain.manager
            user.manager_id = boss.id
        else:
            user.manager_id = None
    if full_name is not None:
        user.full_name = full_name.strip()[:120] or user.full_name
    if email is not None:
        user.email = email.strip()[:200]
    if roles is not None:
        if not roles:
            raise Invalid("a user needs at least one role")
        set_roles(session, username, roles)
    if active is not None and active != user.active:
        if not active and username == actor:
            raise Invalid("you cannot deactivate yourself")
        set_active(session, username, active)
    session.flush()
    session.refresh(user)
    audit.record(session, actor, "user", username, before, snapshot(user),
                 action="deactivated" if active is False and before["active"] else None)
    return user


def set_preferences(session: Session, username: str, locale: str | None, time_zone: str | None) -> None:
    """A user's own language (en, zh_Hans; None: the browser's) and time zone (an IANA name; None: the
    company's)."""
    if locale not in (None, "en", "zh_Hans"):
        raise Invalid(f"{locale!r} is not a language of the UI; choose en or zh_Hans")
    if time_zone:
        zone = time_zone_or_none(time_zone)
        if zone is None:
            raise Invalid(f"{time_zone[:60]!r} is not a time zone; use an IANA name such as Asia/Shanghai")
        time_zone = zone
    user = user_by_name(session, username)
    user.locale, user.time_zone = locale, time_zone or None
    session.flush()


def password_problem(username: str, password: str) -> str | None:
    """Why `password` may not be `username`'s new password; None when it may."""
    if len(password) < PASSWORD_MIN:
        return f"a password has at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"a password has at most {PASSWORD_MAX} characters"
    if password.strip().lower() == username.lower():
        return "a password may not be the username"
    return None


def change_password(session: Session, username: str, current: str, new: str) -> None:
    """`username` changes their own password: `current` must be right (else Forbidden, nothing changed) and `new`
    acceptable (else Invalid). Every session of the user ends, the caller's included."""
    user = user_by_name(session, username)
    if not user.active or not verify_password(current, user.password_hash):
        raise Forbidden("the current password is wrong")
    problem = password_problem(username, new)
    if problem:
        raise Invalid(problem)
    if verify_password(new, user.password_hash):
        raise Invalid("the new password is the current one")
    user.password_hash = hash_password(new)
    sessions.revoke_sessions(session, username, sessions.PASSWORD)


def set_password(session: Session, username: str, new: str, actor: str | None = None) -> None:
    """An administrator sets `username`'s password (no current one asked); every session of the user ends."""
    problem = password_problem(username, new)
    if problem:
        raise Invalid(problem)
    user_by_name(session, username).password_hash = hash_password(new)
    sessions.revoke_sessions(session, username, sessions.PASSWORD)
    if actor is not None:
        audit.record(session, actor, "user", username, {"password": "…"}, {"password": "reset"},
                     action="password_reset")


def set_active(session: Session, username: str, active: bool) -> None:
    """Activates or deactivates `username`; a deactivation ends every session of the user."""
    user = user_by_name(session, username)
    user.active = active
    if not active:
        sessions.revoke_sessions(session, username, sessions.DEACTIVATED)


def set_roles(session: Session, username: str, roles: list[str]) -> None:
    """Gives `username` exactly `roles`; if that changes them, every session of the user ends."""
    known = set(session.execute(select(Role.name)).scalars())
    unknown = set(roles) - known
    if unknown:
        raise Invalid(f"unknown role(s): {', '.join(sorted(unknown))}")
    user = user_by_name(session, username)
    if set(roles) == user.roles:
        return
    keep = [r for r in user.role_rows if r.role in roles]
    user.role_rows = keep + [UserRole(role=r) for r in sorted(set(roles) - user.roles)]
    session.flush()
    sessions.revoke_sessions(session, username, sessions.ROLES)
