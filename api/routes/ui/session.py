"""Logging in and out. The login form has no session yet, so it is protected by a double-submit cookie
instead of the session-bound CSRF token that every other form carries."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import Form, Query, Request
from starlette.responses import HTMLResponse, Response

from api import i18n
from api.deps import SESSION_COOKIE, PlatformDep, SettingsDep
from api.i18n import _
from api.login import log_in, set_session_cookie, start_session
from api.platform import Platform
from api.routes.ui.pages import (
    FLASH_COOKIE,
    LANG_COOKIE,
    LoginRequired,
    PosterDep,
    Viewer,
    page,
    page_router,
    redirect,
    safe_next,
    take_flash,
    viewer,
)
from api.routes.ui.workspaces import landing
from domain import permissions
from domain.org import company, sessions
from domain.permissions import Action
from settings import Settings

LOGIN_CSRF_COOKIE = "vl_login_csrf"

router = page_router()


async def _viewer_or_none(request: Request, settings: Settings, platform: Platform) -> Viewer | None:
    try:
        return await viewer(request, settings, platform)
    except LoginRequired:
        return None


def _use_language(request: Request) -> None:
    """Nobody is logged in yet: the language chosen on this page's links (vl_lang), else the browser's."""
    i18n.set_current(i18n.pick(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")))


def _login_page(request: Request, status: int = 200, **ctx: Any) -> HTMLResponse:
    _use_language(request)
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (20 <= len(token) <= 100) or status == 403:
        token = secrets.token_urlsafe(32)
    response = page("login.html", status, login_csrf=token, languages=i18n.LANGUAGE_NAMES, **ctx)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.get("/")
async def home(request: Request, settings: SettingsDep, platform: PlatformDep) -> Response:
    v = await _viewer_or_none(request, settings, platform)
    if v and v.user.may(Action.COMPANY_EDIT) and not await platform.read(company.is_set_up):
        return redirect("/setup")  # the first run: admin names the company before anything else
    return redirect(landing(v.user.roles) if v else "/login")  # each to their own work


@router.get("/login")
async def login_form(request: Request, settings: SettingsDep, platform: PlatformDep,
                     next: Annotated[str, Query(max_length=300)] = "") -> Response:
    if v := await _viewer_or_none(request, settings, platform):
        return redirect(safe_next(next) or landing(v.user.roles))
    flash = take_flash(request)
    response = _login_page(request, next=safe_next(next), msg=flash.get("msg", ""))
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


@router.post("/login")
async def login(request: Request, settings: SettingsDep, platform: PlatformDep,
                username: Annotated[str, Form(max_length=60)] = "", password: Annotated[str, Form(max_length=200)] = "",
                csrf: Annotated[str, Form(max_length=100)] = "",
                next: Annotated[str, Form(max_length=300)] = "") -> Response:
    _use_language(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
        return _login_page(request, 403, username=username, next=safe_next(next),
                           error=_("The login form had expired or was not sent from this site. Please try again."))
    user, wait = await log_in(request, platform, username, password)
    if wait:
        refused = _login_page(request, 429, username=username, next=safe_next(next),
                              error=_("Too many failed logins. Please try again in %(n)s seconds.", n=wait))
        refused.headers["Retry-After"] = str(wait)
        return refused
    if user is None:
        return _login_page(request, 401, username=username, next=safe_next(next),
                           error=_("Wrong username or password."))
    first_run = permissions.may(user.roles, Action.COMPANY_EDIT) and not await platform.read(company.is_set_up)
    response = redirect("/setup" if first_run else safe_next(next) or landing(user.roles))  # first run: the company
    set_session_cookie(request, response, settings, await start_session(platform, settings, user.username))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(v: PosterDep, platform: PlatformDep) -> Response:
    # The session ends in the database: the old cookie (or a copy of it) opens nothing any more.
    await platform.write(sessions.end_session, v.user.session)
    response = redirect("/login", msg=_("You are logged out."))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/language")
async def choose_language(lang: Annotated[str, Query(max_length=20)] = "",
                          next: Annotated[str, Query(max_length=300)] = "") -> Response:
    """The login page's language links: keep the choice in a cookie (a year) and show the login page again (with the
    page it leads to). A logged-in user's own setting (their settings page) comes first, the browser's after."""
    response = redirect("/login", next=safe_next(next))
    if lang in i18n.LOCALES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, path="/", httponly=True, samesite="lax")
    return response
