"""Logging in and out. The login form has no session yet, so it is protected by a double-submit cookie
instead of the session-bound CSRF token that every other form carries."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import Form, Query, Request
from starlette.responses import HTMLResponse, Response

from api.deps import SESSION_COOKIE, PlatformDep, SettingsDep
from api.login import log_in, set_session_cookie, start_session
from api.platform import Platform
from api.routes.ui.pages import (
    LoginRequired,
    PosterDep,
    Viewer,
    page,
    page_router,
    redirect,
    safe_next,
    viewer,
)
from domain.org import sessions
from settings import Settings

LOGIN_CSRF_COOKIE = "vl_login_csrf"

router = page_router()


async def _viewer_or_none(request: Request, settings: Settings, platform: Platform) -> Viewer | None:
    try:
        return await viewer(request, settings, platform)
    except LoginRequired:
        return None


def _login_page(request: Request, status: int = 200, **ctx: Any) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (20 <= len(token) <= 100) or status == 403:
        token = secrets.token_urlsafe(32)
    response = page("login.html", status, login_csrf=token, **ctx)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.get("/")
async def home(request: Request, settings: SettingsDep, platform: PlatformDep) -> Response:
    return redirect("/inbox" if await _viewer_or_none(request, settings, platform) else "/login")


@router.get("/login")
async def login_form(request: Request, settings: SettingsDep, platform: PlatformDep,
                     next: Annotated[str, Query(max_length=300)] = "", msg: str = "") -> Response:
    if await _viewer_or_none(request, settings, platform):
        return redirect(safe_next(next) or "/inbox")
    return _login_page(request, next=safe_next(next), msg=msg[:300])


@router.post("/login")
async def login(request: Request, settings: SettingsDep, platform: PlatformDep,
                username: Annotated[str, Form(max_length=60)] = "", password: Annotated[str, Form(max_length=200)] = "",
                csrf: Annotated[str, Form(max_length=100)] = "",
                next: Annotated[str, Form(max_length=300)] = "") -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
        return _login_page(request, 403, username=username, next=safe_next(next),
                           error="The login form had expired or was not sent from this site. Please try again.")
    user, wait = await log_in(request, platform, username, password)
    if wait:
        refused = _login_page(request, 429, username=username, next=safe_next(next),
                              error=f"Too many failed logins. Please try again in {wait} seconds.")
        refused.headers["Retry-After"] = str(wait)
        return refused
    if user is None:
        return _login_page(request, 401, username=username, next=safe_next(next),
                           error="Wrong username or password.")
    response = redirect(safe_next(next) or "/inbox")
    set_session_cookie(request, response, settings, await start_session(platform, settings, user.username))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(v: PosterDep, platform: PlatformDep) -> Response:
    # The session ends in the database: the old cookie (or a copy of it) opens nothing any more.
    await platform.write(sessions.end_session, v.user.session)
    response = redirect("/login", msg="You are logged out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
