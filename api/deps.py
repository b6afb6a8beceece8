"""Annotated dependencies: every route states in its signature what it needs and who may call it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import auth
from api.platform import Platform
from domain.approvals import Actor
from domain.schema import User, UserRole
from settings import Settings

# Who a token's user is (roles, active) is re-read from the database at most every few seconds:
# a role change or deactivation takes effect within PRINCIPAL_TTL, and a request costs no query.
PRINCIPAL_TTL = 5.0

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
SESSION_COOKIE = "vl_session"


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_platform(request: Request) -> Platform:
    platform = getattr(request.app.state, "platform", None)
    if platform is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the platform is still starting")
    return platform  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PlatformDep = Annotated[Platform, Depends(get_platform)]


def _unauthorized(detail: str = "not authenticated") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def current_user(request: Request, settings: SettingsDep, platform: PlatformDep,
                       token: Annotated[str | None, Depends(oauth2)]) -> auth.Principal:
    token = token or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise _unauthorized()
    username = auth.subject(token, settings.secret_key)
    if username is None:
        raise _unauthorized("invalid or expired token")

    _principals: dict[str, tuple[auth.Principal, float]] = request.app.state.__dict__.setdefault("principals", {})
    cached = _principals.get(username)
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        return cached[0]

    def load(s: Session) -> auth.Principal | None:
        row = s.execute(select(User.username, User.full_name, User.active).where(User.username == username)).first()
        if row is None or not row.active:
            return None
        roles = s.execute(select(UserRole.role).join(User, User.id == UserRole.user_id)
                          .where(User.username == username)).scalars()
        return auth.Principal(username=row.username, roles=frozenset(roles), full_name=row.full_name)

    principal = await platform.read(load)
    if principal is None:
        _principals.pop(username, None)
        raise _unauthorized("this user no longer exists or is inactive")
    if len(_principals) > 10_000:
        _principals.clear()
    _principals[username] = (principal, now + PRINCIPAL_TTL)
    return principal


CurrentUser = Annotated[auth.Principal, Depends(current_user)]


def require_role(*roles: str) -> Callable[..., auth.Principal]:
    """`Depends(require_role("finance", "admin"))`: 403 unless the caller holds one of the roles."""

    def check(user: CurrentUser) -> auth.Principal:
        if not user.has(*roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {', '.join(roles)}")
        return user

    return check


def as_actor(user: auth.Principal) -> Actor:
    return Actor(username=user.username, roles=sorted(user.roles))
