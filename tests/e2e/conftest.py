"""End to end: the Temporal dev server, the real worker, and the API served by uvicorn over HTTP."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.platform import Platform
from domain.core.db import Database
from settings import Settings
from tests.conftest import terminate_processes
from tests.helpers import assert_books_reconcile
from worker import build_worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    http: httpx.AsyncClient
    db: Database
    platform: Platform
    tokens: dict[str, str] = field(default_factory=dict)

    async def login(self, username: str, password: str = "demo") -> dict[str, str]:
        if username not in self.tokens:
            r = await self.http.post("/api/auth/token", data={"username": username, "password": password})
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def as_(self, username: str, method: str, url: str, **kw: object) -> httpx.Response:
        headers = {**await self.login(username), **kw.pop("headers", {})}  # type: ignore[dict-item]
        return await self.http.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]

    async def open_task(self, username: str, business_key: str, tries: int = 200) -> dict[str, object]:
        for _ in range(tries):
            r = await self.as_(username, "GET", "/api/tasks", params={"business_key": business_key})
            assert r.status_code == 200, r.text
            if r.json():
                return r.json()[0]  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)
        raise AssertionError(f"{username} never saw a task for {business_key}")


@dataclass
class Served:
    app: FastAPI
    settings: Settings
    platform: Platform
    base_url: str
    http: httpx.AsyncClient


@asynccontextmanager
async def serve_stack(dev_env: WorkflowEnvironment, db: Database, prefix: str, **overrides: Any) -> AsyncIterator[Served]:
    """A fresh app on its own task queue served by uvicorn, with the real worker; its processes terminated after.
    `overrides`: more settings (e.g. smtp_host, smtp_port, attachments_dir)."""
    task_queue = f"{prefix}-{uuid.uuid4()}"
    settings = Settings(database_url=db.url, task_queue=task_queue, secret_key=f"{prefix}-secret-" + uuid.uuid4().hex,
                        **overrides)
    platform = Platform(dev_env.client, db, task_queue, id_prefix=f"{task_queue}/")
    app = create_app(settings, platform)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    async with build_worker(dev_env.client, db, task_queue, threads=16, settings=settings):
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.02)
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            yield Served(app, settings, platform, base_url, http)
        server.should_exit = True
        await serving
        await terminate_processes(dev_env.client, db)


@pytest_asyncio.fixture
async def stack(dev_env: WorkflowEnvironment, db: Database) -> AsyncIterator[Stack]:
    async with serve_stack(dev_env, db, "e2e") as served:
        yield Stack(http=served.http, db=db, platform=served.platform)
    assert_books_reconcile(db)  # whatever the test did, and left mid-flight
