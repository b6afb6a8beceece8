"""Inbox and monitor lists: GET /api/tasks?status=open (as frank, default page of 50) with 100,000 open
tasks beside the same request with 1,000, and GET /api/processes (as admin, who sees every process: the
monitor's first page) with 100,000 processes beside 1,000, in the same run (issue 6: p95 under 20 ms).

Each size gets a fresh database (SQLite file; and a fresh PostgreSQL schema too when DATABASE_URL
names PostgreSQL) holding the demo company, generated task rows and as many generated processes. Tasks
are spread as a real inbox would be: most for other people and roles (finance, cfo, buyers' alerts,
other managers), a few hundred that frank may act on (named to him, claimed by him, or for his role
manager and unclaimed); both sizes give him a full page of 50, so the only difference is the size of
the table. Processes: mixed types, most completed, a quarter running, over 90 days. The app is served by
uvicorn with a Platform whose Temporal client is a dummy (both lists only read the database); requests
alternate between the two sizes.

    python -m bench.inbox [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import create_engine, func, insert, select, text

from bench.common import console, ms, pct, progress, serve

SIZES = {1_000: 200, 100_000: 300}  # open tasks (and processes) in the table: how many tasks frank may act on
SMALL, BIG = min(SIZES), max(SIZES)
USER, ROLES = "frank", ["employee", "manager"]


class NoTemporal:
    """Stands in for the Temporal client: the inbox listing never touches it."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the inbox benchmark has no Temporal (asked for {name})")


# --- data ---------------------------------------------------------------------------------------------

# (weight, kind, process_type, step_label, candidate_role, candidate_user, assignee, requesters)
OTHERS: list[tuple[int, str, str, str, str | None, str | None, str | None, list[str]]] = [
    (25, "approval", "expense_claim", "finance", "finance", None, None, ["alice", "bob", "carol", "dave", "erin"]),
    (8, "approval", "purchase", "cfo", "cfo", None, None, ["dave"]),
    (5, "approval", "expense_claim", "cfo", "cfo", None, None, ["bob", "frank", "grace"]),
    (14, "approval", "expense_claim", "manager", None, "heidi", None, ["bob", "frank", "grace"]),
    (8, "approval", "expense_claim", "manager", None, "bob", None, ["alice"]),
    (10, "alert", "purchase", "overdue delivery", "buyer", None, None, ["dave"]),
    (8, "alert", "purchase", "goods to receive", "warehouse", None, None, ["dave"]),
    (5, "approval", "lead_to_order", "discount", "sales_manager", None, None, ["alice"]),
    (5, "alert", "production_order", "shortage", "planner", None, None, ["carol"]),
    (6, "approval", "expense_claim", "finance", "finance", None, "grace", ["alice", "erin", "ivan"]),
    (3, "approval", "purchase", "manager", "manager", None, "bob", ["alice", "carol"]),  # claimed by bob
    (3, "approval", "expense_claim", "manager", "manager", None, None, ["frank"]),  # frank's own request
]
MINE: list[tuple[int, str, str, str, str | None, str | None, str | None, list[str]]] = [
    (70, "approval", "expense_claim", "manager", None, "frank", None, ["carol", "dave", "erin", "ivan"]),
    (15, "approval", "purchase", "manager", "manager", None, None, ["alice", "dave", "grace"]),
    (15, "approval", "expense_claim", "manager", "manager", None, "frank", ["alice", "carol", "ivan"]),
]


def _rows(total: int, visible: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    from domain.core.types import utcnow

    now = utcnow()
    for i in range(total):
        pool = MINE if i < visible else OTHERS
        _w, kind, ptype, label, role, user, assignee, requesters = rng.choices(pool, weights=[p[0] for p in pool])[0]
        key = f"{'EC' if ptype == 'expense_claim' else 'PR'}-B{i:06d}"
        pid = f"{ptype.replace('_', '-')}-{key}"
        amount = Decimal(rng.randrange(2_000, 2_500_000)) / 100
        yield {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "workflow_id": f"{pid}/approval",
               "process_id": pid, "process_type": ptype, "kind": kind, "title": f"{label}: {key} ({amount} USD)",
               "business_key": key, "amount": amount, "requester": rng.choice(requesters),
               "step": 1 if label == "manager" else 2, "step_label": label, "candidate_role": role,
               "candidate_user": user, "assignee": assignee, "status": "open",
               "priority": rng.choice([30, 50, 50, 50, 70, 90]), "comment": "",
               "due_at": now + timedelta(hours=rng.uniform(-72, 120)),
               "created_at": now - timedelta(hours=rng.uniform(0, 24 * 30))}


PROCESS_TYPES = [("expense_claim", "EC", ["submitted", "manager approval", "finance approval", "paid"]),
                 ("purchase", "PR", ["approval", "ordered", "receiving", "received"]),
                 ("sales_order", "SO", ["reserving", "waiting for supply", "ready to deliver", "completed"]),
                 ("production_order", "MO", ["waiting for material", "released", "in progress", "completed"]),
                 ("lead_to_order", "LD", ["new", "qualification", "proposal", "won"])]
OWNERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "ivan"]


def _processes(total: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    from domain.core.types import utcnow

    now = utcnow()
    for i in range(total):
        ptype, prefix, stages = rng.choice(PROCESS_TYPES)
        key = f"{prefix}-B{i:06d}"
        started = now - timedelta(hours=rng.uniform(0, 24 * 90))
        status = rng.choices(["completed", "running", "cancelled"], weights=[70, 25, 5])[0]
        yield {"process_id": f"{ptype.replace('_', '-')}-{key}", "type": ptype, "business_key": key,
               "title": f"{ptype.replace('_', ' ')} {key}", "owner": rng.choice(OWNERS),
               "amount": Decimal(rng.randrange(2_000, 2_500_000)) / 100, "status": status,
               "stage": stages[-1] if status == "completed" else rng.choice(stages[:-1]), "started_at": started,
               "closed_at": started + timedelta(hours=rng.uniform(1, 24 * 10)) if status != "running" else None}


def seed(db: Any, total: int, visible: int, seed_: int = 42) -> int:
    """The demo company plus `total` open tasks, `visible` of them for frank, and `total` processes; returns
    how many tasks frank sees."""
    from domain import demo
    from domain.approvals import services as approvals
    from domain.approvals.tables import Task
    from domain.processes.tables import Process

    db.create_all()
    with db.write() as s:
        demo.load(s)
    rng = random.Random(seed_)
    for model, rows in ((Task, list(_rows(total, visible, rng))), (Process, list(_processes(total, rng)))):
        with db.write() as s:
            for i in range(0, len(rows), 2000):
                s.execute(insert(model), rows[i:i + 2000])
    with db.write() as s:
        if not db.is_sqlite:
            s.execute(text("ANALYZE"))  # what autovacuum would have done by the time the rows piled up
        q = approvals.task_query(USER, ROLES)
        seen = s.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    return int(seen)


def inbox_query() -> Any:
    """The statement GET /api/tasks runs by default (api/routes/tasks.py: list_tasks), as frank."""
    from api.routes.tasks import InboxFilter
    from api.routes.tasks import inbox_query as route_query
    from domain.approvals import services as approvals

    frank = SimpleNamespace(username=USER, roles=ROLES)
    return route_query(frank, InboxFilter(), listing=True, window=50).order_by(*approvals.ordering("due")).limit(50).offset(0)


def plan(db: Any) -> list[str]:
    q = inbox_query()
    with db.read() as s:
        compiled = q.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
        if db.is_sqlite:
            return [str(r[-1]) for r in s.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
        return [str(r[0]) for r in s.execute(text(f"EXPLAIN {compiled}"))]


# --- databases ----------------------------------------------------------------------------------------

def _pg_admin_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.split("://", 1)[1]
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def fresh_database(backend: str, tmp: Path, name: str) -> Iterator[Any]:
    """An empty database: a SQLite file under `tmp`, or a new schema in DATABASE_URL (dropped after)."""
    from domain.core.db import Database

    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp}/{name}.db")
        try:
            yield db
        finally:
            db.dispose()
        return
    url = os.environ["DATABASE_URL"]
    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_pg_admin_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(url, schema=schema)
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --- measuring ----------------------------------------------------------------------------------------

@dataclass
class Side:
    total: int
    visible: int
    base_url: str = ""
    token: str = ""
    admin_token: str = ""
    http_s: list[float] | None = None
    db_s: list[float] | None = None
    monitor_s: list[float] | None = None

    def summary(self) -> dict[str, Any]:
        h, d, m = self.http_s or [], self.db_s or [], self.monitor_s or []
        return {"open_tasks": self.total, "processes": self.total, "visible_to_frank": self.visible,
                "requests": len(h), "http_p50_ms": ms(pct(h, 50)), "http_p95_ms": ms(pct(h, 95)),
                "db_p50_ms": ms(pct(d, 50)), "db_p95_ms": ms(pct(d, 95)),
                "monitor_p50_ms": ms(pct(m, 50)), "monitor_p95_ms": ms(pct(m, 95))}


async def bench_backend(backend: str, tmp: Path, requests: int, warmup: int) -> dict[str, Any]:
    from api.app import create_app
    from api.platform import Platform
    from settings import Settings

    secret = f"bench-inbox-{uuid.uuid4().hex}"
    sides = {total: Side(total, visible) for total, visible in SIZES.items()}
    async with AsyncExitStack() as stack:
        dbs = {}
        with console.status(f"{backend}: generating {' and '.join(f'{t:,}' for t in SIZES)} open tasks and processes…"):
            for total, side in sides.items():
                db = stack.enter_context(fresh_database(backend, tmp, f"inbox_{total}"))
                seen = await asyncio.to_thread(seed, db, total, side.visible)
                if seen != side.visible:
                    raise RuntimeError(f"generated {side.visible} tasks for frank, the query sees {seen}")
                dbs[total] = db
        for total, side in sides.items():
            db = dbs[total]
            app = create_app(Settings(database_url=db.url, secret_key=secret),
                             Platform(NoTemporal(), db, "inbox-bench"))  # type: ignore[arg-type]
            side.base_url = await stack.enter_async_context(serve(app))
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        for side in sides.values():
            r = await http.post(f"{side.base_url}/api/auth/token", data={"username": USER, "password": "demo"})
            r.raise_for_status()
            side.token = r.json()["access_token"]
            r = await http.post(f"{side.base_url}/api/auth/token", data={"username": "admin", "password": "demo"})
            r.raise_for_status()
            side.admin_token = r.json()["access_token"]
            side.http_s, side.db_s, side.monitor_s = [], [], []
        params = {"status": "open"}
        with progress() as bars:
            t = bars.add_task(f"{backend}: GET /api/tasks, GET /api/processes", total=(warmup + requests) * len(sides))
            for i in range(warmup + requests):
                for side in sides.values():
                    t0 = time.perf_counter()
                    r = await http.get(f"{side.base_url}/api/tasks", params=params,
                                       headers={"Authorization": f"Bearer {side.token}"})
                    dt = time.perf_counter() - t0
                    if r.status_code != 200 or len(r.json()) != 50:
                        raise RuntimeError(f"GET /api/tasks ({side.total}) -> {r.status_code}: {r.text[:200]}")
                    t0 = time.perf_counter()
                    m = await http.get(f"{side.base_url}/api/processes",
                                       headers={"Authorization": f"Bearer {side.admin_token}"})
                    dm = time.perf_counter() - t0
                    if m.status_code != 200 or not m.json():
                        raise RuntimeError(f"GET /api/processes ({side.total}) -> {m.status_code}: {m.text[:200]}")
                    if i >= warmup:
                        side.http_s.append(dt)  # type: ignore[union-attr]
                        side.monitor_s.append(dm)  # type: ignore[union-attr]
                    bars.advance(t)
        # The database part alone: the route's statement, run and loaded as the route does (no thread hop).
        q = inbox_query()
        for i in range(warmup + requests):
            for total, side in sides.items():
                t0 = time.perf_counter()
                with dbs[total].read() as s:
                    rows = list(s.execute(q).scalars())
                dt = time.perf_counter() - t0
                assert len(rows) == 50
                if i >= warmup:
                    side.db_s.append(dt)  # type: ignore[union-attr]
        big_plan = plan(dbs[BIG])
    small, big = sides[SMALL].summary(), sides[BIG].summary()
    return {"small": small, "big": big,
            "http_p95_ratio": round(big["http_p95_ms"] / small["http_p95_ms"], 2),
            "db_p95_ratio": round(big["db_p95_ms"] / small["db_p95_ms"], 2),
            "monitor_p95_ratio": round(big["monitor_p95_ms"] / small["monitor_p95_ms"], 2), "plan_big": big_plan}


async def run(requests: int = 300, warmup: int = 30) -> dict[str, Any]:
    backends = ["sqlite"]
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        backends.append("postgresql")
    out: dict[str, Any] = {"user": USER, "page": 50, "requests_each": requests}
    with tempfile.TemporaryDirectory(prefix="valueloop-inbox-") as tmp:
        for backend in backends:
            out[backend] = await bench_backend(backend, Path(tmp), requests, warmup)
    return out


def report(res: dict[str, Any]) -> None:
    console.print(f"[bold]inbox and monitor[/bold]: GET /api/tasks?status=open as {res['user']} (page of "
                  f"{res['page']}) and GET /api/processes as admin, {res['requests_each']} requests per size, alternating")
    for backend in ("sqlite", "postgresql"):
        if backend not in res:
            continue
        r = res[backend]
        for key in ("small", "big"):
            s = r[key]
            console.print(f"  {backend:<10} {s['open_tasks']:>7,} rows ({s['visible_to_frank']:>3} his)   "
                          f"inbox HTTP p50 {s['http_p50_ms']:6.2f} ms  p95 {s['http_p95_ms']:6.2f} ms   "
                          f"DB query p50 {s['db_p50_ms']:6.2f} ms  p95 {s['db_p95_ms']:6.2f} ms   "
                          f"monitor HTTP p50 {s['monitor_p50_ms']:6.2f} ms  p95 {s['monitor_p95_ms']:6.2f} ms")
        console.print(f"  {backend:<10} p95 ratio {BIG:,} / {SMALL:,}: inbox HTTP {r['http_p95_ratio']:.2f}, "
                      f"DB {r['db_p95_ratio']:.2f}, monitor HTTP {r['monitor_p95_ratio']:.2f}   "
                      f"inbox plan ({BIG:,}): {' | '.join(r['plan_big'])}", markup=False)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300, help="measured requests per size")
    ap.add_argument("--warmup", type=int, default=30, help="warm-up requests per size")
    a = ap.parse_args(argv)
    res = asyncio.run(run(a.requests, a.warmup))
    report(res)
    return res


if __name__ == "__main__":
    main()
