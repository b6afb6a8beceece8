"""`valueloop backup` of a running installation half-way through 50 mixed processes (expense claims, purchase
requisitions, leave requests), while approvals are being decided; the original goes on to the end; the backup is
restored into a new data dir (and, on PostgreSQL, a new database) and `up` starts from it: every process resumes and
completes there, each effect exists once, the books reconcile. And what backup and restore refuse: a missing data
dir or database, a non-empty target, a damaged backup, a PostgreSQL URL for a SQLite backup."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

import backup as ops
from domain.accounting.tables import JournalEntry
from domain.approvals.tables import Task
from domain.core.db import Database
from domain.expenses.tables import ExpenseClaim
from domain.forms import services as forms
from domain.forms.request_tables import FormRequest
from domain.inventory.tables import StockLedgerEntry
from domain.processes.tables import Process
from domain.purchasing.tables import GoodsReceipt, PurchaseOrder
from tests.e2e.conftest import free_port
from tests.faults.test_up_kill import Api, Up, _free
from tests.helpers import assert_books_reconcile

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("DATABASE_URL", "")
USE_PG = PG_URL.startswith("postgres")
TODAY = datetime.now(UTC).date()
LEAVE_DAY = max(TODAY, min(TODAY + timedelta(days=3), date(TODAY.year, 12, 31)))
CLAIMS, REQUISITIONS, LEAVES = 17, 17, 16  # 50 processes
APPROVERS = ("frank", "grace", "heidi", "carol", "alice", "bob", "tom")


class UpOn(Up):
    """`valueloop up` on a data dir, with DATABASE_URL set when the installation keeps its domain on PostgreSQL."""

    def __init__(self, data: Path, port: int, tport: int, database_url: str | None):
        super().__init__(data, port, tport)
        self.database_url = database_url

    def start(self, demo: bool) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        with open(self.data / "up.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli", "up", *(["--demo"] if demo else []), "--port", str(self.port),
                 "--temporal-port", str(self.tport), "--data-dir", str(self.data)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def cli(*args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@contextlib.contextmanager
def pg_databases(n: int) -> Iterator[list[str | None]]:
    """On PostgreSQL, `n` new empty databases (dropped after); on SQLite, n × None (the data dir's file)."""
    if not USE_PG:
        yield [None] * n
        return
    base = PG_URL.replace("postgres://", "postgresql://", 1)
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    names = [f"vl_backup_{uuid.uuid4().hex[:10]}" for _ in range(n)]
    try:
        with admin.connect() as c:
            for name in names:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        yield [base.rsplit("/", 1)[0] + "/" + name for name in names]
    finally:
        with admin.connect() as c:
            for name in names:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def ports() -> tuple[int, int]:
    port, tport = free_port(), free_port()
    while not (0 < tport + 1000 < 65535) or not _free(tport + 1000):
        tport = free_port()
    return port, tport


class Run:
    """The 50 processes by business key, and what drives each to its end."""

    def __init__(self) -> None:
        self.claims: list[str] = []
        self.requisitions: list[str] = []
        self.leaves: list[str] = []

    @property
    def keys(self) -> set[str]:
        return {*self.claims, *self.requisitions, *self.leaves}

    async def start(self, api: Api) -> None:
        sem = asyncio.Semaphore(8)

        async def post(who: str, url: str, body: dict[str, Any], key: str, into: list[str]) -> None:
            async with sem:
                r = await api(who, "POST", url, json=body)
            assert r.status_code == 201, r.text
            into.append(r.json()[key])

        await asyncio.gather(
            *(post("erin", "/api/expense-claims", {"lines": [
                {"category": "travel", "amount": str(100 + i), "currency": "USD", "date": "2026-11-02",
                 "description": f"backup test {i}"}]}, "claim_id", self.claims) for i in range(CLAIMS)),
            *(post("dave", "/api/purchase-requisitions", {"lines": [
                {"sku": "MOTOR-200W", "qty": 2 + i % 3, "est_unit_price": "200"}],
                "justification": f"backup test {i}"}, "requisition_id", self.requisitions) for i in range(REQUISITIONS)),
            *(post("erin", "/api/requests", {"form": "leave", "values": {
                "leave_type": "annual", "from": LEAVE_DAY.isoformat(), "to": LEAVE_DAY.isoformat(), "days": "0.5",
                "deputy": "grace"}}, "request_id", self.leaves) for _ in range(LEAVES)))

    async def step(self, api: Api, db: Database, only: set[str] | None = None) -> bool:
        """One round of what people do next: decide the open approvals, pay approved claims, receive ordered
        requisitions' goods. True once every process of the run (or of `only`) is completed."""
        keys = only or self.keys
        with db.read() as s:
            procs = {p.business_key: p for p in s.execute(select(Process).where(Process.business_key.in_(keys)))
                     .scalars()}
            tasks = list(s.execute(select(Task).where(Task.business_key.in_(keys), Task.status == "open",
                                                      Task.kind == "approval")).scalars())
            approved = list(s.execute(select(ExpenseClaim.number).where(
                ExpenseClaim.number.in_(keys), ExpenseClaim.status == "approved")).scalars())
            ordered = list(s.execute(select(PurchaseOrder).where(
                PurchaseOrder.requisition_number.in_(keys), PurchaseOrder.status.in_(("open", "partially_received"))))
                .scalars())
        if len(procs) == len(keys) and all(p.status == "completed" for p in procs.values()):
            return True
        for task in tasks:
            for who in ([task.candidate_user] if task.candidate_user else APPROVERS):
                r = await api(who, "POST", f"/api/tasks/{task.id}/complete", json={"decision": "approve"})
                if r.status_code == 200:
                    break
                assert r.status_code in (403, 404, 409), r.text  # not theirs (or decided meanwhile)
        for number in approved:
            r = await api("grace", "POST", f"/api/expense-claims/{number}/pay")
            assert r.status_code in (200, 409), r.text
        for po in ordered:
            r = await api("ivan", "GET", f"/api/purchase-orders/{po.number}")
            lines = [{"sku": ln["sku"], "qty": str(Decimal(ln["qty"]) - Decimal(ln["received_qty"]))}
                     for ln in r.json()["lines"] if Decimal(ln["qty"]) > Decimal(ln["received_qty"])]
            if lines:
                r = await api("ivan", "POST", f"/api/purchase-orders/{po.number}/receipts", json={"lines": lines})
                assert r.status_code in (201, 409), r.text
        return False

    async def finish(self, api: Api, db: Database, limit: float, only: set[str] | None = None) -> None:
        deadline = time.monotonic() + limit
        while not await self.step(api, db, only):
            with db.read() as s:
                left = s.execute(select(Process.business_key, Process.status, Process.stage).where(
                    Process.business_key.in_(only or self.keys), Process.status != "completed")).all()
            assert time.monotonic() < deadline, f"not completed after {limit} s: {left}"
            await asyncio.sleep(0.3)

    def assert_each_effect_once(self, db: Database, leave_taken_before: Decimal) -> None:
        with db.read() as s:
            status = dict(s.execute(select(Process.business_key, Process.status).where(
                Process.business_key.in_(self.keys))).all())
            assert status == dict.fromkeys(self.keys, "completed")
            # a claim: its accrual on approval and its payment, each one journal entry
            per_claim = dict(s.execute(select(JournalEntry.voucher_no, func.count()).where(
                JournalEntry.voucher_no.in_(self.claims)).group_by(JournalEntry.voucher_no)).all())
            assert per_claim == dict.fromkeys(self.claims, 2), per_claim
            assert s.execute(select(func.count()).select_from(ExpenseClaim).where(
                ExpenseClaim.number.in_(self.claims), ExpenseClaim.status == "paid")).scalar_one() == CLAIMS
            # a requisition: one purchase order, received once (one stock entry per PO line, its qty)
            pos = list(s.execute(select(PurchaseOrder).where(PurchaseOrder.requisition_number.in_(self.requisitions)))
                       .scalars())
            assert sorted(p.requisition_number for p in pos) == sorted(self.requisitions)
            assert all(p.status == "received" for p in pos)
            receipts = list(s.execute(select(GoodsReceipt).where(GoodsReceipt.po_id.in_([p.id for p in pos])))
                            .scalars())
            assert sorted(r.po_id for r in receipts) == sorted(p.id for p in pos)  # one receipt each
            moved = dict(s.execute(select(StockLedgerEntry.voucher_no, func.sum(StockLedgerEntry.qty)).where(
                StockLedgerEntry.voucher_no.in_([r.number for r in receipts])).group_by(StockLedgerEntry.voucher_no))
                         .all())
            ordered = {p.id: sum(ln.qty for ln in p.lines) for p in pos}
            assert {k: Decimal(v) for k, v in moved.items()} == {r.number: ordered[r.po_id] for r in receipts}
            # a leave: approved, its half day off the balance once
            assert s.execute(select(func.count()).select_from(FormRequest).where(
                FormRequest.number.in_(self.leaves), FormRequest.status == "approved")).scalar_one() == LEAVES
            balance = forms.leave_balance(s, "erin", LEAVE_DAY.year)
            assert balance is not None and balance.days_taken == leave_taken_before + Decimal("0.5") * LEAVES
        assert_books_reconcile(db)


def damage(backup: Path, to: Path) -> Path:
    """A copy of `backup` with one byte of Temporal's store changed."""
    shutil.copytree(backup, to)
    with open(to / "temporal.db", "r+b") as f:
        f.seek(200)
        f.write(b"\xff")
    return to


async def redelivered(tport: int, db: Database, keys: set[str]) -> int:
    """How many activities of these processes (and their approvals) ran on a second attempt or later: those in
    flight at the snapshot, dispatched again on the copy (informative; whether the snapshot caught one is timing)."""
    from temporalio.client import Client

    with db.read() as s:
        ids = {*s.execute(select(Process.process_id).where(Process.business_key.in_(keys))).scalars(),
               *s.execute(select(Task.workflow_id).where(Task.business_key.in_(keys), Task.kind == "approval")).scalars()}
    client = await Client.connect(f"127.0.0.1:{tport}")
    again = 0
    for wf in ids:
        async for e in client.get_workflow_handle(wf).fetch_history_events():
            if e.HasField("activity_task_started_event_attributes"):
                again += e.activity_task_started_event_attributes.attempt > 1
    return again


def leave_taken(db: Database) -> Decimal:
    with db.read() as s:
        row = forms.leave_balance(s, "erin", LEAVE_DAY.year)
        return Decimal(0) if row is None else row.days_taken


async def test_backup_while_running_then_restore_completes_every_process_once(tmp_path: Path) -> None:
    t0 = time.monotonic()

    def mark(what: str) -> None:
        print(f"{time.monotonic() - t0:6.1f} s  {what}", flush=True)

    with pg_databases(2) as (url_a, url_b):
        port, tport = ports()
        data_a, data_b, bk = tmp_path / "a", tmp_path / "b", tmp_path / "backup"
        data_a.mkdir()
        up = UpOn(data_a, port, tport, url_a)
        db_a = Database(url_a or f"sqlite:///{data_a}/valueloop.db")
        run = Run()
        try:
            up.start(demo=True)
            await up.healthy()
            mark("up")
            before_leave = leave_taken(db_a)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                api = Api(http)
                await run.start(api)
                assert len(run.keys) == 50
                mark("50 started")

                async def tasked() -> bool:
                    with db_a.read() as s:
                        return int(s.execute(select(func.count()).select_from(Task).where(
                            Task.business_key.in_(run.keys), Task.kind == "approval")).scalar_one()) == 50

                deadline = time.monotonic() + 60
                while not await tasked():
                    assert time.monotonic() < deadline, "the approval tasks never all appeared"
                    await asyncio.sleep(0.2)
                mark("50 tasks")
                # half-way: a third of each kind driven to its end (approved, then paid or received) ...
                first = {*run.claims[:6], *run.requisitions[:6], *run.leaves[:5]}
                await run.finish(api, db_a, limit=60, only=first)
                # ... and the backup taken while the next third is being approved (their activities in flight)
                second = {*run.claims[6:12], *run.requisitions[6:12], *run.leaves[5:10]}
                deciding = asyncio.create_task(run.step(api, db_a, only=second))
                await asyncio.sleep(0.3)
                # (the command's code, in a thread of this process: started at once, not after an interpreter's
                # start-up, so the snapshot falls amid those decisions)
                await asyncio.to_thread(ops.backup, data_a, bk, url_a)
                await deciding
                mark("backup")
                manifest = json.loads((bk / "manifest.json").read_text())
                assert len(manifest["held"]["pids"]) == 2  # up's API and its worker, held for the snapshot
                assert manifest["database"]["kind"] == ("postgresql" if USE_PG else "sqlite")
                assert manifest["database"]["alembic_revision"]
                # the original goes on to the end (while the backup is restored into a new data dir)
                restoring = asyncio.create_task(asyncio.to_thread(
                    cli, "restore", "--from", str(bk), "--data-dir", str(data_b), "--database-url", url_b or ""))
                await run.finish(api, db_a, limit=60)
                restored = await restoring
                assert restored.returncode == 0, restored.stdout + restored.stderr
                mark("original finished")
            run.assert_each_effect_once(db_a, before_leave)
        finally:
            up.stop()
            db_a.dispose()
        assert not (data_a / "valueloop.pid").exists()  # a clean stop takes the pid file with it
        t_original = time.monotonic() - t0

        up = UpOn(data_b, port, tport, url_b)
        db_b = Database(url_b or f"sqlite:///{data_b}/valueloop.db")
        try:
            up.start(demo=False)
            await up.healthy()
            mark("restored up")
            with db_b.read() as s:  # the copy is of half-way: some processes still wait
                open_ = s.execute(select(func.count()).select_from(Process).where(
                    Process.business_key.in_(run.keys), Process.status != "completed")).scalar_one()
                done = set(s.execute(select(Process.business_key).where(
                    Process.business_key.in_(run.keys), Process.status == "completed")).scalars())
            assert first <= done and open_ >= 28, (open_, done)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                # activities that were in flight at the snapshot are dispatched again after their timeout (30 s)
                await run.finish(Api(http), db_b, limit=75)
            mark("restored finished")
            run.assert_each_effect_once(db_b, before_leave)
            print(f"activities run again on the copy: {await redelivered(tport, db_b, run.keys)}")
        finally:
            up.stop()
            db_b.dispose()
    print(f"backup/restore: original {t_original:.1f} s, total {time.monotonic() - t0:.1f} s, "
          f"held {manifest['held']['ms']} ms")


def here(*args: str) -> subprocess.CompletedProcess[str]:
    """The `valueloop` command in this process (as `cli` runs it in a process of its own, without its start-up)."""
    from typer.testing import CliRunner

    import cli as valueloop

    result = CliRunner().invoke(valueloop.app, list(args), env={"DATABASE_URL": None, "ATTACHMENTS_DIR": None})
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def small_installation(data: Path) -> list[sqlite3.Connection]:
    """A data dir as a running `up` has it, in miniature: both SQLite stores in WAL mode, their last commits still
    only in the -wal file beside each (the connections returned stay open, so nothing checkpoints them), an
    attachment and the secret key."""
    data.mkdir()
    open_ = []
    for name, table in (("valueloop.db", "alembic_version"), ("temporal.db", "executions")):
        con = sqlite3.connect(data / name)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA wal_autocheckpoint=0")
        con.execute(f"CREATE TABLE {table} (version_num TEXT)")
        con.execute(f"INSERT INTO {table} VALUES ('0013')")
        con.commit()
        assert (data / f"{name}-wal").stat().st_size > 0
        open_.append(con)
    (data / "attachments" / "ab").mkdir(parents=True)
    (data / "attachments" / "ab" / "abcdef").write_bytes(b"%PDF-1.4 an invoice")
    (data / "secret.key").write_text("k" * 48)
    return open_


def test_backup_and_restore_refuse_what_they_cannot_do_safely(tmp_path: Path) -> None:
    data, bk = tmp_path / "data", tmp_path / "bk"
    live = small_installation(data)
    out = here("backup", "--data-dir", str(tmp_path / "nothing"), "--to", str(bk))
    assert out.returncode == 1 and "there is no data dir" in out.stderr, out.stderr
    (tmp_path / "empty").mkdir()
    out = here("backup", "--data-dir", str(tmp_path / "empty"), "--to", str(bk))
    assert out.returncode == 1 and "has no database" in out.stderr, out.stderr
    assert not bk.exists()

    out = here("backup", "--data-dir", str(data), "--to", str(bk))
    assert out.returncode == 0, out.stderr
    for con in live:
        con.close()
    assert "nothing was held" in out.stdout  # no `up` runs on it
    manifest = json.loads((bk / "manifest.json").read_text())
    assert sorted(manifest["files"]) == ["attachments/ab/abcdef", "secret.key", "temporal.db", "valueloop.db"]
    assert manifest["database"] == {"kind": "sqlite", "file": "valueloop.db", "alembic_revision": "0013"}
    # the copies hold what was only in the -wal files, and stand alone (no -wal beside them)
    for name, table in (("valueloop.db", "alembic_version"), ("temporal.db", "executions")):
        con = sqlite3.connect(bk / name)
        assert con.execute(f"SELECT version_num FROM {table}").fetchall() == [("0013",)]
        assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        con.close()
    out = here("backup", "--data-dir", str(data), "--to", str(bk))
    assert out.returncode == 1 and "is not empty" in out.stderr, out.stderr

    damaged = damage(bk, tmp_path / "damaged")
    out = here("restore", "--from", str(damaged), "--data-dir", str(tmp_path / "new"))
    assert out.returncode == 1 and "temporal.db in the backup is damaged" in out.stderr, out.stderr
    assert not (tmp_path / "new").exists()
    (damaged / "manifest.json").unlink()
    out = here("restore", "--from", str(damaged), "--data-dir", str(tmp_path / "new"))
    assert out.returncode == 1 and "holds no backup" in out.stderr, out.stderr
    out = here("restore", "--from", str(bk), "--data-dir", str(data))
    assert out.returncode == 1 and "is not empty" in out.stderr, out.stderr
    out = here("restore", "--from", str(bk), "--data-dir", str(tmp_path / "new"), "--database-url",
              "postgresql://postgres@127.0.0.1:5432/test")
    assert out.returncode == 1 and "is SQLite" in out.stderr, out.stderr

    out = here("restore", "--from", str(bk), "--data-dir", str(tmp_path / "new"))
    assert out.returncode == 0, out.stderr
    restored = sorted(p.relative_to(tmp_path / "new").as_posix() for p in (tmp_path / "new").rglob("*") if p.is_file())
    assert restored == ["attachments/ab/abcdef", "secret.key", "temporal.db", "valueloop.db"]
    assert (tmp_path / "new" / "attachments" / "ab" / "abcdef").read_bytes() == b"%PDF-1.4 an invoice"
    assert (tmp_path / "new" / "secret.key").stat().st_mode & 0o777 == 0o600
