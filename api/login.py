"""Logging in and the session's signed token and cookie: the HTTP glue the login API (api/routes/auth.py)
and the login page (api/routes/ui/session.py) share."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from api import auth
from api.deps import SESSION_COOKIE
from api.platform import Platform
from api.ratelimit import client_ip, login_limiter
from domain.org import services as org
from domain.org import sessions
from domain.org.tables import User
from settings import Settings


def check_password(s: Any, username: str, password: str) -> User | None:
    user: User | None = s.query(User).filter(User.username == username).one_or_none()
    if user is None or not user.active or not org.verify_password(password, user.password_hash):
        return None
    return user


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


def signed_token(row: Any, settings: Settings) -> str:
    return auth.sign(row.username, row.jti, row.issued_at, row.expires_at, settings.secret_key)


async def start_session(platform: Platform, settings: Settings, username: str) -> str:
    """A new session of `username` (a row of auth_sessions) and its signed token, for the API or the UI cookie."""
    row = await platform.write(sessions.open_session, username, settings.token_minutes)
    return signed_token(row, settings)


def set_session_cookie(request: Request, response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.token_minutes * 60, path="/", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")
