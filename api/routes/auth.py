"""Login: the OAuth2 password flow; logout and password change, which end sessions in the database."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import Field
from sqlalchemy.orm import Session

from api.deps import SESSION_COOKIE, CurrentUser, PlatformDep, SettingsDep
from api.encoding import ok
from api.login import log_in, set_session_cookie, signed_token, start_session
from api.ratelimit import client_ip, login_limiter
from api.schemas import Body
from domain.core.errors import Forbidden
from domain.org import services as org
from domain.org import sessions

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
    return ok({"access_token": await start_session(platform, settings, user.username), "token_type": "bearer"})


@router.post("/logout")
async def logout(user: CurrentUser, platform: PlatformDep) -> Any:
    """Ends the session of the token (or cookie) this request came with: its next request gets 401."""
    await platform.write(sessions.end_session, user.session)
    response = ok({"logged_out": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me")
async def me(user: CurrentUser) -> Any:
    return ok({"username": user.username, "full_name": user.full_name, "roles": sorted(user.roles)})


me_router = APIRouter(prefix="/api/me", tags=["auth"])


class PasswordChangeIn(Body):
    current: str = Field(min_length=1, max_length=org.PASSWORD_MAX)
    new: str = Field(min_length=org.PASSWORD_MIN, max_length=org.PASSWORD_MAX)


@me_router.post("/password")
async def change_password(body: PasswordChangeIn, request: Request, user: CurrentUser, settings: SettingsDep,
                          platform: PlatformDep) -> Any:
    """Changes the caller's password. Every session of the caller ends, this one included; the answer carries a
    new token (and, for a caller who came with the session cookie, a new cookie). A wrong current password is
    403 and counts as a failed login (so a stolen token cannot be used to guess the password)."""
    limiter, ip = login_limiter(request.app), client_ip(request)
    wait = limiter.retry_after(user.username, ip)
    if wait:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many failed logins; try again in {wait} seconds",
                            headers={"Retry-After": str(wait)})

    def change(s: Session) -> str:
        org.change_password(s, user.username, body.current, body.new)
        return signed_token(sessions.open_session(s, user.username, settings.token_minutes), settings)

    try:
        new_token = await platform.write(change)
    except Forbidden:
        limiter.failed(user.username, ip)
        raise
    limiter.succeeded(user.username)
    response = ok({"access_token": new_token, "token_type": "bearer"})
    if "authorization" not in request.headers and request.cookies.get(SESSION_COOKIE):
        set_session_cookie(request, response, settings, new_token)
    return response
