"""Login sessions: every token and UI cookie names a row of `auth_sessions` (its `jti`), and is honoured only
while that row is live. Logout ends one session; a password change, a deactivation or a change of roles
ends all of the user's sessions (revoke_sessions, called by the org services that make those changes), so
the rule lives here and the revocation is in the database: every API process refuses the old token on its
very next request.

The per-request check (holder) is one query over primary-key and unique-index lookups: the session by its
jti, its user by username, the user's roles by user id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.orm import Session

from domain.core.errors import Invalid
from domain.core.types import utcnow
from domain.org.tables import AuthSession, Company, GrantsState, User, UserRole

# Why a session ended (auth_sessions.revoked_reason).
LOGOUT, PASSWORD, DEACTIVATED, ROLES = "logout", "password", "deactivated", "roles"


@dataclass(frozen=True)
class Holder:
    """Who a live session belongs to, as of this request."""

    username: str
    full_name: str
    roles: frozenset[str]
    locale: str | None = None  # the user's own language, if they chose one
    time_zone: str = "UTC"  # the user's own, else the company's
    grants_version: int = 0  # the stored permissions' version (domain.org.grants): reload when it changed


def open_session(session: Session, username: str, minutes: int, now: datetime | None = None) -> AuthSession:
    """A new session for an active user, valid for `minutes`; the user's expired sessions are pruned."""
    now = now or utcnow()
    active = session.execute(select(User.active).where(User.username == username)).scalar_one_or_none()
    if not active:
        raise Invalid(f"{username} is not an active user")
    session.execute(delete(AuthSession).where(AuthSession.username == username, AuthSession.expires_at <= now))
    row = AuthSession(jti=uuid.uuid4().hex, username=username, issued_at=now,
                      expires_at=now + timedelta(minutes=minutes))
    session.add(row)
    session.flush()
    return row


# Built once: the per-request check runs it with its jti and time (building the expression cost more than running it).
_HOLDER = (
    select(User.username, User.full_name, UserRole.role, User.locale, User.time_zone,
           select(Company.time_zone).where(Company.id == 1).scalar_subquery().label("company_zone"),
           select(GrantsState.version).where(GrantsState.id == 1).scalar_subquery().label("grants_version"))
    .select_from(AuthSession)
    .join(User, User.username == AuthSession.username)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(AuthSession.jti == bindparam("jti"), AuthSession.revoked_at.is_(None),
           AuthSession.expires_at > bindparam("now"), User.active.is_(True))
)


def holder(session: Session | Connection, jti: str, now: datetime | None = None) -> Holder | None:
    """The user of session `jti` if it is live (issued, not revoked, not expired) and the user is active; else
    None. One indexed query: a row per role of the user (one with no role when they have none)."""
    rows = session.execute(_HOLDER, {"jti": jti, "now": now or utcnow()}).all()
    if not rows:
        return None
    return Holder(username=rows[0].username, full_name=rows[0].full_name,
                  roles=frozenset(r.role for r in rows if r.role is not None), locale=rows[0].locale,
                  time_zone=rows[0].time_zone or rows[0].company_zone or "UTC",
                  grants_version=rows[0].grants_version or 0)


def end_session(session: Session, jti: str, reason: str = LOGOUT) -> bool:
    """Ends one session (logout). Whether it was live."""
    result = session.execute(update(AuthSession).where(AuthSession.jti == jti, AuthSession.revoked_at.is_(None))
                             .values(revoked_at=utcnow(), revoked_reason=reason))
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML statement returns a CursorResult, which has rowcount


def revoke_sessions(session: Session, username: str, reason: str) -> int:
    """Ends every live session of `username` (a password change, a deactivation, a change of roles): their
    tokens and cookies get 401 on their next request. How many were live."""
    result = session.execute(update(AuthSession)
                             .where(AuthSession.username == username, AuthSession.revoked_at.is_(None))
                             .values(revoked_at=utcnow(), revoked_reason=reason))
    return int(result.rowcount)  # type: ignore[attr-defined]  # a DML statement returns a CursorResult, which has rowcount


def live_sessions(session: Session, username: str, now: datetime | None = None) -> int:
    """How many sessions of `username` are live."""
    now = now or utcnow()
    return len(session.execute(select(AuthSession.jti).where(
        AuthSession.username == username, AuthSession.revoked_at.is_(None), AuthSession.expires_at > now)).all())
