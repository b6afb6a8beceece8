"""What the benchmarks share: serving the app in-loop, percentiles, CPU accounting, progress bars."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

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

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 140)


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
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
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

    @contextlib.contextmanager
    def measure(self) -> Iterator[CpuMeter]:
        pids = child_pids()
        me0, kids0 = _ticks(os.getpid()), sum(_ticks(p) for p in pids)
        try:
            yield self
        finally:
            self.python += (_ticks(os.getpid()) - me0) / self.HZ
            self.children += (sum(_ticks(p) for p in pids) - kids0) / self.HZ


def progress() -> Progress:
    """Rich progress bars on a terminal; silent when piped (the summary lines still print)."""
    return Progress(SpinnerColumn(), TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
