"""The FastAPI application: routers, error mapping, size limits, health, and its lifespan."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from temporalio.service import RPCError

from api import attachments, idempotency, metrics
from api.asgi import read_body, replaying, whole
from api.encoding import ok
from api.platform import Platform
from domain.core.db import Database
from domain.core.errors import DomainError
from domain.core.types import utcnow
from settings import Settings, get_settings

log = logging.getLogger(__name__)

STATUS = {"invalid": 422, "not_found": 404, "conflict": 409, "forbidden": 403, "unavailable": 503, "too_large": 413,
          "unsupported": 415}
HERE = Path(__file__).parent


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


async def _sweep_interrupted_imports(platform: Platform) -> None:
    """A CSV import that ran in a process that stopped is marked refused (nothing of it was stored)."""
    from domain.parties import jobs

    started = utcnow()
    try:
        await platform.write(jobs.sweep_interrupted, started)
    except Exception:  # the database may not be migrated yet on a first start: nothing to sweep then
        log.warning("could not look for interrupted imports", exc_info=True)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    settings = settings or get_settings()
    if len(settings.secret_key) < 16:
        raise RuntimeError("SECRET_KEY is not set (or shorter than 16 characters); the API will not sign "
                           "tokens with a guessable key")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned: Database | None = None
        if app.state.platform is None:
            from worker import connect

            owned = Database(settings.database_url)
            client = await _connect_with_retry(lambda: connect(settings))
            app.state.platform = Platform(client, owned, settings.task_queue, area_queues=settings.area_queues)
        await _sweep_interrupted_imports(app.state.platform)
        yield
        if owned is not None:
            owned.dispose()

    app = FastAPI(title="Valueloop", version="0.1.0", lifespan=lifespan,
                  description="CRM, ERP and office approvals as one closed loop of durable processes.")
    app.state.settings = settings
    app.state.platform = platform

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> Response:
        return JSONResponse({"detail": exc.message}, status_code=STATUS.get(exc.kind, 422))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        sentence = "; ".join(f"{_field(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}" for e in errors[:5])
        return JSONResponse({"detail": sentence, "errors": [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors[:50]]},
            status_code=422)

    @app.exception_handler(RPCError)
    async def temporal_error(_: Request, exc: RPCError) -> Response:
        return JSONResponse({"detail": f"the workflow engine did not accept the request: {exc.message}"},
                            status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        from api.routes.ui.pages import http_error_page, is_page_path

        if is_page_path(request.url.path):  # the UI's addresses answer pages: 404, a reloaded POST address, …
            return await http_error_page(request, exc.status_code)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        from api.routes.ui.pages import is_page_path, server_error_page

        if is_page_path(request.url.path):
            return await server_error_page(request)
        return PlainTextResponse("Internal Server Error", status_code=500)

    app.add_middleware(idempotency.Idempotency)  # innermost: what it fingerprints and runs once passed the checks outside it
    app.add_middleware(StorableText)  # inside BodyLimit: reads only bodies under the limit
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, larger=attachments.body_limit(settings))
    metrics.install(app)  # outermost: counts the refused bodies too; GET /metrics

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> Response:
        p: Platform | None = request.app.state.platform
        parts = {"temporal": "starting", "database": "starting"}
        if p is not None:
            try:
                await asyncio.wait_for(p.client.service_client.check_health(), 3)
                parts["temporal"] = "ok"
            except Exception as e:
                parts["temporal"] = f"error: {type(e).__name__}"
            try:
                await asyncio.wait_for(p.read(lambda s: s.execute(text("SELECT 1")).scalar_one()), 3)
                parts["database"] = "ok"
            except Exception as e:
                parts["database"] = f"error: {type(e).__name__}"
        healthy = all(v == "ok" for v in parts.values())
        return ok({"status": "ok" if healthy else "unavailable", **parts}, 200 if healthy else 503)

    from api.routes import (
        absence,
        auth,
        boms,
        cash_policy,
        crm,
        expenses,
        ledger,
        master,
        pricing,
        processes,
        production,
        purchasing,
        sales,
        saved_filters,
        tasks,
        ui,
    )
    from api.routes.ui.dashboard import api_router as incidents

    for r in (auth.router, crm.router, crm.rules_router, sales.router, tasks.router, expenses.router, purchasing.requisitions, purchasing.orders, master.router,
              boms.router, ledger.router, processes.router, production.router, incidents, saved_filters.router, ui.router):
        app.include_router(r)
    app.include_router(absence.router)
    app.include_router(pricing.router)
    app.include_router(cash_policy.router)
    app.include_router(auth.me_router)
    from api.routes import reports
    app.include_router(reports.router)
    from api.routes import bills
    from api.routes.ui import bills as bill_pages
    app.include_router(bills.router)
    app.include_router(bill_pages.router)
    from api.routes import payments
    from api.routes.ui import payments as payment_pages
    app.include_router(payments.router)
    app.include_router(payment_pages.router)
    from api.routes import periods
    app.include_router(periods.router)
    from api.routes import invoices
    from api.routes.ui import invoices as invoice_pages
    app.include_router(invoices.router)
    app.include_router(invoice_pages.router)
    from api.routes import returns
    app.include_router(returns.router)
    from api.routes import admin
    app.include_router(admin.router)
    from api.routes import attachments as attachment_routes
    from api.routes.ui import attachments as attachment_pages
    app.include_router(attachment_routes.router)
    app.include_router(attachment_pages.router)
    from api.routes.ui import claims as claim_pages
    app.include_router(claim_pages.router)
    from api.routes import forms
    from api.routes.ui import forms as form_pages
    app.include_router(forms.router)
    app.include_router(form_pages.router)
    from api.routes import notifications
    from api.routes.ui import notifications as notification_pages
    app.include_router(notifications.router)
    app.include_router(notification_pages.router)
    from api.routes import requests as form_requests
    from api.routes.ui import form_requests as form_request_pages
    app.include_router(form_requests.router)
    from api.routes import leave
    app.include_router(leave.router)
    app.include_router(form_request_pages.router)
    from api.routes.ui import oa as oa_pages
    app.include_router(oa_pages.router)
    from api.routes import promise as promise_routes
    app.include_router(promise_routes.router)
    from api.routes import planning_release
    from api.routes.ui import planning_release as planning_release_pages
    app.include_router(planning_release.router)
    app.include_router(planning_release_pages.router)
    from api.routes import capacity as capacity_routes
    from api.routes.ui import capacity as capacity_pages
    app.include_router(capacity_routes.router)
    app.include_router(capacity_pages.router)
    from api.routes import quality as quality_routes
    from api.routes.ui import quality as quality_pages
    app.include_router(quality_routes.router)
    app.include_router(quality_pages.router)
    from api.routes import forecasts as forecast_routes
    from api.routes.ui import forecasts as forecast_pages
    app.include_router(forecast_routes.router)
    app.include_router(forecast_pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def openapi() -> dict[str, Any]:
        """FastAPI's schema, with 422 documented as this app answers it: a sentence, and the errors beside it."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            schemas = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = {
                    "title": "HTTPValidationError", "type": "object", "required": ["detail"],
                    "properties": {
                        "detail": {"title": "Detail", "type": "string",
                                   "description": "what is wrong, as a sentence (the first five problems)"},
                        "errors": {"title": "Errors", "type": "array", "items": {
                            "type": "object", "properties": {
                                "loc": {"type": "array", "items": {"anyOf": [{"type": "string"},
                                                                             {"type": "integer"}]}},
                                "msg": {"type": "string"}, "type": {"type": "string"}}}}}}
            idempotency.document(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
    return app


_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MAY_HIDE = re.compile(rb"\\u[dD][89a-fA-F]|\\u0000|%00", re.IGNORECASE)


def _unstorable(value: Any) -> bool:
    """Text no database should be given: a NUL (PostgreSQL refuses it) or an unpaired surrogate (not UTF-8)."""
    if isinstance(value, str):
        return "\x00" in value or _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


class StorableText:
    """422 for a path, query string, JSON body or form holding a NUL character or an unpaired surrogate: PostgreSQL
    refuses the one and UTF-8 cannot hold the other, so they would end as a 500 (on one database) deep inside a
    transaction. Bodies are read whole only when their bytes may hide such a character (an escape or %00)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _unstorable(scope.get("path", "")) or "\x00" in unquote_plus(scope.get("query_string", b"").decode("latin-1")):
            await self._refuse(scope, receive, send)
            return
        headers = dict(scope["headers"])
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind not in (b"application/json", b"application/x-www-form-urlencoded"):
            await self.app(scope, receive, send)
            return
        body, tail = await read_body(receive)
        if _MAY_HIDE.search(body) and self._holds_unstorable(kind, body):
            await self._refuse(scope, receive, send)
            return
        # (a client gone before the body was whole: the app sees it leave)
        await self.app(scope, replaying([tail or whole(body)], receive), send)

    @staticmethod
    def _holds_unstorable(kind: bytes, body: bytes) -> bool:
        try:
            if kind == b"application/json":
                return _unstorable(json.loads(body))
            return "\x00" in unquote_plus(body.decode("latin-1"))
        except ValueError:
            return False  # not JSON: the app answers that

    @staticmethod
    async def _refuse(scope: Any, receive: Any, send: Any) -> None:
        await JSONResponse({"detail": "text may not hold a NUL character or an unpaired surrogate"},
                           status_code=422)(scope, receive, send)


class BodyLimit:
    """413 for a body over the limit, judged by its Content-Length (a plain ASGI middleware: cheap);
    a chunked body without a length is counted as it streams in."""

    def __init__(self, app: Any, max_bytes: int, larger: Callable[[str], int | None] | None = None):
        self.app, self.max_bytes = app, max_bytes
        self.larger = larger  # a path's own limit for a POST to it (an upload address), or None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        own = self.larger(scope["path"]) if self.larger is not None and scope.get("method") == "POST" else None
        limit = own or self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    await self._too_large(scope, receive, send, limit)
                    return
                break
        seen, refused = 0, False

        async def counted() -> Any:
            # Over the limit: answer 413 here and tell the app the client is gone (raising instead would reach
            # FastAPI's body parsing, which answers 400 to whatever it caught); what it sends after is dropped.
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    await self._too_large(scope, receive, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Any) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not refused:
                raise

    @staticmethod
    async def _too_large(scope: Any, receive: Any, send: Any, limit: int) -> None:
        response = JSONResponse({"detail": f"request body over {limit} bytes"}, status_code=413)
        await response(scope, receive, send)


async def _connect_with_retry(connect: Callable[[], Awaitable[Any]], attempts: int = 60) -> Any:
    for i in range(attempts):
        try:
            return await connect()
        except Exception:
            if i == attempts - 1:
                raise
            await asyncio.sleep(1)
    raise RuntimeError("unreachable")
