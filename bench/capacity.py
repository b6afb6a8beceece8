"""Capacity (issue 21, item 4): what one mixed process costs the machines that run it, as inputs to the README's
capacity model.

Stack, as `valueloop api` and `valueloop worker` run in a deployment: the Temporal dev server with its state in a
SQLite file in WAL mode, the domain database (the demo company) in a SQLite file, or, with DATABASE_URL set to
PostgreSQL, in a database of this run's own on that server (created, then dropped); the API in a process of its
own (`python -m cli api`), and one or two worker processes (bench.worker_proc, as the soak runs them). The
clients (bench/soak.py's Ours flows, the soak's mix of 20: 8 expense claims paid, 3 rejected, 3 + 3
requisitions ordered and received, 3 lead-to-order runs to the delivered order) run in this process, so the
CPU counted below is the servers' alone: Temporal server + API + worker(s), read from /proc per process.

Measured:
- processes per core-second, on one worker and on two worker processes: mixed flows driven to their end
  (process row completed) per CPU second of Temporal server + API + workers, in alternating phases (1 worker,
  2 workers, 1, 2, …; the second worker is started and stopped between phases), with the split by component;
- database rows per flow: every table counted before and after the measured phases (and per type, in a pass of
  `--per-type` flows of each type alone, afterwards);
- Temporal history events and history bytes (the events' protobuf size) per flow: every workflow started in
  the per-type pass, its history fetched through the client, counted per workflow type;
- database bytes per flow: the SQLite file's growth (after a WAL checkpoint), or pg_database_size on PostgreSQL;
  and the Temporal SQLite store's growth.

    python -m bench.capacity [--processes 200] [--rounds 2] [--concurrency 16] [--per-type 10] [--no-save]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table
from sqlalchemy import create_engine, text
from temporalio.client import Client

from bench.common import (
    RESULTS,
    CpuMeter,
    FlowError,
    Phase,
    _ticks,
    check,
    child_pids,
    child_role,
    console,
    drive,
    free_port,
    progress,
    save_result,
    start_dev_server,
    worker_process,
)
from bench.soak import FAN_PER_RUN, MIX, TYPES, USERS, Ours, kind, table_rows

# --- per process CPU ------------------------------------------------------------------------------------

@dataclass
class RoleCpu:
    """CPU seconds per role (temporal, api, worker) of this process's children, and of this process (clients)."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextlib.contextmanager
    def measure(self) -> Any:
        pids = {p: child_role(p) for p in child_pids()}
        before = {p: _ticks(p) for p in pids}
        me0 = _ticks(os.getpid())
        try:
            yield self
        finally:
            for p, role in pids.items():
                self.seconds[role] += (_ticks(p) - before[p]) / CpuMeter.HZ
            self.seconds["clients"] += (_ticks(os.getpid()) - me0) / CpuMeter.HZ

    @property
    def servers(self) -> float:
        return sum(v for k, v in self.seconds.items() if k in ("temporal", "api", "worker"))


# --- the stack --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def domain_database(tmp: Path) -> Any:
    """SQLite in `tmp`; with DATABASE_URL on PostgreSQL, a database of this run's own there (dropped after)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp}/valueloop.db"
        return
    name = f"capacity_{uuid.uuid4().hex[:10]}"
    admin = create_engine("postgresql+psycopg://" + url.split("://", 1)[1], isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{url.split('?', 1)[0].rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class CapStack:
    client: Client
    db: Any
    http: httpx.AsyncClient
    tmp: Path
    address: str
    task_queue: str
    workers: contextlib.AsyncExitStack

    def db_bytes(self) -> int:
        """The domain database's size: the SQLite file (and its WAL) after a checkpoint, or pg_database_size."""
        if self.db.is_sqlite:
            return sqlite_bytes(Path(self.db.url.split("sqlite:///", 1)[1]))
        with self.db.read() as s:
            return int(s.execute(text("SELECT pg_database_size(current_database())")).scalar_one())

    def temporal_bytes(self) -> int:
        """The dev server's SQLite store, likewise."""
        return sqlite_bytes(self.tmp / "temporal.db")


def sqlite_bytes(path: Path) -> int:
    """A SQLite file's size with its WAL, after asking for a checkpoint that empties the WAL (a busy database
    may refuse: then the WAL's pages count too)."""
    with contextlib.suppress(sqlite3.Error):
        con = sqlite3.connect(path, timeout=10)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
    wal = Path(f"{path}-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


@contextlib.asynccontextmanager
async def capacity_stack(connections: int) -> AsyncIterator[CapStack]:
    from domain import demo
    from domain.core.db import Database

    run_id = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="valueloop-capacity-") as tmp_name:
        tmp = Path(tmp_name)
        env = await start_dev_server(tmp)
        try:
            with domain_database(tmp) as url:
                db = Database(url)
                db.create_all()
                with db.write() as s:
                    demo.load(s)
                address = env.client.service_client.config.target_host
                queue = f"capacity-{run_id}"
                port = free_port()
                api_env = {**os.environ, "DATABASE_URL": url, "TEMPORAL_ADDRESS": address, "TASK_QUEUE": queue,
                           "SECRET_KEY": f"capacity-secret-{uuid.uuid4().hex}"}
                api = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "cli", "api", "--port", str(port), "--host", "127.0.0.1", env=api_env,
                    stdout=asyncio.subprocess.DEVNULL)
                try:
                    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                                 limits=httpx.Limits(max_connections=connections)) as http:
                        for _ in range(600):
                            if api.returncode is not None:
                                raise FlowError("the API process exited at startup")
                            with contextlib.suppress(httpx.HTTPError):
                                if (await http.get("/healthz")).status_code == 200:
                                    break
                            await asyncio.sleep(0.1)
                        else:
                            raise FlowError("the API did not become healthy")
                        async with contextlib.AsyncExitStack() as workers:
                            await workers.enter_async_context(worker_process("ours", address, queue, url))
                            yield CapStack(env.client, db, http, tmp, address, queue, workers)
                finally:
                    api.terminate()
                    try:
                        await asyncio.wait_for(api.wait(), 30)
                    except TimeoutError:
                        api.kill()
                    db.dispose()
        finally:
            await env.shutdown()


# --- histories ---------------------------------------------------------------------------------------------

async def histories_since(client: Client, since: datetime, concurrency: int = 16) -> dict[str, dict[str, int]]:
    """Per workflow type, over every workflow started at or after `since`: workflows, history events and
    history bytes (the events' protobuf size)."""
    stamp = since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    execs = [w async for w in client.list_workflows(f'StartTime >= "{stamp}"')]
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"workflows": 0, "events": 0, "bytes": 0})
    sem = asyncio.Semaphore(concurrency)

    async def one(wf_id: str, run_id: str | None, wf_type: str) -> None:
        async with sem:
            hist = await client.get_workflow_handle(wf_id, run_id=run_id).fetch_history()
        o = out[wf_type]
        o["workflows"] += 1
        o["events"] += len(hist.events)
        o["bytes"] += sum(e.ByteSize() for e in hist.events)

    await asyncio.gather(*(one(w.id, w.run_id, w.workflow_type) for w in execs))
    return dict(out)


# --- the run -----------------------------------------------------------------------------------------------

def _indices(t: str, n: int, base: int) -> list[int]:
    """n flow numbers from `base` on whose kind is `t`."""
    out: list[int] = []
    i = base
    while len(out) < n:
        if kind(i) == t:
            out.append(i)
        i += 1
    return out


def _added(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {t: n - before.get(t, 0) for t, n in after.items() if n != before.get(t, 0)}


async def run(processes: int = 200, rounds: int = 2, concurrency: int = 16, warmup: int = 20,
              per_type: int = 10) -> dict[str, Any]:
    load_before, t0 = os.getloadavg(), time.perf_counter()
    per_phase = max(1, processes // rounds)
    configs = {1: Phase(), 2: Phase()}
    cpu = {1: RoleCpu(), 2: RoleCpu()}
    backend = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    async with capacity_stack(concurrency * 2 + 8) as st:
        users: dict[str, dict[str, str]] = {}
        for user in USERS:
            r = await st.http.post("/api/auth/token", data={"username": user, "password": "demo"})
            users[user] = {"Authorization": f"Bearer {check(r, 200)['access_token']}"}
        runs = processes + warmup + per_type + 1
        check(await st.http.post("/api/stock/adjustments", headers=users["admin"],
                                 json={"sku": "FAN-200", "qty": FAN_PER_RUN * runs, "unit_cost": "320",
                                       "reason": "capacity"}), 201)
        side = Ours(http=st.http, users=users)
        with progress() as bars:
            warm = bars.add_task("warm-up", total=warmup)
            w = Phase()
            await drive(side, 1_000_000, warmup, concurrency, w, lambda: bars.advance(warm))
            if w.errors:
                raise FlowError(f"{len(w.errors)} warm-up flows failed; the first: {w.errors[0]}")
            await asyncio.sleep(1)
            rows0, bytes0, tbytes0 = table_rows(st.db), st.db_bytes(), st.temporal_bytes()
            bar = {n: bars.add_task(f"{n} worker(s)", total=per_phase * rounds) for n in configs}
            second: contextlib.AsyncExitStack | None = None
            try:
                for r_ in range(rounds):
                    for n in configs:
                        if n == 2 and second is None:
                            second = contextlib.AsyncExitStack()
                            await second.enter_async_context(worker_process("ours", st.address, st.task_queue,
                                                                            st.db.url))
                        elif n == 1 and second is not None:
                            await second.aclose()
                            second = None
                        first = (r_ * len(configs) + n) * per_phase
                        with cpu[n].measure():
                            await drive(side, first, per_phase, concurrency, configs[n],
                                        lambda n=n: bars.advance(bar[n]))  # type: ignore[misc]
            finally:
                if second is not None:
                    await second.aclose()
            await asyncio.sleep(1)
            mixed_flows = sum(p.done for p in configs.values())
            rows1, bytes1, tbytes1 = table_rows(st.db), st.db_bytes(), st.temporal_bytes()
            # per type: rows, bytes and Temporal histories of `per_type` flows of one type at a time
            types: dict[str, dict[str, Any]] = {}
            pt = bars.add_task("per type", total=per_type * len(TYPES))
            for i_t, t in enumerate(TYPES):
                idx = _indices(t, per_type, 2_000_000 + i_t * 100_000)
                before, b0, tb0 = table_rows(st.db), st.db_bytes(), st.temporal_bytes()
                since = datetime.now(UTC)
                p = Phase()
                await drive(lambda j, idx=idx: side(idx[j]), 0, per_type,  # type: ignore[misc]
                            min(concurrency, per_type), p, lambda: bars.advance(pt))
                await asyncio.sleep(1)
                hist = await histories_since(st.client, since)
                after = table_rows(st.db)
                added = _added(before, after)
                n_ok = max(p.done, 1)
                types[t] = {
                    "flows": p.done, "errors": len(p.errors),
                    "db_rows_per_flow": round(sum(added.values()) / n_ok, 1),
                    "db_rows_by_table": {k: round(v / n_ok, 2) for k, v in sorted(added.items(), key=lambda x: -x[1])},
                    "db_bytes_per_flow": round((st.db_bytes() - b0) / n_ok),
                    "temporal_store_bytes_per_flow": round((st.temporal_bytes() - tb0) / n_ok),
                    "workflows_per_flow": round(sum(h["workflows"] for h in hist.values()) / n_ok, 2),
                    "history_events_per_flow": round(sum(h["events"] for h in hist.values()) / n_ok, 1),
                    "history_bytes_per_flow": round(sum(h["bytes"] for h in hist.values()) / n_ok),
                    "by_workflow_type": {k: {"workflows": h["workflows"],
                                             "events_each": round(h["events"] / max(h["workflows"], 1), 1),
                                             "bytes_each": round(h["bytes"] / max(h["workflows"], 1))}
                                         for k, h in sorted(hist.items())},
                    "first_errors": p.errors[:3]}
    mix = Counter(MIX)
    weights = {t: mix[t] / len(MIX) for t in TYPES}
    per_config = {}
    for n, ph in configs.items():
        c = cpu[n]
        done = max(ph.done, 1)
        per_config[f"{n}_worker{'s' if n > 1 else ''}"] = {
            "flows": ph.done, "errors": len(ph.errors), "seconds": round(ph.elapsed, 1),
            "rate_per_s": round(ph.rate, 2),
            "cpu_s": {k: round(v, 1) for k, v in sorted(c.seconds.items())},
            "server_cpu_ms_per_flow": round(c.servers / done * 1000, 1),
            "cpu_ms_per_flow": {k: round(v / done * 1000, 1) for k, v in sorted(c.seconds.items())},
            "processes_per_core_second": round(ph.done / c.servers, 3) if c.servers else 0.0,
            "first_errors": ph.errors[:3]}
    added = _added(rows0, rows1)
    mixed = max(mixed_flows, 1)

    def weighted(key: str) -> float:
        return round(sum(weights[t] * float(types[t][key]) for t in TYPES if t in types), 1)

    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "database": backend,
        "processes": mixed_flows, "rounds": rounds, "concurrency": concurrency, "warmup": warmup,
        "per_type_flows": per_type, "mix": dict(mix),
        "temporal_store": "dev server, sqlite file, journal_mode=wal, synchronous=normal",
        **per_config,
        "db_rows_per_flow": round(sum(added.values()) / mixed, 1),
        "db_rows_by_table": {k: round(v / mixed, 2) for k, v in sorted(added.items(), key=lambda x: -x[1])},
        "db_bytes_per_flow": round((bytes1 - bytes0) / mixed),
        "temporal_store_bytes_per_flow": round((tbytes1 - tbytes0) / mixed),
        "history_events_per_flow_mix": weighted("history_events_per_flow"),
        "history_bytes_per_flow_mix": weighted("history_bytes_per_flow"),
        "workflows_per_flow_mix": round(sum(weights[t] * types[t]["workflows_per_flow"] for t in types), 2),
        "types": types,
        "valid": not any(p.errors for p in configs.values()) and not any(t["errors"] for t in types.values()),
        "seconds": round(time.perf_counter() - t0, 1), "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


# --- the sizing model (pure) -----------------------------------------------------------------------------

# What one order implies, in the soak's mix: per 3 lead-to-order runs (the order), 3 + 3 purchase requisitions
# and 8 + 3 expense claims, so per order 1 lead-to-order, 2 requisitions and 3.67 claims: 6.67 processes.
FLOWS_PER_ORDER = len(MIX) / Counter(MIX)["lead_to_order"]


@dataclass(frozen=True)
class SizingInputs:
    """Measured per mixed flow (bench.capacity) and the assumptions of the model."""

    worker_cpu_ms: float  # per flow, worker processes
    api_cpu_ms: float  # per flow, API processes
    temporal_cpu_ms: float  # per flow, Temporal server
    db_bytes: float  # per flow, domain database growth
    history_bytes: float  # per flow, Temporal history
    flows_per_order: float = FLOWS_PER_ORDER
    working_days: int = 250
    busy_hours: float = 8.0  # the day's orders arrive in this many hours
    peak_factor: float = 3.0  # the busiest minute against the busy hours' average
    utilisation: float = 0.6  # the share of a core a process is planned to use at peak
    retention_days: int = 30  # Temporal keeps a closed workflow's history this long


def sizing(orders_per_day: int, i: SizingInputs) -> dict[str, float]:
    """Workers, API replicas, Temporal cores and database sizes for `orders_per_day` orders. A Python process
    uses at most one core (the interpreter lock), so a worker or API replica is one core; at least two of each
    (one may be restarted while the other serves)."""
    flows_day = orders_per_day * i.flows_per_order
    peak_per_s = flows_day / (i.busy_hours * 3600) * i.peak_factor

    def cores(ms_per_flow: float) -> float:
        return peak_per_s * ms_per_flow / 1000 / i.utilisation

    worker_cores, api_cores, temporal_cores = cores(i.worker_cpu_ms), cores(i.api_cpu_ms), cores(i.temporal_cpu_ms)
    return {"orders_per_day": orders_per_day, "flows_per_day": round(flows_day, 1),
            "peak_flows_per_s": round(peak_per_s, 3),
            "worker_cores": round(worker_cores, 2), "workers": max(2, math.ceil(worker_cores)),
            "api_cores": round(api_cores, 2), "api_replicas": max(2, math.ceil(api_cores)),
            "temporal_cores": round(temporal_cores, 2),
            "db_gb_per_year": round(flows_day * i.working_days * i.db_bytes / 1e9, 2),
            "temporal_history_gb": round(flows_day * i.working_days / 365 * i.retention_days * i.history_bytes / 1e9, 3)}


def sizing_inputs(res: dict[str, Any], workers: str = "1_worker") -> SizingInputs:
    """The model's inputs from a run's figures (CPU per flow from the one-worker phases by default)."""
    c = res[workers]["cpu_ms_per_flow"]
    return SizingInputs(worker_cpu_ms=float(c.get("worker", 0.0)), api_cpu_ms=float(c.get("api", 0.0)),
                        temporal_cpu_ms=float(c.get("temporal", 0.0)), db_bytes=float(res["db_bytes_per_flow"]),
                        history_bytes=float(res["history_bytes_per_flow_mix"]))


# --- reporting ---------------------------------------------------------------------------------------------

CONFIGS = ("1_worker", "2_workers")


def report(res: dict[str, Any]) -> None:
    console.print(f"[bold]capacity[/bold] ({res['database']}): {res['processes']} mixed flows ({res['mix']} in 20), "
                  f"{res['concurrency']} clients, {res['rounds']} alternating rounds of 1 and 2 workers; "
                  f"API and workers in processes of their own")
    t = Table(title="per mixed flow, servers only (Temporal + API + workers)")
    for col in ("workers", "flows/s", "cpu ms/flow", "temporal", "api", "worker(s)", "clients (not counted)",
                "processes per core-second"):
        t.add_column(col, justify="right")
    for key in CONFIGS:
        c = res[key]
        m = c["cpu_ms_per_flow"]
        t.add_row(key.split("_")[0], f"{c['rate_per_s']:.2f}", f"{c['server_cpu_ms_per_flow']:.0f}",
                  f"{m.get('temporal', 0):.0f}", f"{m.get('api', 0):.0f}", f"{m.get('worker', 0):.0f}",
                  f"{m.get('clients', 0):.0f}", f"{c['processes_per_core_second']:.3f}")
    console.print(t)
    t = Table(title=f"per flow, by type ({res['per_type_flows']} flows of each type alone)")
    for col in ("type", "workflows", "history events", "history bytes", "db rows", "db bytes", "temporal store bytes"):
        t.add_column(col, justify="left" if col == "type" else "right")
    for k, v in res["types"].items():
        t.add_row(k, f"{v['workflows_per_flow']:.1f}", f"{v['history_events_per_flow']:.0f}",
                  f"{v['history_bytes_per_flow']:,}", f"{v['db_rows_per_flow']:.1f}", f"{v['db_bytes_per_flow']:,}",
                  f"{v['temporal_store_bytes_per_flow']:,}")
    t.add_row("mix (weighted)", f"{res['workflows_per_flow_mix']:.2f}", f"{res['history_events_per_flow_mix']:.0f}",
              f"{res['history_bytes_per_flow_mix']:,.0f}", f"{res['db_rows_per_flow']:.1f} (measured)",
              f"{res['db_bytes_per_flow']:,} (measured)", f"{res['temporal_store_bytes_per_flow']:,} (measured)",
              style="bold")
    console.print(t)
    for k, v in res["types"].items():
        console.print(f"  {k}: history events / bytes per workflow: " + ", ".join(
            f"{wt} x{h['workflows']} {h['events_each']:.0f} / {h['bytes_each']:,}"
            for wt, h in v["by_workflow_type"].items()), markup=False)
    console.print(f"processes per core-second: 1 worker {res['1_worker']['processes_per_core_second']:.3f}, "
                  f"2 workers {res['2_workers']['processes_per_core_second']:.3f}; db rows/flow "
                  f"{res['db_rows_per_flow']}, history events/flow {res['history_events_per_flow_mix']}, db bytes/flow "
                  f"{res['db_bytes_per_flow']:,}; {res['seconds']} s, load average {res['loadavg_before'][0]} -> "
                  f"{res['loadavg_after'][0]}", markup=False)
    inputs = sizing_inputs(res)
    t = Table(title=f"sizing ({inputs.flows_per_order:.2f} processes per order, {inputs.busy_hours:.0f} busy hours, "
                    f"peak {inputs.peak_factor:.0f}x, {inputs.utilisation:.0%} of a core, {inputs.working_days} days)")
    for col in ("orders/day", "peak flows/s", "workers", "API replicas", "Temporal cores", "db GB/year",
                f"history GB ({inputs.retention_days} d retention)"):
        t.add_column(col, justify="right")
    for n in (100, 1_000, 10_000):
        s = sizing(n, inputs)
        t.add_row(f"{n:,}", f"{s['peak_flows_per_s']:.2f}", f"{s['workers']} ({s['worker_cores']:.2f} cores)",
                  f"{s['api_replicas']} ({s['api_cores']:.2f} cores)", f"{s['temporal_cores']:.2f}",
                  f"{s['db_gb_per_year']:.2f}", f"{s['temporal_history_gb']:.3f}")
    console.print(t)
    if not res["valid"]:
        console.print("[red]some flows failed: the figures count only the ones that finished[/red]")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--processes", type=int, default=200, help="mixed flows per worker configuration")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds (1 worker, 2 workers, ...)")
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent client loops")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up flows")
    ap.add_argument("--per-type", type=int, default=10, help="flows of each type alone, for rows and histories")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results.json")
    a = ap.parse_args(argv)
    res = asyncio.run(run(a.processes, a.rounds, a.concurrency, a.warmup, a.per_type))
    report(res)
    if not a.no_save:
        save_result("capacity", res)
        console.print(f"written to {RESULTS} (capacity)")
    return res


if __name__ == "__main__":
    main()
