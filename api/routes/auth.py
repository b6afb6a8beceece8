"""Login: the OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api import auth
from api.deps import CurrentUser, PlatformDep, SettingsDep
from api.encoding import ok
from api.ratelimit import client_ip, login_limiter
from domain.schema import User
from domain.services import org


def check_password(s: Any, username: str, password: str) -> User | None:
    user = s.query(User).filter(User.username == username).one_or_none()
    if user is None or not user.active or not org.verify_password(password, user.password_hash):
        return None
    return user  # type: ignore[no-any-return]


router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/token")
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], settings: SettingsDep,
                platform: PlatformDep) -> Any:
    limiter, ip, username = login_limiter(request.app), client_ip(request), form.username[:60]
    wait = limiter.retry_after(username, ip)
    if wait:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many failed logins; try again in {wait} seconds",
                            headers={"Retry-After": str(wait)})
    user = await platform.read(check_password, username, form.password[:200])
    if user is None:
        limiter.failed(username, ip)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    limiter.succeeded(username)
    return ok({"access_token": auth.issue(user.username, settings.secret_key, settings.token_minutes),
               "token_type": "bearer"})


@router.get("/me")
async def me(user: CurrentUser) -> Any:
    return ok({"username": user.username, "full_name": user.full_name, "roles": sorted(user.roles)})
