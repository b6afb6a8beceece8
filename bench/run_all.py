"""Runs every benchmark, prints a summary table and writes the numbers to bench/results.json.

    python -m bench.run_all          (what `make bench` runs)
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from bench import bench_aging, bench_allocation, engine_floor, form_request, inbox, lead_to_order
from bench import capacity as capacity_bench
from bench import kitting as kitting_bench
from bench import mrp as mrp_bench
from bench import start_latency as start_latency_bench
from bench.common import console

RESULTS = Path(__file__).with_name("results.json")
TARGET_RATIO = 0.8


def summary_rows(res: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    ef = res["engine_floor"]
    if "error" in ef:
        rows.append(("engine floor", "FAILED", ef["error"][:200]))
    else:
        rows += _engine_rows(ef)
    lo = res["lead_to_order"]
    if "error" in lo:
        rows.append(("lead to order", "FAILED", lo["error"][:200]))
    else:
        rows += _lead_to_order_rows(lo)
    if "error" in res["inbox"]:
        rows.append(("inbox", "FAILED", res["inbox"]["error"][:200]))
    else:
        rows += _inbox_rows(res["inbox"])
    kt = res.get("kitting", {})
    if "error" in kt:
        rows.append(("kitting", "FAILED", kt["error"][:200]))
    elif kt:
        rows += _kitting_rows(kt)
    mr = res.get("mrp", {})
    if "error" in mr:
        rows.append(("mrp", "FAILED", mr["error"][:200]))
    elif mr:
        rows += _mrp_rows(mr)
    al = res.get("allocation", {})
    if "error" in al:
        rows.append(("allocation", "FAILED", al["error"][:200]))
    elif al:
        rows += _allocation_rows(al)
    ag = res.get("aging", {})
    if "error" in ag:
        rows.append(("aging", "FAILED", ag["error"][:200]))
    elif ag:
        for size, a in ag["sizes"].items():
            rows.append((f"AR aging ({ag['database']})", f"{int(size):,} open invoices: p95 / worst",
                         f"{a['p95_ms']:.1f} ms  {a['worst_ms']:.1f} ms"))
        rows.append((f"AR aging ({ag['database']})", "p95 ratio largest / smallest",
                     f"{ag['ratio_p95']}  {'ok' if ag['meets_target'] else 'ABOVE'} target {ag['target_p95_ms']:.0f} ms"))
    fr = res.get("form_request", {})
    if "error" in fr:
        rows.append(("form request", "FAILED", fr["error"][:200]))
    elif fr:
        rows += form_request.summary_rows(fr)
    sl = res.get("start_latency", {})
    if "error" in sl:
        rows.append(("start latency", "FAILED", sl["error"][:200]))
    elif sl:
        rows += _start_latency_rows(sl)
    cp = res.get("capacity", {})
    if "error" in cp:
        rows.append(("capacity", "FAILED", cp["error"][:200]))
    elif cp:
        rows += _capacity_rows(cp)
    return rows


def _start_latency_rows(sl: dict[str, Any]) -> list[tuple[str, str, str]]:
    o, s, u = sl["ours"], sl["skeleton"], sl["skeleton_uws"]
    return [("start latency", f"{sl['clients']} clients: claim POST p50 / p95",
             f"{o['p50_ms']:.1f} ms  {o['p95_ms']:.1f} ms"),
            ("start latency", "skeleton start + Update p50 / p95 (update-with-start p95)",
             f"{s['p50_ms']:.1f} ms  {s['p95_ms']:.1f} ms  ({u['p95_ms']:.1f} ms)"),
            ("start latency", "p95 ours / skeleton (target <= 1.2, < 50 ms if skeleton < 40 ms)",
             f"{sl['p95_ratio']:.3f}  {'ok' if sl['meets_target'] else 'MISSED'}"
             + ("" if sl["valid"] else "  (some starts failed)"))]


def _capacity_rows(cp: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f"capacity ({cp['database']})", "processes per core-second, 1 / 2 workers",
             f"{cp['1_worker']['processes_per_core_second']:.3f}  {cp['2_workers']['processes_per_core_second']:.3f}"),
            (f"capacity ({cp['database']})", "per mixed process: db rows / history events / db bytes",
             f"{cp['db_rows_per_flow']}  {cp['history_events_per_flow_mix']}  {cp['db_bytes_per_flow']:,}")]


def _allocation_rows(al: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for backend in ("sqlite", "postgresql"):
        if backend in al:
            r = al[backend]
            for size in al["sizes"]:
                s = r[str(size)]
                rows.append((f"allocation ({backend})", f"one payment, {size:,} open invoices: median / worst",
                             f"{s['median_ms']:.1f} ms  {s['worst_ms']:.1f} ms"))
            rows.append((f"allocation ({backend})", f"median ratio {al['sizes'][-1]:,} / {al['sizes'][0]:,}",
                         f"{r['median_ratio']:.2f}  {'ok' if r['meets_target'] else 'ABOVE'} target "
                         f"{al['target_ms']:.0f} ms"))
    return rows


def _mrp_rows(mr: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [("mrp", f"all open demand at {key} (growth)",
             f"{s['seconds']:.3f} s  ({s['growth']:.2f})  {s['planned_orders']:,} planned orders"
             + ("" if key != "1x" else f"  {'ok' if mr['meets_target'] else 'ABOVE'} target {mr['target_s']} s"))
            for key, s in mr["sizes"].items()]


def _kitting_rows(kt: dict[str, Any]) -> list[tuple[str, str, str]]:
    sizes = kt["sizes"]
    return [("kitting", f"all open orders at {key} (growth)", f"{s['seconds']:.3f} s  ({s['growth']:.2f})"
             + ("" if key != "1x" else f"  {'ok' if kt['meets_target'] else 'ABOVE'} target {kt['target_s']} s"))
            for key, s in sizes.items()]


def _engine_rows(ef: dict[str, Any]) -> list[tuple[str, str, str]]:
    sk, ours = ef["skeleton"], ef["ours"]
    rows = [
        ("engine floor", "skeleton rate / p50 / p95",
         f"{sk['rate_per_s']:.2f}/s  {sk['p50_ms']:.0f} ms  {sk['p95_ms']:.0f} ms"),
    ]
    if "skeleton_engine_features" in ef:
        fx = ef["skeleton_engine_features"]
        rows.append(("engine floor", "skeleton + SAs/upserts/timer (diagnostic)",
                     f"{fx['rate_per_s']:.2f}/s  {fx['p50_ms']:.0f} ms  {fx['p95_ms']:.0f} ms"))
    rows += [
        ("engine floor", "expense claims rate / p50 / p95",
         f"{ours['rate_per_s']:.2f}/s  {ours['p50_ms']:.0f} ms  {ours['p95_ms']:.0f} ms"),
        ("engine floor", "engine-floor ratio (target >= 0.8)",
         f"{ef['ratio']:.3f}  {'ok' if ef['ratio'] >= TARGET_RATIO else 'BELOW TARGET'}"
         + ("" if ef["valid"] else "  (some flows failed)")),
    ]
    cpu = ours["cpu_ms_per_flow"]
    if "api" in cpu:  # this process's CPU less the bench client's own (bench.common.Lean)
        rows.append(("engine floor", "API CPU per claim (target <= 15 ms)",
                     f"{cpu['api']:.1f} ms  (bench client {cpu['bench_client']:.1f} ms; skeleton's bench "
                     f"{sk['cpu_ms_per_flow']['bench_and_api']:.1f} ms)"))
    return rows


def _lead_to_order_rows(lo: dict[str, Any]) -> list[tuple[str, str, str]]:
    ours, sk = lo["ours"], lo["skeleton"]
    return [
        ("lead to order", "whole path p50 / p95 (HTTP, 1-8)",
         f"{ours['path']['p50_ms']:.0f} ms  {ours['path']['p95_ms']:.0f} ms"),
        ("lead to order", "skeleton p50 / p95", f"{sk['path']['p50_ms']:.0f} ms  {sk['path']['p95_ms']:.0f} ms"),
        ("lead to order", "engine-floor ratio (skeleton p50 / ours p50)",
         f"{lo['ratio']:.3f}" + ("" if lo["valid"] else "  (some runs failed)")),
    ]


def _inbox_rows(ib: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for backend in ("sqlite", "postgresql"):
        if backend in ib:
            r = ib[backend]
            for key in ("small", "big"):
                s = r[key]
                rows += [(f"inbox ({backend})", f"GET /api/tasks p50 / p95, {s['open_tasks']:,} open",
                          f"{s['http_p50_ms']:.2f} ms  {s['http_p95_ms']:.2f} ms"),
                         (f"monitor ({backend})", f"GET /api/processes p50 / p95, {s['processes']:,} processes",
                          f"{s['monitor_p50_ms']:.2f} ms  {s['monitor_p95_ms']:.2f} ms")]
            rows.append((f"inbox ({backend})", "p95 ratio big / small (inbox HTTP, DB query, monitor HTTP)",
                         f"{r['http_p95_ratio']:.2f}  {r['db_p95_ratio']:.2f}  {r['monitor_p95_ratio']:.2f}"))
    return rows


async def _guarded(name: str, run: Callable[[], Awaitable[dict[str, Any]] | dict[str, Any]],
                   report: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """One benchmark: its figures, reported; a failure is recorded and the others still run."""
    console.rule(name)
    try:
        res = run()
        res = await res if inspect.isawaitable(res) else res
        report(res)
        return res
    except Exception as e:
        failed = {"error": f"{type(e).__name__}: {e}"}
        console.print(f"[red]{name} failed: {failed['error']}[/red]")
        return failed


async def run_all() -> dict[str, Any]:
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    ef = await _guarded("engine floor", lambda: engine_floor.run(count=200, rounds=4, engine_features=True),
                        engine_floor.report)
    lo = await _guarded("lead to order", lambda: lead_to_order.run(runs=200), lead_to_order.report)
    ib = await _guarded("inbox", inbox.run, inbox.report)
    kt = await _guarded("kitting", kitting_bench.run, kitting_bench.report)
    mr = await _guarded("mrp", mrp_bench.run, mrp_bench.report)
    al = await _guarded("allocation", bench_allocation.run, bench_allocation.report)
    ag = await _guarded("aging", lambda: bench_aging.run(os.environ.get("DATABASE_URL", ""), (1_000, 100_000), 30),
                        bench_aging.report)
    fr = await _guarded("form request", form_request.run, form_request.report)
    sl = await _guarded("start latency", start_latency_bench.run, start_latency_bench.report)
    cp = await _guarded("capacity", lambda: capacity_bench.run(processes=100, per_type=6), capacity_bench.report)
    return {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "loadavg_before": [round(x, 2) for x in load_before],
                        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                        "database_url_backend": "postgresql" if "postgresql" in ib else "sqlite"},
            "seconds": round(time.perf_counter() - t0, 1), "engine_floor": ef, "lead_to_order": lo,
            "inbox": ib, "kitting": kt, "mrp": mr, "allocation": al, "aging": ag,
            "form_request": fr, "start_latency": sl, "capacity": cp}


def main() -> int:
    res = asyncio.run(run_all())
    table = Table(title="Valueloop benchmarks", show_lines=False)
    for col in ("benchmark", "measure", "result"):
        table.add_column(col)
    for row in summary_rows(res):
        table.add_row(*row)
    console.print(table)
    if RESULTS.exists() and "soak" in (before := json.loads(RESULTS.read_text())):
        res["soak"] = before["soak"]  # the soak (python -m bench.soak) is not run here: its figures stay
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    console.print(f"written to {RESULTS} ({res['seconds']} s; load average before "
                  f"{res['machine']['loadavg_before'][0]}, after {res['machine']['loadavg_after'][0]})")
    return 1 if any("error" in res[k] for k in ("engine_floor", "lead_to_order", "inbox", "kitting", "mrp",
                                               "allocation", "form_request", "start_latency", "capacity")) else 0


if __name__ == "__main__":
    sys.exit(main())
