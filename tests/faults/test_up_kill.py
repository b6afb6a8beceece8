"""kill -9 of the whole `valueloop up` (its process group, and the Temporal dev server it started) and a
restart on the same data dir: the processes waiting on people and on timers are still there and resume; the
inbox shows the same tasks; nothing was duplicated; a task approved after the restart completes its process, and
the demo history's invoice collections (started by `up --demo`, waiting on payments) end when paid after it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.accounting.tables import JournalEntry
from domain.approvals.tables import Task, TaskEvent
from domain.core.db import Database
from domain.core.tables import IdempotencyRecord
from domain.inventory.tables import StockLedgerEntry
from domain.parties.tables import Customer
from domain.processes.tables import Process
from domain.production.tables import ProductionOrder
from domain.purchasing.tables import PurchaseOrder
from domain.sales import services as sales_svc
from domain.sales.tables import SalesOrder
from tests.e2e.conftest import free_port
from tests.faults.conftest import kill_group
from tests.helpers import assert_books_reconcile

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
COUNTED = (Task, TaskEvent, JournalEntry, StockLedgerEntry, PurchaseOrder, SalesOrder, ProductionOrder, Process,
           IdempotencyRecord)


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Up:
    """`valueloop up` in a session of its own, on fixed ports and one data dir."""

    def __init__(self, data: Path, port: int, tport: int):
        self.data, self.port, self.tport = data, port, tport
        self.proc: subprocess.Popen[bytes] | None = None
        self.temporal: list[int] = []

    def start(self, demo: bool) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        with open(self.data / "up.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli", "up", *(["--demo"] if demo else []), "--port", str(self.port),
                 "--temporal-port", str(self.tport), "--data-dir", str(self.data)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    async def healthy(self, limit: float = 90) -> None:
        deadline = time.monotonic() + limit
        async with httpx.AsyncClient(timeout=3) as http:
            while time.monotonic() < deadline:
                assert self.proc is not None and self.proc.poll() is None, (self.data / "up.log").read_text()
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200:
                        self.temporal = [c for c in children(self.proc.pid) if os.getpgid(c) != self.proc.pid]
                        return
                await asyncio.sleep(0.3)
        raise AssertionError("valueloop up never became healthy:\n" + (self.data / "up.log").read_text())

    def kill9(self) -> None:
        """SIGKILL to up's process group (up, the worker) and to the Temporal server (a session of its own)."""
        assert self.proc is not None
        group = [c for c in children(self.proc.pid) if os.getpgid(c) == self.proc.pid]
        for pid in self.temporal:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        kill_group(self.proc)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in [*self.temporal, *group]):
            assert time.monotonic() < deadline, "a killed process lives on"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()
        for pid in self.temporal:  # after SIGTERM up stops it; after a kill it was killed too
            with contextlib.suppress(ProcessLookupError):
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


def _free(port: int) -> bool:
    import socket
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return {m.__tablename__: s.execute(select(func.count()).select_from(m)).scalar_one() for m in COUNTED}


async def open_timers(client: Client, workflow_id: str) -> set[str]:
    """Timers the workflow started that have neither fired nor been cancelled."""
    started, ended = set(), set()
    async for e in client.get_workflow_handle(workflow_id).fetch_history_events():
        if e.HasField("timer_started_event_attributes"):
            started.add(e.timer_started_event_attributes.timer_id)
        elif e.HasField("timer_fired_event_attributes"):
            ended.add(e.timer_fired_event_attributes.timer_id)
        elif e.HasField("timer_canceled_event_attributes"):
            ended.add(e.timer_canceled_event_attributes.timer_id)
    return started - ended


class Api:
    def __init__(self, http: httpx.AsyncClient):
        self.http, self.tokens = http, {}  # type: ignore[var-annotated]

    async def __call__(self, who: str, method: str, url: str, **kw: Any) -> httpx.Response:
        if who not in self.tokens:
            r = await self.http.post("/api/auth/token", data={"username": who, "password": "demo"})
            assert r.status_code == 200, r.text
            self.tokens[who] = r.json()["access_token"]
        return await self.http.request(method, url, headers={"Authorization": f"Bearer {self.tokens[who]}"}, **kw)

    async def inbox(self, who: str) -> list[dict[str, Any]]:
        r = await self(who, "GET", "/api/tasks")
        assert r.status_code == 200, r.text
        return sorted(r.json(), key=lambda t: t["id"])


async def until(fn: Any, limit: float = 30) -> Any:
    deadline = time.monotonic() + limit
    while not (out := await fn()):
        assert time.monotonic() < deadline, f"not so after {limit} s"
        await asyncio.sleep(0.2)
    return out


async def test_kill9_of_up_and_restart_resumes_every_process_once(tmp_path):
    port, tport = free_port(), free_port()
    while not (0 < tport + 1000 < 65535) or not _free(tport + 1000):
        tport = free_port()
    up = Up(tmp_path, port, tport)
    db = Database(f"sqlite:///{tmp_path}/valueloop.db")
    try:
        up.start(demo=True)
        await up.healthy()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            api = Api(http)
            # waiting on a person (and the approval's SLA timer): an expense claim and a purchase requisition
            r = await api("erin", "POST", "/api/expense-claims", json={"lines": [
                {"category": "travel", "amount": "500", "currency": "USD", "date": "2026-11-02",
                 "description": "fault test"}]})
            assert r.status_code == 201, r.text
            claim = r.json()
            r = await api("dave", "POST", "/api/purchase-requisitions", json={
                "lines": [{"sku": "MOTOR-200W", "qty": 10, "est_unit_price": "200"}], "justification": "fault test"})
            assert r.status_code == 201, r.text
            req = r.json()
            # waiting on the shop floor and on timers: 6 fans, 5 on hand, one made (released, in production)
            with db.read() as s:
                globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
            r = await api("alice", "POST", "/api/sales-orders", json={
                "customer_id": globex, "lines": [{"sku": "FAN-200", "qty": 6, "unit_price": "450"}]})
            assert r.status_code == 201, r.text
            so = r.json()

            async def settled() -> bool:
                keys = {t["business_key"] for t in await api.inbox("frank")}
                with db.read() as s:
                    mo = s.execute(select(ProductionOrder.status)).scalars().all()
                    reminded = set(s.execute(select(Task.process_id).where(  # the demo's two overdue invoices
                        Task.status == "open", Task.kind == "alert")).scalars())
                return ({claim["claim_id"], req["requisition_id"]} <= keys and list(mo) == ["released"]
                        and len(reminded) == 2)
            await until(settled)
            await asyncio.sleep(1)  # let the last activities' answers land
            inbox = {w: await api.inbox(w) for w in ("frank", "carol", "erin", "dave")}
            before = counts(db)
            with db.read() as s:
                waiting = {p.process_id: p.type for p in s.execute(select(Process).where(Process.status == "running"))
                           .scalars()}
                # Approval tasks each belong to an Approval workflow; an alert (the demo's dunning reminders, under
                # `invoice-…:dunning-N`) belongs to its process and has no workflow of its own.
                approvals = {t.id: t.workflow_id for t in s.execute(select(Task).where(
                    Task.status == "open", Task.kind == "approval")).scalars()}
                alerts = {t.id: t.process_id for t in s.execute(select(Task).where(
                    Task.status == "open", Task.kind != "approval")).scalars()}
            assert {"expense_claim", "purchase", "sales_order", "production_order", "customer_invoice"} <= set(
                waiting.values())
            collections = sorted(p for p, t in waiting.items() if t == "customer_invoice")
            assert len(collections) == 2 and set(alerts.values()) == set(collections)  # overdue: reminded
            client = await Client.connect(f"127.0.0.1:{tport}", data_converter=pydantic_data_converter)
            timers = {wf: await open_timers(client, wf) for wf in [*waiting, *approvals.values()]}
            assert all(timers[wf] for wf in approvals.values())  # each approval step's SLA timer
            assert timers[so["process_id"]] or any(timers[p] for p, t in waiting.items() if t == "production_order")

        up.kill9()
        # The same ports at once: the killed servers' connections in TIME_WAIT must not make `up` refuse them.
        up.start(demo=False)
        await up.healthy()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            api = Api(http)
            assert {w: await api.inbox(w) for w in inbox} == inbox  # the same tasks, none new, none lost
            assert counts(db) == before
            client = await Client.connect(f"127.0.0.1:{tport}", data_converter=pydantic_data_converter)
            for wf, open_ in timers.items():  # still running, still waiting on the same timers
                handle = client.get_workflow_handle(wf)
                assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING, wf
                assert await open_timers(client, wf) == open_, wf
            # the new worker replays them: an approval answers a query from its state
            from workflows.approval import Approval
            for task_id, wf in approvals.items():
                assert (await client.get_workflow_handle(wf).query(Approval.state))["task_id"] == task_id

            # approved after the restart: the claim is paid, the requisition becomes one purchase order
            for key in (claim["claim_id"], req["requisition_id"]):
                [task] = [t for t in inbox["frank"] if t["business_key"] == key]
                r = await api("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
                assert r.status_code == 200, r.text

            async def claim_approved() -> bool:
                r = await api("erin", "GET", f"/api/expense-claims/{claim['claim_id']}")
                return bool(r.json()["status"] == "approved")
            await until(claim_approved)
            r = await api("grace", "POST", f"/api/expense-claims/{claim['claim_id']}/pay")
            assert r.status_code == 200 and r.json()["status"] == "paid", r.text

            async def ordered() -> Any:
                r = await api("dave", "GET", f"/api/purchase-requisitions/{req['requisition_id']}")
                return r.json()["purchase_order_id"] if r.json()["status"] == "ordered" else None
            await until(ordered)
            # and the production order, waiting on the shop floor through the kill, takes progress
            with db.read() as s:
                mo = s.execute(select(ProductionOrder.number)).scalar_one()
            r = await api("carol", "POST", f"/api/production-orders/{mo}/progress",
                          json={"completed_qty": 1, "labour_hours": 1})
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "completed"

            async def so_ready() -> bool:  # the finished fan arrived: the order reserves it, all 6 now
                with db.read() as s:
                    return all(ln.reserved_qty == ln.qty for ln in sales_svc.order(s, so["sales_order_id"]).lines)
            await until(so_ready)

            # the demo's invoice collections, waiting on payments through the kill, end when grace pays them
            r = await api("grace", "GET", "/api/invoices", params={"kind": "customer", "status": "open"})
            owed = [i for i in r.json() if i["process_id"] in collections]
            assert len(owed) == 2 and len({(i["party_id"], i["currency"]) for i in owed}) == 1, r.text
            r = await api("grace", "POST", "/api/payments", json={
                "direction": "in", "party_id": owed[0]["party_id"], "currency": owed[0]["currency"],
                "amount": str(sum(Decimal(i["outstanding"]) for i in owed)),
                "paid_on": datetime.now(UTC).date().isoformat(), "reference": "after the kill"})
            assert r.status_code == 201 and Decimal(r.json()["unallocated"]) == 0, r.text

            async def collected() -> bool:
                with db.read() as s:
                    done = s.execute(select(func.count()).select_from(Process).where(
                        Process.process_id.in_(collections), Process.status == "completed")).scalar_one()
                    reminding = s.execute(select(func.count()).select_from(Task).where(
                        Task.id.in_(alerts), Task.status == "open")).scalar_one()
                return done == 2 and reminding == 0
            await until(collected)
            for wf in collections:
                assert (await client.get_workflow_handle(wf).result()) == "paid"
        after = counts(db)
        with db.read() as s:
            assert s.execute(select(func.count()).select_from(PurchaseOrder)).scalar_one() == 1
            assert s.execute(select(func.count()).select_from(JournalEntry)
                             .where(JournalEntry.voucher_no == claim["claim_id"])).scalar_one() == 2
            status = {p.process_id: p.status for p in s.execute(select(Process)).scalars()}
        assert status[claim["process_id"]] == "completed"
        assert after["purchase_orders"] == before["purchase_orders"] + 1
        assert after["journal_entries"] >= before["journal_entries"] + 2
        assert_books_reconcile(db)
    finally:
        up.stop()
        db.dispose()


async def test_up_restarts_a_killed_worker_and_keeps_serving(tmp_path):
    """kill -9 of the worker alone: `up` (API, Temporal) stays up, says so, starts a new worker after its backoff,
    and a request that came in meanwhile completes; kill it twice more and it comes back each time."""
    port, tport = free_port(), free_port()
    while not (0 < tport + 1000 < 65535) or not _free(tport + 1000):
        tport = free_port()
    up = Up(tmp_path, port, tport)
    try:
        up.start(demo=True)
        await up.healthy()
        assert up.proc is not None

        def worker_pid() -> int | None:
            found = [c for c in children(up.proc.pid)  # type: ignore[union-attr]
                     if alive(c) and b"worker" in Path(f"/proc/{c}/cmdline").read_bytes()]
            return found[0] if found else None

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            api = Api(http)
            for n in range(3):
                pid = await until(lambda: asyncio.sleep(0, worker_pid()))
                os.kill(pid, signal.SIGKILL)
                r = await api("erin", "POST", "/api/expense-claims", json={"lines": [
                    {"category": "travel", "amount": "120", "currency": "USD", "date": "2026-11-02",
                     "description": f"while the worker was down {n}"}]})
                assert r.status_code == 201, r.text  # the API answered while the worker was dead
                key = r.json()["claim_id"]

                async def tasked(key: str = key) -> bool:
                    return any(t["business_key"] == key for t in await api.inbox("frank"))
                await until(tasked, limit=60)  # the restarted worker took it on
                assert up.proc.poll() is None  # `up` never stopped
                assert (await http.get("/healthz")).status_code == 200
        log = (tmp_path / "up.log").read_text()
        assert log.count("the worker exited with code -9; starting it again") == 3, log
        assert log.count("the worker is running again") == 3, log
    finally:
        up.stop()
