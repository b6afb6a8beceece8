"""Annotated dependencies: every route states in its signature what it needs and who may call it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from api import auth
from api.platform import Platform
from domain import permissions
from domain.org import grants, sessions
from domain.org.people import Actor
from settings import Settings

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
SESSION_COOKIE = "vl_session"


# The dependencies are `async def` although they do not await: FastAPI runs a plain `def` dependency in its
# thread pool, a thread hop per dependency per request (3.1% of the engine-floor bench process's py-spy samples).
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_platform(request: Request) -> Platform:
    platform: Platform | None = getattr(request.app.state, "platform", None)
    if platform is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the platform is still starting")
    return platform


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PlatformDep = Annotated[Platform, Depends(get_platform)]


def _unauthorized(detail: str = "not authenticated") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def session_user(platform: Platform, secret_key: str, token: str | None) -> auth.Principal:
    """The user of `token` (a bearer token or the session cookie's), if it is well signed and its session live;
    401 otherwise. The one reading of the caller: `current_user` for the routes and pages, and the idempotency
    middleware (api.idempotency), which must know the caller before the app runs."""
    if not token:
        raise _unauthorized()
    claims = auth.claims(token, secret_key)
    if claims is None:
        raise _unauthorized("invalid or expired token")
    username, jti = claims
    # Every request asks the database (one indexed query), so a logout, password change, deactivation or role
    # change ends the session on every API process at once; nothing about the caller is cached here.
    holder = await platform.peek(sessions.holder, jti)
    if holder is None or holder.username != username:
        raise _unauthorized("this session has ended; log in again")
    if holder.grants_version != permissions.grants_version():  # admin changed who may do what: reload once
        await platform.read(grants.refresh, holder.grants_version)
    return auth.Principal(username=holder.username, roles=holder.roles, full_name=holder.full_name, session=jti,
                          locale=holder.locale, time_zone=holder.time_zone)


async def current_user(request: Request, settings: SettingsDep, platform: PlatformDep,
                       token: Annotated[str | None, Depends(oauth2)]) -> auth.Principal:
    return await session_user(platform, settings.secret_key, token or request.cookies.get(SESSION_COOKIE))


CurrentUser = Annotated[auth.Principal, Depends(current_user)]


def require(action: permissions.Action) -> Callable[..., Awaitable[auth.Principal]]:
    """`Depends(require(Action.EXPENSE_PAY))`: 403 unless the caller holds the action (domain.permissions).
    The dependency carries its action (`.action`), so the route table can say who may call each route."""

    async def check(user: CurrentUser) -> auth.Principal:
        if not permissions.may(user.roles, action):
            roles = ", ".join(sorted(permissions.roles_for(action))) or "none"
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{action} needs one of the roles: {roles}")
        return user

    check.action = action  # type: ignore[attr-defined]  # a mark on the function, read by the route audit test
    return check


def as_actor(user: auth.Principal) -> Actor:
    return Actor(username=user.username, roles=sorted(user.roles))
