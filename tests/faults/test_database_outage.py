"""The database goes away and comes back (PostgreSQL): a tiny TCP proxy between the app/worker and the server
is cut and restored. While it is cut /healthz answers 503 naming the database, and a process's activity fails
and is retried with backoff; once it is back the process continues and completes, each effect once.

On SQLite there is no connection to lose: the database is a file the process holds, so the honest analogue of
"the database server is unreachable" does not exist (a locked file blocks writers only, and WAL readers go on,
so /healthz would rightly stay 200). The test is skipped there."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.platform import Platform
from api.starters import expense_claim
from domain.accounting.tables import JournalEntry
from domain.approvals import rules as approval_rules
from domain.approvals.tables import Task, TaskEvent
from domain.core.db import Database
from domain.expenses.tables import ExpenseClaim
from settings import Settings
from tests.conftest import PG_URL, USE_PG, terminate_processes
from tests.e2e.conftest import free_port
from tests.helpers import actor, assert_books_reconcile, claim_lines, open_task_for
from worker import build_worker
from workflows.approval import Approval

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    not USE_PG, reason="needs PostgreSQL (DATABASE_URL=postgresql://…): SQLite is a file in the process, there "
                       "is no connection to cut")]


class Proxy:
    """127.0.0.1:<port> → target, byte for byte; `cut()` closes the port and drops every connection,
    `restore()` listens again on the same port."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.transports: set[asyncio.BaseTransport] = set()

    async def restore(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for t in list(self.transports):
            t.abort()
        self.transports.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.transports |= {writer.transport, up_writer.transport}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                w.transport.abort()
                self.transports.discard(w.transport)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest_asyncio.fixture
async def proxied(dev_env: WorkflowEnvironment, db: Database) -> AsyncIterator[tuple[Proxy, Database, Platform,
                                                                                      httpx.AsyncClient]]:
    """The app and a worker whose database connections go through the proxy (same schema as `db`)."""
    url = make_url(PG_URL.replace("postgres://", "postgresql://", 1))
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.restore()
    via = Database(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
                   schema=db.schema)
    task_queue = f"faults-{uuid.uuid4()}"
    platform = Platform(dev_env.client, via, task_queue, id_prefix=f"{task_queue}/")
    app = create_app(Settings(database_url=via.url, task_queue=task_queue, secret_key=uuid.uuid4().hex), platform)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    try:
        async with build_worker(dev_env.client, via, task_queue, threads=8):
            serving = asyncio.create_task(server.serve())
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
                await asyncio.sleep(0.02)
            try:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                    yield proxy, via, platform, http
            finally:
                if proxy.server is None or not proxy.server.is_serving():
                    await proxy.restore()
                server.should_exit = True
                await serving
                await terminate_processes(dev_env.client, db)
    finally:
        with contextlib.suppress(Exception):
            proxy.cut()
        via.dispose()
    assert_books_reconcile(db)  # the outage lost or doubled no effect


def count(db: Database, model: type, *where: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


async def pending_attempts(handle: WorkflowHandle[Any, Any]) -> tuple[int, str]:
    d = await handle.describe()
    acts = d.raw_description.pending_activities
    if not acts:
        return 0, ""
    return acts[0].attempt, acts[0].last_failure.message


async def test_database_outage_fails_health_retries_activities_and_resumes(proxied, db: Database):
    proxy, _via, platform, http = proxied
    assert (await http.get("/healthz")).json()["database"] == "ok"
    claim = await expense_claim.submit(platform, "erin", claim_lines("500"))
    number = claim["claim_id"]
    task = await open_task_for(db, number)

    proxy.cut()
    r = await http.get("/healthz")
    assert r.status_code == 503, r.text
    assert r.json()["status"] == "unavailable" and r.json()["database"].startswith("error")
    assert r.json()["temporal"] == "ok"
    # frank decides while the database is away: the decision's activity fails and is retried
    handle = platform.client.get_workflow_handle(task.workflow_id)
    deciding = asyncio.create_task(handle.execute_update(Approval.decide, approval_rules.DecideCommand(
        task_id=task.id, actor=actor(db, "frank"), decision="approve", comment="during the outage")))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        seen: list[int] = []
        while (attempt := (await pending_attempts(handle))[0]) < 4:
            assert loop.time() < deadline, f"the activity was not retried: attempts {seen}"
            seen.append(attempt)
            await asyncio.sleep(0.1)
        _, failure = await pending_attempts(handle)
        # the reason, short enough for Temporal to keep it (the whole SQL error went over its failure size limit
        # and the monitor could only say "Failure exceeds size limit")
        assert failure.startswith("database error: ") and "size limit" not in failure, failure
        assert not deciding.done()
        # nothing was recorded meanwhile
        assert count(db, TaskEvent, TaskEvent.task_id == task.id, TaskEvent.event == "decided") == 0
        assert (await http.get("/healthz")).status_code == 503

        await proxy.restore()
        record = await asyncio.wait_for(deciding, 60)  # the next retry (backoff ≤ 30 s) gets through
        assert record.decided_by == "frank"
    finally:
        deciding.cancel()
    r = await http.get("/healthz")
    assert r.status_code == 200 and r.json()["database"] == "ok"

    async def approved() -> bool:
        with db.read() as s:
            return s.execute(select(ExpenseClaim.status).where(ExpenseClaim.number == number)).scalar_one() \
                == "approved"
    for _ in range(300):
        if await approved():
            break
        await asyncio.sleep(0.1)
    assert await expense_claim.pay(platform, actor(db, "grace"), number) == "paid"
    assert count(db, TaskEvent, TaskEvent.task_id == task.id, TaskEvent.event == "decided") == 1
    assert count(db, Task, Task.business_key == number, Task.kind != "pay") == 1  # the approval, once (finance has its Pay task)
    assert count(db, JournalEntry, JournalEntry.voucher_no == number) == 2  # the accrual and the payment, once
