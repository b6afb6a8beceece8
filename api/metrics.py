"""Prometheus metrics of the API: requests by method, route template and status, and their latency.

Each app gets its own registry (tests build many apps in one process); every API replica serves its
own numbers at /metrics, and Prometheus scrapes each replica and sums them.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.process_collector import ProcessCollector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

# A path no route matched is counted under one label: a scanner must not grow one series per URL.
UNMATCHED = "<unmatched>"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter("valueloop_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("valueloop_http_request_duration_seconds",
                                 "Time from the request to the end of its response",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)
        self.in_progress = Gauge("valueloop_http_requests_in_progress", "HTTP requests being answered",
                                 registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_template(scope: Any, root_path: str = "") -> str:
    """The template of the route that answered (`/api/items/{sku}`), not the concrete path; a mounted
    app (the static files) as its mount point (`/static/{path}`). `root_path`: the scope's on entry."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        return str(path)
    mounted = str(scope.get("root_path", ""))
    if mounted != root_path and mounted.startswith(root_path):  # a Mount extends root_path
        return mounted[len(root_path):] + "/{path}"
    return UNMATCHED


class MetricsMiddleware:
    """A plain ASGI middleware (no per-request object of Starlette's BaseHTTPMiddleware)."""

    def __init__(self, app: Any, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root_path = scope.get("root_path", "")
        status = 500  # an exception that escapes before the response started is a server error
        start = time.perf_counter()

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_progress.dec()
            route = route_template(scope, root_path)
            method = scope.get("method", "")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)


LOOPBACK = ("127.0.0.1", "::1", "localhost")
FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def may_scrape(request: Request, token: str) -> Response | None:
    """None when `request` may read the numbers, else the refusal. Request counts per route and the process's
    memory tell an outsider what the company does and when: with a token set, its bearer only; without one, only
    a client on this machine that reached the API directly (a request relayed by a proxy names its origin in a
    forwarding header, so it is refused)."""
    if token:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
            return None
        return JSONResponse({"detail": "metrics need the metrics token (Authorization: Bearer …)"},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})
    host = request.client.host if request.client else ""
    relayed = any(name in FORWARDED for name, _ in request.scope.get("headers", []))
    if host in LOOPBACK and not relayed:
        return None
    return JSONResponse({"detail": "metrics are served to this machine only; set METRICS_TOKEN to scrape them "
                                   "from elsewhere"}, status_code=403)


def install(app: FastAPI) -> Metrics:
    """Count every request of `app` and serve the numbers at GET /metrics (Prometheus text format)."""
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        refusal = may_scrape(request, getattr(request.app.state.settings, "metrics_token", ""))
        if refusal is not None:
            return refusal
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return metrics
