"""Permissions as data: which role holds which action (table role_grants), seeded from
domain.permissions.DEFAULT_GRANTS, edited by admin (a second admin or the cfo approves: workflows/change_approval).

`load` reads the stored grants; `refresh` makes them the process's effective ones (domain.permissions.use_grants)
when their version changed. Each change raises the version (grants_state), which the per-request session query
reads (domain.org.sessions.holder), so every API process picks a change up on its next request."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain import permissions
from domain.audit import services as audit
from domain.core.errors import Invalid, NotFound
from domain.org.tables import GrantsState, Role, RoleGrant

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def _state(session: Session) -> GrantsState:
    state = session.get(GrantsState, 1)
    if state is None:
        state = GrantsState(id=1, version=0, seeded=[])
        session.add(state)
        session.flush()
    return state


def version(session: Session) -> int:
    return session.execute(select(GrantsState.version).where(GrantsState.id == 1)).scalar_one_or_none() or 0


def seed(session: Session) -> None:
    """Give each action of DEFAULT_GRANTS its default roles once (an action seeded before keeps what admin made of
    it). Idempotent; raises the version when it added anything."""
    state = _state(session)
    seeded = set(state.seeded or [])
    known_roles = set(session.execute(select(Role.name)).scalars())
    have = {(g.role, g.action) for g in session.execute(select(RoleGrant)).scalars()}
    added = False
    for action, roles in permissions.DEFAULT_GRANTS.items():
        if str(action) in seeded:
            continue
        for role in sorted(roles):
            if role in known_roles and (role, str(action)) not in have:
                session.add(RoleGrant(role=role, action=str(action)))
        seeded.add(str(action))
        added = True
    if added:
        state.seeded = sorted(seeded)
        state.version = (state.version or 0) + 1
    session.flush()


def load(session: Session) -> tuple[dict[str, frozenset[str]], int]:
    """(action -> roles, version) as stored; an action never seeded keeps its defaults; no state row at all: the
    defaults (a database made by create_all that was never seeded)."""
    state = session.get(GrantsState, 1)
    if state is None:
        return {str(k): v for k, v in permissions.DEFAULT_GRANTS.items()}, 0
    seeded = set(state.seeded or [])
    out: dict[str, set[str]] = {str(a): set() for a in permissions.Action}
    for g in session.execute(select(RoleGrant)).scalars():
        out.setdefault(g.action, set()).add(g.role)
    for action, roles in permissions.DEFAULT_GRANTS.items():
        if str(action) not in seeded:
            out[str(action)] = set(roles)
    return {k: frozenset(v) for k, v in out.items()}, state.version


def refresh(session: Session, seen_version: int | None = None) -> bool:
    """Load the stored grants into domain.permissions when their version differs from the one in effect (the
    caller may pass the version it read already). Whether it reloaded."""
    current = version(session) if seen_version is None else seen_version
    if current == permissions.grants_version():
        return False
    grants, stored = load(session)
    permissions.use_grants(grants, stored)
    return True


def listing(session: Session) -> list[dict[str, Any]]:
    """Every action with the roles holding it (GET /api/permissions)."""
    grants, _ = load(session)
    return [{"action": str(a), "roles": sorted(grants.get(str(a), frozenset()))} for a in permissions.Action]


def roles(session: Session) -> list[dict[str, Any]]:
    """Every role with its description and actions."""
    grants, _ = load(session)
    out = []
    for r in session.execute(select(Role).order_by(Role.name)).scalars():
        out.append({"name": r.name, "description": r.description, "escalates_to": r.escalates_to,
                    "actions": sorted(a for a, holders in grants.items() if r.name in holders)})
    return out


def role_actions(session: Session, role: str) -> list[str]:
    grants, _ = load(session)
    return sorted(a for a, holders in grants.items() if role in holders)


def check_actions(session: Session, role: str, actions: Collection[str]) -> list[str]:
    """The actions, checked: the role exists, every action is one the code names (else Invalid naming it)."""
    if session.get(Role, role) is None:
        raise NotFound(f"no role {role!r}")
    known = {str(a) for a in permissions.Action}
    unknown = sorted(set(actions) - known)
    if unknown:
        raise Invalid(f"unknown action(s): {', '.join(unknown)}")
    return sorted(set(actions))


def set_role_actions(session: Session, role: str, actions: Collection[str], actor: str) -> list[str]:
    """`role` holds exactly `actions` from now on (applied once a second admin or the cfo approved); recorded in
    the audit trail; the version is raised so every process reloads."""
    wanted = check_actions(session, role, actions)
    before = role_actions(session, role)
    state = _state(session)
    # Every action becomes "seeded" (stored): what the role does not hold now it does not hold after a restart.
    state.seeded = sorted({str(a) for a in permissions.DEFAULT_GRANTS} | set(state.seeded or []))
    grants, _ = load(session)
    session.execute(delete(RoleGrant))
    for action, holders in grants.items():
        holders_now = (set(holders) - {role}) | ({role} if action in wanted else set())
        for r in sorted(holders_now):
            session.add(RoleGrant(role=r, action=action))
    state.version = (state.version or 0) + 1
    session.flush()
    audit.record(session, actor, "role", role, {"actions": before}, {"actions": wanted})
    return wanted


def create_role(session: Session, name: str, description: str, actor: str) -> Role:
    """A new role (lower-case letters, digits, underscores) with no action yet; recorded in the audit trail."""
    name = name.strip()
    if not ROLE_NAME.match(name):
        raise Invalid("a role's name is 2 to 40 lower-case letters, digits or underscores, starting with a letter")
    if session.get(Role, name) is not None:
        raise Invalid(f"role {name!r} exists already")
    row = Role(name=name, description=description.strip()[:200], escalates_to=None)
    session.add(row)
    session.flush()
    audit.record(session, actor, "role", name, None, {"description": row.description, "actions": []})
    return row


def effective(session: Session) -> Mapping[str, frozenset[str]]:
    return load(session)[0]
