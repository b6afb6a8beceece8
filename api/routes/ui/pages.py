"""What every page shares: rendering (templates, filters, security headers), the logged-in viewer with
its session-bound CSRF token, and the route class that answers every refusal as a page."""

from __future__ import annotations

import hashlib
import hmac
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

from api import auth
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
    """An amount as the pages show it (1,250.50; — for none): the templates' `money` filter."""
    return "—" if value is None else f"{Decimal(value):,.2f}"


def rate_text(value: Decimal | None) -> str:
    """An exchange rate without its trailing zeros (1.0000000000 → 1, 0.1366000000 → 0.1366)."""
    if value is None:
        return "—"
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()


ENV = Environment(loader=FileSystemLoader(Path(__file__).parents[2] / "templates"),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True)
ACCOUNT_NAMES = {code: name for code, name, _type in CHART}
ENV.filters.update(money=money_text, when=_when, label=lambda s: str(s or "").replace("_", " "),
                   q=lambda s: quote(str(s), safe="/"), account_name=lambda c: ACCOUNT_NAMES.get(str(c), ""),
                   rate=rate_text)


def page(template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(template).render(**ctx), status_code=status, headers=HEADERS)


def redirect(path: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


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
    return Viewer(user, csrf_token(settings.secret_key, token), platform, settings)


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
                return page("error.html", 403, title="Request refused", message=(
                    "This form was not sent from a current Valueloop page (its security token is missing or "
                    "wrong), so nothing was changed. Go back, reload the page and try again."))
            except DomainError as e:
                return page("error.html", error_status(e), title="Not possible", message=e.message)
            except RequestValidationError as e:
                return page("error.html", 422, title="Invalid input", message=sentence(e.errors()))
            except HTTPException as e:
                return page("error.html", e.status_code, title="Not possible", message=str(e.detail))

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
    return page(template, status, me=v.user, roles=sorted(v.user.roles), may=may, csrf=v.csrf,
                form_token=new_form_token(), open_count=await v.platform.read(count), **ctx)


async def not_possible(v: Viewer, e: DomainError) -> Response:
    return await render(v, "error.html", error_status(e), title="Not possible", message=e.message)
