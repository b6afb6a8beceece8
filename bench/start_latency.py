"""Start latency (issue 21, item 2): how long a process start takes at 50 concurrent clients, ours beside the
skeleton's, on the same dev server in the same run.

Stack: bench.common.stack, as bench/engine_floor.py uses it (the Temporal dev server on SQLite WAL, the demo
company in a SQLite file, our worker and the skeleton's each in a process of their own, the API served by uvicorn
in this process). Starts arrive at `--rate` a second (Poisson arrivals: exponential gaps, so they do bunch up
at times), each sent by one of `--clients` concurrent clients; a start's latency runs from its arrival to its
answer (waiting for a free client included, should all 50 be busy). With `--rate 0` the clients run closed
loops (a client sends its next start as soon as the last one answered): then the
machine is saturated and the latency is the queue, clients / throughput.

What one start is, on each side:
- ours: erin POSTs /api/expense-claims (a claim of 500) until its 201 answer. The 201 comes once the claim's
  process has been started in Temporal and its first activity has recorded the claim (the API waits on the
  workflow's `recorded_state` Update, or starts it with update-with-start where the starter does that): the
  answer carries the claim and process ids.
- skeleton: SkelClaim (bench/skeleton.py: the same shape, activities that do nothing) started through the
  Temporal client, then its `recorded_state` Update executed, as bench/engine_floor.py's SkeletonFlow starts
  one: two round trips, start and answer, the engine floor for "start, and say it is recorded".
- skeleton, update-with-start (diagnostic, not in the target): the same workflow and Update in one call
  (Client.execute_update_with_start_workflow): the floor for a starter that uses it.
The processes are left waiting for their approval (nothing else is driven); each side's phases alternate
(skeleton, update-with-start, ours, skeleton, …) so that drift hits all of them.

Target: ours p95 within 1.2× of the skeleton's, and under 50 ms where the skeleton's p95 is under 40 ms.

    python -m bench.start_latency [--clients 50] [--rate 3] [--starts 200] [--rounds 4] [--warmup 30] [--no-save]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from bench.common import RESULTS, FlowError, Phase, check, console, drive, progress, save_result, stack
from bench.skeleton import SkelClaim

CLAIM = {"lines": [{"category": "travel", "amount": "500", "currency": "USD", "date": "2026-11-02",
                    "description": "start latency"}]}
TARGET_FACTOR = 1.2  # ours p95 at most this times the skeleton's
TARGET_ABS_MS = 50.0  # ... and under this where the skeleton's p95 is under SKELETON_FAST_MS
SKELETON_FAST_MS = 40.0


def meets_target(ours_p95_ms: float, skeleton_p95_ms: float) -> bool:
    """Ours within TARGET_FACTOR of the skeleton's p95, and under TARGET_ABS_MS where the skeleton is fast."""
    if not skeleton_p95_ms > 0 or not ours_p95_ms > 0:
        return False
    if ours_p95_ms > TARGET_FACTOR * skeleton_p95_ms:
        return False
    return skeleton_p95_ms >= SKELETON_FAST_MS or ours_p95_ms < TARGET_ABS_MS


@dataclass
class OurStart:
    http: httpx.AsyncClient
    erin: dict[str, str]

    async def __call__(self, _i: int) -> None:
        body = check(await self.http.post("/api/expense-claims", json=CLAIM, headers=self.erin), 201)
        if not body.get("claim_id") or not body.get("process_id"):
            raise FlowError(f"a 201 without its claim and process: {str(body)[:200]}")


@dataclass
class SkeletonStart:
    client: Client
    task_queue: str
    run_id: str
    with_start: bool = False

    async def __call__(self, i: int) -> None:
        number, wf_id = f"SL-{i:06d}", f"skel-start-{self.run_id}-{i}"
        if self.with_start:
            op = WithStartWorkflowOperation(SkelClaim.run, args=[number, False], id=wf_id,
                                            task_queue=self.task_queue,
                                            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
            status = await self.client.execute_update_with_start_workflow(SkelClaim.recorded_state,
                                                                          start_workflow_operation=op)
        else:
            handle = await self.client.start_workflow(SkelClaim.run, args=[number, False], id=wf_id,
                                                      task_queue=self.task_queue,
                                                      id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
            status = await handle.execute_update(SkelClaim.recorded_state)
        if not status:
            raise FlowError(f"skeleton {wf_id} answered no state")


async def paced(flow: Callable[[int], Awaitable[None]], first: int, n: int, clients: int, rate: float,
                phase: Phase, on_done: Callable[[], None], rng: random.Random) -> None:
    """Starts first..first+n-1 arriving at `rate` a second (Poisson: exponential gaps), each sent by one of
    `clients` concurrent clients (a start that arrives while all of them wait for an answer waits for a free
    one, and its latency counts from its arrival); rate 0: closed loops (bench.common.drive)."""
    if rate <= 0:
        await drive(flow, first, n, clients, phase, on_done)
        return
    free = asyncio.Semaphore(clients)

    async def one(i: int, arrived: float) -> None:
        try:
            async with free:
                async with asyncio.timeout(120):
                    await flow(i)
        except Exception as e:
            phase.errors.append(f"{type(e).__name__}: {e}"[:300])
        else:
            phase.latencies.append(time.perf_counter() - arrived)
            phase.done += 1
        on_done()

    t0 = time.perf_counter()
    with phase.cpu.measure():
        tasks, due = [], t0
        for i in range(first, first + n):
            due += rng.expovariate(rate)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i, time.perf_counter())))
        await asyncio.gather(*tasks)
    phase.elapsed += time.perf_counter() - t0
    if len(phase.errors) >= 10:
        raise FlowError(f"{len(phase.errors)} starts failed; the first: {phase.errors[0]}")


SIDES = {"skeleton": "skeleton: start + Update", "skeleton_uws": "skeleton: update-with-start (diag.)",
         "ours": "ours: POST /api/expense-claims"}


async def run(clients: int = 50, starts: int = 200, rounds: int = 4, warmup: int = 30, rate: float = 3.0
              ) -> dict[str, Any]:
    rng = random.Random(21)
    load_before = os.getloadavg()
    phases = {n: Phase() for n in SIDES}
    per_round = max(1, starts // rounds)
    async with stack(clients + 8) as st:
        tokens = await st.login("erin")
        flows: dict[str, OurStart | SkeletonStart] = {
            "skeleton": SkeletonStart(st.client, st.skeleton_queue, f"{st.run_id}-s"),
            "skeleton_uws": SkeletonStart(st.client, st.skeleton_queue, f"{st.run_id}-u", with_start=True),
            "ours": OurStart(st.http, tokens["erin"])}
        with progress() as bars:
            warm = bars.add_task("warm-up", total=len(SIDES) * warmup)
            for n in SIDES:
                w = Phase()
                await paced(flows[n], 1_000_000, warmup, clients, rate, w, lambda: bars.advance(warm), rng)
                if w.errors:
                    raise FlowError(f"{len(w.errors)} warm-up starts of {n} failed; the first: {w.errors[0]}")
            bar = {n: bars.add_task(SIDES[n], total=per_round * rounds) for n in SIDES}
            for r_ in range(rounds):
                for n in SIDES:
                    await paced(flows[n], r_ * per_round, per_round, clients, rate, phases[n],
                                lambda n=n: bars.advance(bar[n]), rng)  # type: ignore[misc]
    sides = {n: p.summary() for n, p in phases.items()}
    for s in sides.values():
        s.pop("empty_polls_per_flow", None)
    ours, skel = sides["ours"]["p95_ms"], sides["skeleton"]["p95_ms"]
    uws = sides["skeleton_uws"]["p95_ms"]
    return {"clients": clients, "offered_rate_per_s": rate, "starts_each": per_round * rounds, "rounds": rounds, "warmup_each": warmup,
            "temporal_store": "sqlite file, journal_mode=wal, synchronous=normal", **sides,
            "p95_ratio": round(ours / skel, 3) if skel else 0.0,
            "p95_ratio_vs_update_with_start": round(ours / uws, 3) if uws else 0.0,
            "target": f"ours p95 <= {TARGET_FACTOR}x skeleton p95, and < {TARGET_ABS_MS:.0f} ms where the "
                      f"skeleton p95 < {SKELETON_FAST_MS:.0f} ms",
            "meets_target": meets_target(ours, skel),
            "valid": not any(p.errors for p in phases.values()),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


def report(res: dict[str, Any]) -> None:
    console.print(f"[bold]start latency[/bold]: {res['starts_each']} starts a side, {res['clients']} concurrent "
                  f"clients ({'offering ' + format(res['offered_rate_per_s'], 'g') + ' starts/s in all' if res['offered_rate_per_s'] else 'closed loop'}), {res['rounds']} alternating rounds, dev server on SQLite WAL")
    for key, label in SIDES.items():
        p = res[key]
        cpu = p["cpu_ms_per_flow"]
        console.print(f"  {label:<36} p50 {p['p50_ms']:7.1f} ms   p95 {p['p95_ms']:7.1f} ms   "
                      f"max {p['max_ms']:7.1f} ms   {p['rate_per_s']:7.1f} starts/s   cpu/start: bench+API "
                      f"{cpu['bench_and_api']:.1f} ms, temporal+workers {cpu['temporal_server_and_workers']:.1f} ms"
                      + (f"   [red]{p['errors']} errors: {p['first_errors'][0]}[/red]" if p["errors"] else ""))
    console.print(f"start p95: ours {res['ours']['p95_ms']:.1f} ms, skeleton {res['skeleton']['p95_ms']:.1f} ms, "
                  f"ratio {res['p95_ratio']:.3f} ({'meets' if res['meets_target'] else 'MISSES'} target: "
                  f"{res['target']}); vs update-with-start {res['p95_ratio_vs_update_with_start']:.3f}; "
                  f"load average {res['loadavg_before'][0]} -> {res['loadavg_after'][0]}", markup=False)
    if not res["valid"]:
        console.print("[red]some starts failed: the figures count only the ones that answered[/red]")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50, help="concurrent client loops")
    ap.add_argument("--rate", type=float, default=3.0, help="starts a second offered by all clients (0: closed loop)")
    ap.add_argument("--starts", type=int, default=200, help="measured starts per side")
    ap.add_argument("--rounds", type=int, default=4, help="alternating measurement rounds")
    ap.add_argument("--warmup", type=int, default=30, help="warm-up starts per side")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results.json")
    a = ap.parse_args(argv)
    res = asyncio.run(run(a.clients, a.starts, a.rounds, a.warmup, a.rate))
    report(res)
    if not a.no_save:
        save_result("start_latency", res)
        console.print(f"written to {RESULTS} (start_latency)")
    return res


if __name__ == "__main__":
    main()
