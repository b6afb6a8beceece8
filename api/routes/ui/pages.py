"""What every page shares: rendering (templates, filters, security headers), the logged-in viewer with
its session-bound CSRF token, and the route class that answers every refusal as a page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jwt
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response
from temporalio.service import RPCError

from api import auth, i18n
from api.app import STATUS
from api.deps import SESSION_COOKIE, PlatformDep, SettingsDep, current_user
from api.idempotency import new_form_token, once_per_form
from api.inbox import InboxFilter, view_counts
from api.platform import Platform
from domain import permissions
from domain.accounting.rules import CHART
from domain.core.errors import DomainError
from settings import Settings

HEADERS = {  # no script runs on these pages at all: injected markup could not execute even if escaping failed
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# --- rendering -------------------------------------------------------------------------------------

def money_text(value: Decimal | None) -> str:
    """An amount as the pages show it (1,250.50; — for none) in the viewer's locale: the `money` filter."""
    return i18n.money(value)


def rate_text(value: Decimal | None) -> str:
    """An exchange rate without its trailing zeros (1.0000000000 → 1, 0.1366000000 → 0.1366)."""
    if value is None:
        return "—"
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _when(value: datetime | date | None) -> str:
    """A moment in the viewer's time zone, a day as it is: the `when` filter."""
    return i18n.when(value)


ENV = Environment(loader=FileSystemLoader(Path(__file__).parents[2] / "templates"),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
ENV.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
ACCOUNT_NAMES = {code: name for code, name, _type in CHART}
ENV.filters.update(money=money_text, when=_when, label=i18n.label,
                   q=lambda s: quote(str(s), safe="/"), account_name=lambda c: i18n.gettext(ACCOUNT_NAMES[str(c)]) if str(c) in ACCOUNT_NAMES else "",
                   rate=rate_text, number=i18n.number, hours=i18n.hours)
ENV.globals.update(locale=i18n.locale, time_zone=i18n.time_zone, LANGUAGE_NAMES=i18n.LANGUAGE_NAMES)


def page(template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(template).render(**ctx), status_code=status, headers=HEADERS)


FLASH_COOKIE = "vl_flash"
LANG_COOKIE = "vl_lang"  # the language chosen on the login page's links: after the user's own setting, before the browser's


def redirect(path: str, **params: str) -> RedirectResponse:
    """303 to `path` (POST-redirect-GET). A `msg` or `error` travels in a short-lived cookie, not in the URL: the
    next page shows it once, and a reload or a bookmark does not bring it back."""
    flash = {k: params.pop(k)[:300] for k in ("msg", "error") if params.get(k)}
    query = urlencode({k: v for k, v in params.items() if v})
    response = RedirectResponse(f"{path}?{query}" if query else path, status_code=303)
    if flash:
        value = base64.urlsafe_b64encode(json.dumps(flash).encode()).decode()
        response.set_cookie(FLASH_COOKIE, value, max_age=120, path="/", httponly=True, samesite="lax")
    return response


def take_flash(request: Request | None) -> dict[str, str]:
    """The message a redirect left for this page (read once: `render` deletes the cookie)."""
    raw = request.cookies.get(FLASH_COOKIE, "") if request is not None else ""
    if not raw or len(raw) > 2000:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, TypeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(data[k])[:300] for k in ("msg", "error") if isinstance(data.get(k), str)}


def safe_next(target: str) -> str:
    """Only a path on this site: never `//evil.example` or `https://…` (no open redirect)."""
    ok = (target.startswith("/") and not target.startswith("//") and "\\" not in target and target.isprintable()
          and not target.startswith("/login"))
    return target if ok else ""


# --- sessions and CSRF -----------------------------------------------------------------------------

class LoginRequired(Exception):
    pass


class CsrfRejected(Exception):
    pass


@dataclass(frozen=True)
class Viewer:
    """The logged-in caller of a page, with what every page needs."""

    user: auth.Principal
    csrf: str
    platform: Platform
    settings: Settings
    request: Request | None = None  # the page's request: its flash cookie, its Accept-Language


def csrf_token(secret: str, session_token: str) -> str:
    try:
        jti = jwt.decode(session_token, options={"verify_signature": False}).get("jti")
    except jwt.PyJWTError:
        jti = None
    return hmac.new(secret.encode(), str(jti or session_token).encode(), hashlib.sha256).hexdigest()


async def viewer(request: Request, settings: SettingsDep, platform: PlatformDep) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    try:
        user = await current_user(request=request, settings=settings, platform=platform, token=token)
    except HTTPException as e:
        if e.status_code == 401:
            raise LoginRequired from None
        raise
    i18n.set_current(i18n.pick(user.locale or request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")),
                     user.time_zone)
    return Viewer(user, csrf_token(settings.secret_key, token), platform, settings, request)


async def poster(request: Request, v: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    """The viewer of a POST whose form carries this session's CSRF token."""
    sent = (await request.form()).get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), v.csrf.encode()):
        raise CsrfRejected
    return v


ViewerDep = Annotated[Viewer, Depends(viewer)]
PosterDep = Annotated[Viewer, Depends(poster)]


# --- errors as pages -------------------------------------------------------------------------------

class PageRoute(APIRoute):
    """Turns what would be a JSON error elsewhere into a page: a redirect to the login, or an error page. A form
    that carries a one-time `form_token` (every form that creates something) runs once per token: a double click
    or a second tab gets the first submit's answer (api.idempotency.once_per_form)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await once_per_form(request, lambda: handler(request))
            except LoginRequired:
                nxt = safe_next(request.url.path) if request.method == "GET" else ""
                response: Response = redirect("/login", next=nxt)
                response.delete_cookie(SESSION_COOKIE, path="/")
                return response
            except CsrfRejected:
                return page("error.html", 403, title=i18n._("Request refused"), message=i18n._(
                    "This form was not sent from a current Valueloop page (its security token is missing or "
                    "wrong), so nothing was changed. Go back, reload the page and try again."))
            except DomainError as e:
                return page("error.html", error_status(e), title=i18n._("Not possible"), message=e.message)
            except RequestValidationError as e:
                return page("error.html", 422, title=i18n._("Invalid input"), message=sentence(e.errors()))
            except HTTPException as e:
                return page("error.html", e.status_code, title=i18n._("Not possible"), message=str(e.detail))
            except RPCError as e:
                reason = e.message
                return await error_page(request, 503, lambda: (i18n._("The workflow engine did not answer"), i18n._(
                    "The workflow engine did not take the request (%(reason)s). Nothing was changed; try again "
                    "in a moment.", reason=reason)))
            except Exception:
                return await server_error_page(request)

        return guarded


def page_router() -> APIRouter:
    """A router of UI pages: every route a PageRoute, none in the OpenAPI schema."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)


def sentence(errors: Any) -> str:
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('body', 'query', 'path'))}: "
             f"{e.get('msg', 'invalid')}" for e in list(errors)[:5]]
    return "; ".join(parts) or "invalid input"


def error_status(e: DomainError) -> int:
    return STATUS.get(e.kind, 422)


async def render(v: Viewer, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    def count(s: Session) -> int:
        return view_counts(s, v.user, InboxFilter())["all"]
    def may(action: str) -> bool:  # templates show an action's link or button only to who may take it
        if action not in permissions.DEFAULT_GRANTS:
            raise ValueError(f"no action {action!r} in domain.permissions")  # a typo must not hide a button
        return permissions.may(v.user.roles, action)
    flash = take_flash(v.request)
    for key, text in flash.items():
        if not ctx.get(key):
            ctx[key] = text
    response = page(template, status, me=v.user, roles=sorted(v.user.roles), may=may, csrf=v.csrf,
                    form_token=new_form_token(), open_count=await v.platform.read(count), **ctx)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


async def not_possible(v: Viewer, e: DomainError) -> Response:
    return await render(v, "error.html", error_status(e), title=i18n._("Not possible"), message=e.message)


# --- error pages for what no page handled: unknown addresses, a reloaded POST address, a crash ------------------

LOG = logging.getLogger("valueloop.pages")
NOT_PAGES = frozenset({"api", "docs", "redoc", "openapi.json", "healthz", "metrics", "static"})
# POST addresses whose page is not found by dropping path segments (a shorter path a catch-all route would take).
FORM_PAGES = {"/processes/saved-filters": "/processes", "/inbox/saved-filters": "/inbox", "/logout": "/login"}


def is_page_path(path: str) -> bool:
    """Whether an address is the UI's (answered with pages), not the API's, the docs', health, metrics or static."""
    return path.lstrip("/").split("/", 1)[0] not in NOT_PAGES


def form_page(app: Any, path: str) -> str:
    """The page a POST-only address's form belongs to, for a GET on it (a reload after a form error): the mapped
    page, else the longest parent path that a GET route answers, else the inbox."""
    from starlette.routing import Match

    for prefix, target in FORM_PAGES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return target
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        candidate = "/".join(parts) or "/"
        scope = {"type": "http", "path": candidate, "method": "GET", "root_path": "", "headers": [],
                 "query_string": b""}
        if candidate != "/" and any(r.matches(scope)[0] == Match.FULL for r in app.router.routes):
            return candidate
    return "/inbox"


async def _viewer_or_none(request: Request) -> Viewer | None:
    """The logged-in viewer of a request no page route took (its language set), or None (then the browser's)."""
    settings, platform = request.app.state.settings, request.app.state.platform
    if platform is not None and request.cookies.get(SESSION_COOKIE):
        try:
            return await viewer(request, settings, platform)
        except (LoginRequired, HTTPException):
            pass
        except Exception:  # an error page must not fail over the session's lookup
            LOG.warning("could not read the session for an error page", exc_info=True)
    i18n.set_current(i18n.pick(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")))
    return None


async def error_page(request: Request, status: int, words: Callable[[], tuple[str, str]],
                     reference: str = "") -> Response:
    """An error page in the viewer's language (`words` gives the title and message once it is chosen), with the
    navigation when someone is logged in."""
    v = await _viewer_or_none(request)
    title, message = words()
    if v is not None:
        try:
            return await render(v, "error.html", status, title=title, message=message, reference=reference)
        except Exception:  # e.g. the database is down: the bare page still says what happened
            LOG.warning("error page without navigation", exc_info=True)
    return page("error.html", status, title=title, message=message, reference=reference)


async def http_error_page(request: Request, status: int) -> Response:
    """What the routing refused on a page address: 404 as a page, a GET on a POST-only address back to its page."""
    if status == 405 and request.method in ("GET", "HEAD"):
        return RedirectResponse(form_page(request.app, request.url.path), status_code=303)
    if status == 404:
        return await error_page(request, 404, lambda: (i18n._("Page not found"), i18n._(
            "There is no page at %(path)s. It may have moved, or the link was mistyped.",
            path=request.url.path[:200])))
    if status == 405:
        return await error_page(request, 405, lambda: (i18n._("Request not accepted"), i18n._(
            "This address does not take that kind of request.")))
    return await error_page(request, status, lambda: (i18n._("Request not accepted"), i18n._(
        "The request could not be answered (status %(status)s).", status=status)))


async def server_error_page(request: Request) -> Response:
    """An unexpected error in a page: logged with a reference the page shows, so the two can be matched."""
    reference = uuid.uuid4().hex[:12]
    LOG.exception("page %s %s failed (reference %s)", request.method, request.url.path, reference)
    return await error_page(request, 500, lambda: (i18n._("Something went wrong"), i18n._(
        "The page could not be shown because of an error on our side. It has been logged; if it happens again, "
        "tell your administrator the reference below.")), reference=reference)
