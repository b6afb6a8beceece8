"""Login: the OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api import auth
from api.deps import CurrentUser, PlatformDep, SettingsDep
from api.encoding import ok
from api.platform import Platform
from api.ratelimit import client_ip, login_limiter
from domain.schema import User
from domain.services import org


def check_password(s: Any, username: str, password: str) -> User | None:
    user = s.query(User).filter(User.username == username).one_or_none()
    if user is None or not user.active or not org.verify_password(password, user.password_hash):
        return None
    return user  # type: ignore[no-any-return]


async def log_in(request: Request, platform: Platform, username: str, password: str) -> tuple[User | None, int]:
    """A login of the API or the login page, under the failed-login limit: (the user, 0); (None, 0) for a wrong
    username or password, counted; (None, seconds to wait) while the limit refuses, the password unchecked."""
    limiter, ip = login_limiter(request.app), client_ip(request)
    wait = limiter.retry_after(username, ip)
    if wait:
        return None, wait
    user = await platform.read(check_password, username, password)
    if user is None:
        limiter.failed(username, ip)
    else:
        limiter.succeeded(username)
    return user, 0


router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/token")
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], settings: SettingsDep,
                platform: PlatformDep) -> Any:
    user, wait = await log_in(request, platform, form.username[:60], form.password[:200])
    if wait:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many failed logins; try again in {wait} seconds",
                            headers={"Retry-After": str(wait)})
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    return ok({"access_token": auth.issue(user.username, settings.secret_key, settings.token_minutes),
               "token_type": "bearer"})


@router.get("/me")
async def me(user: CurrentUser) -> Any:
    return ok({"username": user.username, "full_name": user.full_name, "roles": sorted(user.roles)})
