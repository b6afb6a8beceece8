"""Fixtures of the fault tests: a worker process that dies by SIGKILL mid-activity, and the worker that
takes over."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

import workflows.common
from api.platform import Platform
from domain.core.db import Database
from tests.conftest import terminate_processes
from tests.helpers import assert_books_reconcile
from worker import build_worker

ROOT = Path(__file__).resolve().parents[2]
# Test-only: the house start-to-close timeout (30 s, workflows/common.py) shortened in both workers, so the
# activity a killed worker held is dispatched again after this long instead of half a minute.
SHORT_TIMEOUT = timedelta(seconds=4)


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the process group `proc` leads (it was started in a session of its own) and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


class Faults:
    """One test's crash: a crashing worker process, its kill, and the normal worker that recovers."""

    def __init__(self, env: WorkflowEnvironment, db: Database, task_queue: str, tmp: Path, short: bool):
        self.env, self.db, self.task_queue, self.tmp, self.short = env, db, task_queue, tmp, short
        self.platform = Platform(env.client, db, task_queue, id_prefix=f"{task_queue}/")
        self.proc: subprocess.Popen[bytes] | None = None
        self.marker = tmp / "crashed.json"
        self.log = tmp / "crashing_worker.log"
        self.stack = contextlib.AsyncExitStack()

    async def start_crashing(self, activity: str, match: str = "") -> None:
        """The real worker in a process of its own, `activity` wrapped to hang once it committed (on its first
        call whose arguments contain `match`)."""
        env = {**os.environ, "FAULT_ACTIVITY": activity, "FAULT_MATCH": match, "FAULT_MARKER": str(self.marker),
               "FAULT_DATABASE_URL": self.db.url, "FAULT_DB_SCHEMA": self.db.schema or "",
               "FAULT_TEMPORAL": self.env.client.service_client.config.target_host,
               "FAULT_NAMESPACE": self.env.client.namespace, "FAULT_TASK_QUEUE": self.task_queue,
               "FAULT_ACTIVITY_TIMEOUT": str(SHORT_TIMEOUT.total_seconds()) if self.short else ""}
        self.proc = self._spawn(env)
        ready = Path(str(self.marker) + ".ready")
        await self._wait(lambda: ready.exists(), 60, "the crashing worker never started")

    def _spawn(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.log, "wb") as log:
            return subprocess.Popen([sys.executable, "-m", "tests.faults.crashing_worker"], cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    async def _wait(self, cond: Any, limit: float, what: str) -> None:
        deadline = asyncio.get_running_loop().time() + limit
        while not cond():
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"the crashing worker exited ({self.proc.returncode}):\n{self.log.read_text()}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{what}:\n{self.log.read_text()}")
            await asyncio.sleep(0.05)

    async def kill_after_commit(self, limit: float = 60) -> dict[str, Any]:
        """Wait until the wrapped activity committed its effect (the marker), then kill -9 the worker
        process. Returns what the marker says (activity, attempt, workflow id, arguments)."""
        await self._wait(self.marker.exists, limit, "the wrapped activity never ran")
        assert self.proc is not None
        kill_group(self.proc)
        assert self.proc.returncode == -signal.SIGKILL
        crashed: dict[str, Any] = json.loads(self.marker.read_text())
        return crashed

    async def assert_redelivered(self) -> None:
        """The killed attempt's activity completed in the history on a later attempt: Temporal dispatched it
        again after the timeout, and the answer came from the recovering worker."""
        crashed = json.loads(self.marker.read_text())
        scheduled: set[int] = set()
        attempts = []
        async for e in self.env.client.get_workflow_handle(crashed["workflow_id"]).fetch_history_events():
            if e.HasField("activity_task_scheduled_event_attributes"):
                if e.activity_task_scheduled_event_attributes.activity_type.name == crashed["activity"]:
                    scheduled.add(e.event_id)
            elif (e.HasField("activity_task_started_event_attributes")
                  and e.activity_task_started_event_attributes.scheduled_event_id in scheduled):
                attempts.append(e.activity_task_started_event_attributes.attempt)
        assert crashed["attempt"] == 1 and max(attempts, default=0) >= 2, (crashed, attempts)

    async def recover(self) -> None:
        """A normal worker (in this process) on the same task queue and database, until the test ends."""
        await self.stack.enter_async_context(build_worker(self.env.client, self.db, self.task_queue, threads=8))

    async def close(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)
        try:
            await terminate_processes(self.env.client, self.db)
        finally:
            await self.stack.aclose()


@pytest_asyncio.fixture
async def faults(dev_env: WorkflowEnvironment, db: Database, task_queue: str, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Faults]:
    """Short activity timeouts (the default run)."""
    monkeypatch.setattr(workflows.common, "ACTIVITY_TIMEOUT", SHORT_TIMEOUT)
    f = Faults(dev_env, db, task_queue, tmp_path, short=True)
    try:
        yield f
    finally:
        await f.close()
    assert_books_reconcile(db)  # each effect once: the books hold after the crash and the recovery


@pytest_asyncio.fixture
async def faults_real_timeout(dev_env: WorkflowEnvironment, db: Database, task_queue: str, tmp_path: Path
                              ) -> AsyncIterator[Faults]:
    """The house activity timeout, unchanged (the `slow` variant)."""
    f = Faults(dev_env, db, task_queue, tmp_path, short=False)
    try:
        yield f
    finally:
        await f.close()
    assert_books_reconcile(db)
