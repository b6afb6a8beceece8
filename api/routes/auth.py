"""Login: the OAuth2 password flow; logout and password change, which end sessions in the database."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from api import auth
from api.deps import SESSION_COOKIE, CurrentUser, PlatformDep, SettingsDep
from api.encoding import ok
from api.platform import Platform
from api.ratelimit import client_ip, login_limiter
from api.schemas import Body
from domain.errors import Forbidden
from domain.schema import User
from domain.services import org, sessions
from settings import Settings


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


def _signed(row: Any, settings: Settings) -> str:
    return auth.sign(row.username, row.jti, row.issued_at, row.expires_at, settings.secret_key)


async def start_session(platform: Platform, settings: Settings, username: str) -> str:
    """A new session of `username` (a row of auth_sessions) and its signed token, for the API or the UI cookie."""
    row = await platform.write(sessions.open_session, username, settings.token_minutes)
    return _signed(row, settings)


def set_session_cookie(request: Request, response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.token_minutes * 60, path="/", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")


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
        return _signed(sessions.open_session(s, user.username, settings.token_minutes), settings)

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
