"""What the benchmarks share: the stack (dev server, worker processes, the API served in-loop), driving
flows concurrently, percentiles, CPU accounting, progress bars."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson
import uvicorn
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

    from api.platform import Platform
    from domain.core.db import Database

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 140)
FLOW_TIMEOUT = 120.0  # seconds one flow may take before it counts as failed
MAX_ERRORS = 10  # failed flows on one side before the benchmark gives up (the code under test is broken)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free localhost port in this event loop; yields its base URL."""
    port = free_port()
    # keep-alive beyond a benchmark phase: an idle pooled connection that uvicorn closes while httpx reuses
    # it would fail a request for a reason that has nothing to do with the code under test.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, timeout_keep_alive=300))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]  # Ctrl+C stays ours
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    if not values:
        return math.nan
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def child_pids() -> list[int]:
    me, out = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


class CpuMeter:
    """CPU seconds spent by this process and by its children (the Temporal dev server) over a block."""

    HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self) -> None:
        self.python = self.children = 0.0
        self.by_child: dict[str, float] = defaultdict(float)  # the children's, by what they are (child_role)

    @contextlib.contextmanager
    def measure(self) -> Iterator[CpuMeter]:
        pids = child_pids()
        me0, kids0 = _ticks(os.getpid()), {p: _ticks(p) for p in pids}
        try:
            yield self
        finally:
            self.python += (_ticks(os.getpid()) - me0) / self.HZ
            for p in pids:
                spent = (_ticks(p) - kids0[p]) / self.HZ
                self.children += spent
                self.by_child[child_role(p)] += spent


def child_role(pid: int) -> str:
    """What a child of the bench is: "temporal" (the dev server), "worker" (ours or the skeleton's), "api"
    (`python -m cli api`, bench/capacity.py's), or "other"."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return "other"
    words = [a.decode(errors="replace") for a in argv]
    if "bench.worker_proc" in words:
        return "worker"
    if "cli" in words and "api" in words:
        return "api"
    if any(Path(w).name == "temporal" for w in words[:1]) or "server" in words:
        return "temporal"
    return "other"


def progress() -> Progress:
    """Rich progress bars on a terminal; silent when piped (the summary lines still print)."""
    return Progress(SpinnerColumn(), TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)


class LeanResponse:
    """What `Lean` answers: the subset of httpx.Response the benches read (status_code, json(), text), and the
    request it answers (`method`, `path`) for `check`'s message."""

    __slots__ = ("content", "method", "path", "status_code")

    def __init__(self, method: str, path: str, status_code: int, content: bytes):
        self.method, self.path, self.status_code, self.content = method, path, status_code, content

    def json(self) -> Any:
        return orjson.loads(self.content) if self.content else None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class Lean:
    """The benches' HTTP/1.1 client for our side: keep-alive connections from a pool, a request written and its
    answer read with asyncio streams. httpx cost more CPU per claim than the API's work it drives (its pool
    machinery and, without sniffio, an import that failed on every request), and that CPU counts in the bench
    process's figure with the API's and takes a core from the API, the worker and Temporal, where the skeleton's
    client (Temporal's, in Rust) costs almost nothing: this client counts its own (`cpu`, thread CPU of its
    synchronous parts: writing a request, parsing an answer) so that a report can say what the API alone spent.
    `get`, `post` and `request` take what the benches give httpx (params, json, form data, headers)."""

    def __init__(self, base_url: str):
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.cpu = 0.0  # seconds of thread CPU spent in this client's own code

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
                      data: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> LeanResponse:
        """One request's answer; a connection the server closed is opened again once."""
        t0 = time.thread_time()
        target = f"{path}?{urlencode(params)}" if params else path
        body = orjson.dumps(json) if json is not None else urlencode(data).encode() if data else b""
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        if json is not None:
            head.append("Content-Type: application/json")
        elif data:
            head.append("Content-Type: application/x-www-form-urlencoded")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        self.cpu += time.thread_time() - t0
        for attempt in (1, 2):
            reader, writer = self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(raw)
                status_line_and_headers = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                if attempt == 2:
                    raise
                continue
            t0 = time.thread_time()
            lines = status_line_and_headers.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            fields = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            if "content-length" not in fields:
                raise FlowError(f"{method} {path} -> {status} without a Content-Length: {fields}")
            self.cpu += time.thread_time() - t0
            payload = await reader.readexactly(int(fields["content-length"]))
            t0 = time.thread_time()
            if fields.get("connection", "").lower() == "close":
                writer.close()
            else:
                self.idle.append((reader, writer))
            self.cpu += time.thread_time() - t0
            return LeanResponse(method, path, status, payload)
        raise AssertionError("unreachable")

    async def get(self, path: str, *, params: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> LeanResponse:
        return await self.request("GET", path, params=params, headers=headers)

    async def post(self, path: str, *, json: Any = None, data: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, params: dict[str, Any] | None = None) -> LeanResponse:
        return await self.request("POST", path, params=params, json=json, data=data, headers=headers)

    async def aclose(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


# --- driving flows ------------------------------------------------------------------------------------

class FlowError(Exception):
    pass


def check(r: httpx.Response | LeanResponse, expected: int) -> Any:
    """The response's JSON, or a FlowError naming the request and the answer."""
    if r.status_code != expected:
        method, path = (r.method, r.path) if isinstance(r, LeanResponse) else (r.request.method, r.request.url.path)
        raise FlowError(f"{method} {path} -> {r.status_code}: {r.text[:200]}")
    return r.json()


@dataclass
class Phase:
    """What one side measured (accumulated over the rounds)."""

    done: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: CpuMeter = field(default_factory=CpuMeter)
    polls: int = 0  # empty polls (task not there yet / not approved yet)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0

    def summary(self) -> dict[str, Any]:
        n = max(self.done, 1)
        return {"flows": self.done, "errors": len(self.errors), "seconds": round(self.elapsed, 2),
                "rate_per_s": round(self.rate, 2), "p50_ms": ms(pct(self.latencies, 50)),
                "p95_ms": ms(pct(self.latencies, 95)), "max_ms": ms(max(self.latencies, default=0.0)),
                "empty_polls_per_flow": round(self.polls / n, 2),
                "cpu_ms_per_flow": {"bench_and_api": ms(self.cpu.python / n),
                                    "temporal_server_and_workers": ms(self.cpu.children / n),
                                    **{f"of_which_{k}": ms(v / n) for k, v in sorted(self.cpu.by_child.items())}},
                "first_errors": self.errors[:3]}


async def drive(flow: Callable[[int], Awaitable[None]], first: int, n: int, concurrency: int, phase: Phase,
                on_done: Callable[[], None], *, flow_timeout: float = FLOW_TIMEOUT, measure_cpu: bool = True) -> None:
    """Run flows first..first+n-1 with `concurrency` loops, each flow given `flow_timeout` seconds; add the outcome to
    `phase` (and this process's CPU, when `measure_cpu`)."""
    todo = iter(range(first, first + n))

    async def loop() -> None:
        for i in todo:
            if len(phase.errors) >= MAX_ERRORS:
                return
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(flow_timeout):
                    await flow(i)
            except Exception as e:
                phase.errors.append(f"{type(e).__name__}: {e}"[:300])
            else:
                phase.latencies.append(time.perf_counter() - t0)
                phase.done += 1
            on_done()

    t0 = time.perf_counter()
    if measure_cpu:
        with phase.cpu.measure():
            await asyncio.gather(*(loop() for _ in range(concurrency)))
    else:
        await asyncio.gather(*(loop() for _ in range(concurrency)))
    phase.elapsed += time.perf_counter() - t0
    if len(phase.errors) >= MAX_ERRORS:
        raise FlowError(f"{len(phase.errors)} flows failed; the first: {phase.errors[0]}")


# --- the stack ----------------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def worker_process(kind: str, address: str, task_queue: str, database_url: str = "") -> AsyncIterator[None]:
    """Each side's worker in a process of its own, as `valueloop up` runs ours (API and worker do not
    share one interpreter lock). Its CPU is counted with the other child processes."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.worker_proc", kind, address,
                                                task_queue, database_url, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if line.strip() != b"ready":
        raise FlowError(f"the {kind} worker did not start")
    try:
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()


async def start_dev_server(tmp: Path) -> WorkflowEnvironment:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from settings import venv_binary
    from workflows.common import SEARCH_ATTRIBUTES

    return await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(venv_binary("temporal")),  # never download
        dev_server_database_filename=str(tmp / "temporal.db"),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_log_level="error",
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
                               "--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"],
    )


@dataclass
class Stack:
    """The real stack, and a skeleton worker beside it on the same dev server."""

    client: Client  # the dev server's, for the skeleton side
    db: Database
    http: httpx.AsyncClient  # to the API (setup, logins)
    skeleton_queue: str
    run_id: str
    platform: Platform  # the API's: for a starter called outside a request, as `valueloop up --demo` calls one
    lean: Lean | None = None  # to the API, for the measured flows of our side (its own CPU counted apart)

    async def login(self, *users: str) -> dict[str, dict[str, str]]:
        """Authorization headers, one token per user."""
        tokens = {}
        for user in users:
            r = await self.http.post("/api/auth/token", data={"username": user, "password": "demo"})
            tokens[user] = {"Authorization": f"Bearer {check(r, 200)['access_token']}"}
        return tokens


@contextlib.asynccontextmanager
async def stack(connections: int) -> AsyncIterator[Stack]:
    """As `valueloop up` runs it on one machine: the Temporal dev server with its state in a SQLite
    file in WAL mode (DESIGN.md rule 8), the domain in a SQLite file holding the demo company, our
    worker in a process of its own, the API (uvicorn) in this process and event loop, an httpx client
    to it with `connections` pooled connections and a `Lean` one (`lean`); and the skeleton's worker in a process of its own."""
    from api.app import create_app
    from api.platform import Platform
    from domain import demo
    from domain.core.db import Database
    from settings import Settings

    run_id = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="valueloop-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with console.status("starting the Temporal dev server (SQLite WAL) and the domain database…"):
            env = await start_dev_server(tmp)
            db = Database(f"sqlite:///{tmp}/valueloop.db")
            db.create_all()
            with db.write() as s:
                demo.load(s)
        try:
            settings = Settings(database_url=db.url, task_queue=f"bench-{run_id}",
                                secret_key=f"bench-secret-{uuid.uuid4().hex}")
            skel_queue = f"bench-skeleton-{run_id}"
            platform = Platform(env.client, db, settings.task_queue)
            app = create_app(settings, platform)
            address = env.client.service_client.config.target_host
            async with worker_process("ours", address, settings.task_queue, db.url), \
                    worker_process("skeleton", address, skel_queue), \
                    serve(app) as base_url, \
                    httpx.AsyncClient(base_url=base_url, timeout=60,
                                      limits=httpx.Limits(max_connections=connections)) as http:
                lean = Lean(base_url)
                try:
                    yield Stack(env.client, db, http, skel_queue, run_id, platform, lean)
                finally:
                    await lean.aclose()
        finally:
            with console.status("stopping the dev server…"):
                db.dispose()
                await env.shutdown()


RESULTS = Path(__file__).with_name("results.json")


def save_result(key: str, res: dict[str, Any]) -> None:
    """Write one benchmark's figures into bench/results.json under `key`; the others' figures stay."""
    everything = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    everything[key] = res
    RESULTS.write_text(json.dumps(everything, indent=2) + "\n")


def scaling_main(key: str, doc: str | None, run: Callable[[tuple[int, ...], int], dict[str, Any]],
                 report: Callable[[dict[str, Any]], None], argv: list[str] | None = None) -> dict[str, Any]:
    """The command line of a pure benchmark run at several sizes (`--scales 1 2 4 --repeat 3`): run,
    report, and save under `key`."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    res = run(tuple(a.scales), a.repeat)
    report(res)
    save_result(key, res)
    console.print(f"written to {RESULTS} ({key})")
    return res
