"""Net-change MRP after one order changes, beside the regenerative run, on the generated company of
bench/mrp.py (bench/planning_data.py: at 1×, 10,000 items, 50,000 BOM lines, 6 levels, 1,000 open orders).

In one process: the regenerative run (domain/planning/mrp.py: run_mrp, best of --repeat); a net-change
planner made from a full run (domain/planning/net_change.py); then --changes times, one open order changes
(a different order each time, drawn with a fixed seed: its lines' quantities up or down by 1-10 and, one time
in three, its requested date moved by up to a week) and the planner re-plans what it reaches and gives the
whole result (every planned order and exception, as run_mrp gives them). Each change is timed from the
changes to the result (re-planning, then the whole result as run_mrp gives it); the median and the slowest are reported, with CPU seconds beside (other processes'
turns count in the wall clock on a shared machine). After the last change, the planner's result is compared
with a new regenerative run over the changed company: it must be the same.

Target (issue 20): under 100 ms after one order changes at 1× (the median of the changes).

    python -m bench.mrp_net_change [--scales 1] [--repeat 3] [--changes 20]
        (writes "mrp_net_change" into bench/results.json)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bench.common import RESULTS, console, progress, save_result
from bench.mrp import inputs
from domain.planning.mrp import Demand, run_mrp
from domain.planning.net_change import Changes, NetChangePlanner
from domain.planning.replanning import keep_aside

TARGET_MS = 100.0


def one_order_changes(rng: random.Random, demand: list[Demand], number: str) -> Changes:
    """Order `number`'s lines with new quantities (and maybe a new date); `demand` is changed in place too."""
    old = [d for d in demand if d.pegged_to == number]
    shift = timedelta(days=rng.randint(-7, 7)) if rng.random() < 1 / 3 else timedelta(0)
    new = [Demand(d.sku, max(d.qty + rng.choice((-1, 1)) * rng.randint(1, 10), Decimal(1)), d.due_date + shift,
                  d.pegged_to) for d in old]
    for d in old:
        demand.remove(d)
    demand += new
    return Changes(demand_added=tuple(new), demand_removed=tuple(old))


def run(scales: tuple[int, ...] = (1,), repeat: int = 3, changes: int = 20) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    load_before = os.getloadavg()[0]
    rng = random.Random(20)
    with progress() as bars:
        task = bars.add_task("net change", total=len(scales) * (repeat + changes + 2))
        for scale in scales:
            bars.update(task, description=f"{scale}×: generating")
            kwargs, described = inputs(scale)
            bars.advance(task)
            full, full_cpu = [], []
            for i in range(repeat):
                bars.update(task, description=f"{scale}×: regenerative run {i + 1}/{repeat}")
                t0, c0 = time.perf_counter(), time.process_time()
                run_mrp(**kwargs)
                full.append(time.perf_counter() - t0)
                full_cpu.append(time.process_time() - c0)
                bars.advance(task)
            bars.update(task, description=f"{scale}×: making the net-change planner")
            t0 = time.perf_counter()
            planner = NetChangePlanner(**kwargs)
            planner.result()  # the full run's result, as a full run gives it
            keep_aside()  # as the API process does with the state it keeps
            made_s = time.perf_counter() - t0
            bars.advance(task)
            numbers = rng.sample(sorted({d.pegged_to for d in kwargs["demand"]}), changes)
            times, cpu, replanned, replan_s = [], [], [], []
            for number in numbers:
                bars.update(task, description=f"{scale}×: {number} changes")
                change = one_order_changes(rng, kwargs["demand"], number)
                t0, c0 = time.perf_counter(), time.process_time()
                replanned.append(planner.apply(change))
                replan_s.append(time.perf_counter() - t0)
                result = planner.result()
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                bars.advance(task)
            same = result == run_mrp(**kwargs)
            median_ms = statistics.median(times) * 1000
            sizes[f"{scale}x"] = {
                "company": described, "regenerative_s": round(min(full), 3),
                "regenerative_cpu_s": round(min(full_cpu), 3), "planner_made_s": round(made_s, 3),
                "changes": changes, "median_ms": round(median_ms, 1), "max_ms": round(max(times) * 1000, 1),
                "median_cpu_ms": round(statistics.median(cpu) * 1000, 1),
                "median_replan_ms": round(statistics.median(replan_s) * 1000, 1),
                "ratio": round(min(full) / statistics.median(times), 1),
                "cpu_ratio": round(min(full_cpu) / statistics.median(cpu), 1),
                "items": len(kwargs["items"]), "items_replanned_median": int(statistics.median(replanned)),
                "items_replanned_max": max(replanned), "planned_orders": len(result.planned_orders),
                "same_as_regenerative": same}
            del kwargs, planner, result
    first = sizes[f"{scales[0]}x"]
    return {"target_ms": TARGET_MS, "repeat": repeat, "sizes": sizes,
            "meets_target": all(s["same_as_regenerative"] for s in sizes.values())
            and (scales[0] != 1 or first["median_ms"] < TARGET_MS),
            "loadavg_before": round(load_before, 2), "loadavg_after": round(os.getloadavg()[0], 2)}


def report(res: dict[str, Any]) -> None:
    console.print(f"[bold]mrp_net_change[/bold]: one open order changes, net change beside regenerative "
                  f"(load average {res['loadavg_before']} before, {res['loadavg_after']} after)")
    for key, s in res["sizes"].items():
        console.print(
            f"  {key:>3}  net change {s['median_ms']:.1f} ms median (CPU {s['median_cpu_ms']:.1f} ms), "
            f"slowest {s['max_ms']:.1f} ms over {s['changes']} changes (re-planning {s['median_replan_ms']:.1f} ms of it, "
            f"the rest making the result); regenerative {s['regenerative_s']:.3f} s "
            f"(CPU {s['regenerative_cpu_s']:.3f} s, best of {res['repeat']}): {s['ratio']}× faster "
            f"({s['cpu_ratio']}× in CPU time)")
        console.print(f"       {s['company']}; {s['items_replanned_median']:,} of {s['items']:,} items re-planned "
                      f"(median; at most {s['items_replanned_max']:,}); {s['planned_orders']:,} planned orders; "
                      f"planner made in {s['planner_made_s']:.3f} s; same as a regenerative run after the last "
                      f"change: {'yes' if s['same_as_regenerative'] else 'NO'}")
    console.print(f"  target under {res['target_ms']:.0f} ms at 1×: {'ok' if res['meets_target'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=int, nargs="+", default=[1])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--changes", type=int, default=20)
    a = ap.parse_args(argv)
    res = run(tuple(a.scales), a.repeat, a.changes)
    report(res)
    save_result("mrp_net_change", res)
    console.print(f"written to {RESULTS} (mrp_net_change)")
    return res


if __name__ == "__main__":
    main()
