"""The API's own CPU per request, in process: no network, no Temporal, no worker. The ASGI app is called directly
with reads the engine-floor flow sends on every claim (the caller's tasks under one business key, the caller
himself) and a refused one (no token), on a SQLite file holding the demo company; each case is timed in process
CPU (`time.process_time`: every thread, the pool's included) and wall time per request. A tool to A/B a cut to
the API's per-request cost in seconds, where `bench.engine_floor` needs minutes and an idle machine.

    python -m bench.api_requests [--n 2000] [--profile FILE.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

from bench.common import console


async def _call(app: Any, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None,
                headers: dict[str, str] | None = None, form: dict[str, str] | None = None) -> tuple[int, bytes]:
    raw = (orjson.dumps(body) if body is not None else urlencode(form).encode() if form else b"")
    hdrs = [(b"host", b"bench")] + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if body is not None:
        hdrs.append((b"content-type", b"application/json"))
    if form:
        hdrs.append((b"content-type", b"application/x-www-form-urlencoded"))
    hdrs.append((b"content-length", str(len(raw)).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": urlencode(query or {}).encode(),
             "root_path": "", "headers": hdrs, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
             "state": {}}
    sent = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def run(n: int, profile: str | None) -> None:
    from api.app import create_app
    from api.platform import Platform
    from domain import demo
    from domain.core.db import Database
    from settings import Settings

    with tempfile.TemporaryDirectory(prefix="valueloop-apireq-") as tmp:
        db = Database(f"sqlite:///{Path(tmp)}/valueloop.db")
        db.create_all()
        with db.write() as s:
            demo.load(s)
        settings = Settings(database_url=db.url, secret_key=f"bench-secret-{uuid.uuid4().hex}")
        app = create_app(settings, Platform(None, db, "bench"))  # type: ignore[arg-type]  # reads only
        tokens = {}
        for user in ("erin", "frank"):
            status, body = await _call(app, "POST", "/api/auth/token", form={"username": user, "password": "demo"})
            assert status == 200, body
            tokens[user] = {"Authorization": f"Bearer {orjson.loads(body)['access_token']}"}
        cases: list[tuple[str, Callable[[], Any]]] = [
            ("GET /api/tasks?business_key (none there)",
             lambda: _call(app, "GET", "/api/tasks", query={"business_key": "EC-NONE"}, headers=tokens["frank"])),
            ("GET /api/auth/me", lambda: _call(app, "GET", "/api/auth/me", headers=tokens["erin"])),
            ("GET /api/tasks without a token (401)", lambda: _call(app, "GET", "/api/tasks")),
        ]
        prof = cProfile.Profile() if profile else None
        for label, make in cases:
            for _ in range(50):  # warm up
                await make()
            statuses: set[int] = set()
            t_cpu, t_wall = time.process_time(), time.perf_counter()
            if prof:
                prof.enable()
            for _ in range(n):
                status, _body = await make()
                statuses.add(status)
            if prof:
                prof.disable()
            cpu, wall = time.process_time() - t_cpu, time.perf_counter() - t_wall
            console.print(f"  {label:45} {1000 * cpu / n:6.2f} ms CPU  {1000 * wall / n:6.2f} ms wall  "
                          f"statuses {sorted(statuses)}")
        if prof and profile:
            prof.dump_stats(profile)
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="requests per case")
    ap.add_argument("--profile", help="write a cProfile of the timed requests to this file")
    args = ap.parse_args(argv)
    os.environ.setdefault("VALUELOOP_QUIET", "1")
    console.print(f"API CPU per request, in process (process CPU, all threads), {args.n} each:")
    asyncio.run(run(args.n, args.profile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
