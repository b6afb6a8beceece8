"""GET /metrics: Prometheus text with the API's requests counted by method, route template and status,
and their latency; each app counts its own."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from settings import Settings


def _app() -> FastAPI:
    return create_app(Settings(_env_file=None, secret_key="k" * 32, max_body_bytes=1000))


def _client(app: FastAPI) -> httpx.AsyncClient:
    # No lifespan: the platform stays None, so /healthz answers 503 "starting" without Temporal.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                             base_url="http://test")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _requests(samples: dict, method: str, route: str, status: str) -> float:
    return samples.get(("valueloop_http_requests_total",
                        (("method", method), ("route", route), ("status", status))), 0.0)


async def test_requests_are_counted_by_route_template_and_status():
    app = _app()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    async with _client(app) as c:
        assert (await c.get("/healthz")).status_code == 503
        assert (await c.get("/healthz")).status_code == 503
        assert (await c.get("/api/items/MOTOR-200W")).status_code in (401, 503)
        assert (await c.get("/no/such/page-42")).status_code == 404
        assert (await c.get("/static/app.css")).status_code == 200
        assert (await c.post("/api/auth/token", content=b"x" * 5000,
                             headers={"content-type": "application/x-www-form-urlencoded"})).status_code == 413
        assert (await c.get("/boom")).status_code == 500
        r = await c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    samples = _samples(r.text)
    assert _requests(samples, "GET", "/healthz", "503") == 2
    item = [k for k in samples if k[0] == "valueloop_http_requests_total" and ("route", "/api/items/{sku}") in k[1]]
    assert len(item) == 1 and samples[item[0]] == 1  # the template, not the SKU
    assert _requests(samples, "GET", "<unmatched>", "404") == 1
    assert "page-42" not in r.text  # an unknown path makes no series of its own
    assert _requests(samples, "GET", "/static/{path}", "200") == 1
    assert _requests(samples, "POST", "<unmatched>", "413") == 1  # refused before routing, still counted
    assert _requests(samples, "GET", "/boom", "500") == 1  # an exception counts as a 500
    assert samples[("valueloop_http_request_duration_seconds_count",
                    (("method", "GET"), ("route", "/healthz")))] == 2
    assert samples[("valueloop_http_request_duration_seconds_sum",
                    (("method", "GET"), ("route", "/healthz")))] > 0
    assert samples[("valueloop_http_requests_in_progress", ())] == 1  # the /metrics request itself
    assert "process_cpu_seconds_total" in r.text  # the replica's process (Linux /proc)


async def test_each_app_counts_its_own_requests():
    first, second = _app(), _app()  # a second registry, no "duplicated timeseries" error
    async with _client(first) as c:
        await c.get("/healthz")
    async with _client(second) as c:
        text = (await c.get("/metrics")).text
        again = (await c.get("/metrics")).text
    assert _requests(_samples(text), "GET", "/healthz", "503") == 0
    assert _requests(_samples(again), "GET", "/metrics", "200") == 1


async def test_metrics_is_not_in_the_api_schema():
    async with _client(_app()) as c:
        schema = (await c.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"] and "/healthz" in schema["paths"]


def _client_from(app: FastAPI, host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 40000)),
                             base_url="http://test")


async def test_metrics_are_not_anonymous_from_elsewhere():
    """Without a token: a scraper on this machine, talking to the API directly, reads them; any other address, or
    a request relayed by a proxy (it names its origin), gets 403 and no numbers."""
    app = _app()
    for host in ("127.0.0.1", "::1"):
        async with _client_from(app, host) as c:
            assert (await c.get("/metrics")).status_code == 200
    for host in ("10.1.2.3", "192.168.0.7", "203.0.113.9", "::ffff:10.0.0.1"):
        async with _client_from(app, host) as c:
            r = await c.get("/metrics")
        assert r.status_code == 403 and "valueloop_http" not in r.text, (host, r.text)
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        async with _client_from(app, "127.0.0.1") as c:
            r = await c.get("/metrics", headers={header: "203.0.113.9"})
        assert r.status_code == 403, header


async def test_with_a_metrics_token_only_its_bearer_reads_them():
    app = create_app(Settings(_env_file=None, secret_key="k" * 32, metrics_token="scrape-me-" + "x" * 20))
    for host in ("127.0.0.1", "10.1.2.3"):
        async with _client_from(app, host) as c:
            assert (await c.get("/metrics")).status_code == 401
            for wrong in ("Bearer nope", "Bearer scrape-me-", "Basic scrape-me-" + "x" * 20, "scrape-me-" + "x" * 20):
                assert (await c.get("/metrics", headers={"Authorization": wrong})).status_code == 401, wrong
            r = await c.get("/metrics", headers={"Authorization": "Bearer scrape-me-" + "x" * 20})
            assert r.status_code == 200 and "valueloop_http_requests" in r.text
