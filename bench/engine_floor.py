"""Engine floor: expense claims per second end to end through the HTTP API, divided by the rate of a
skeleton of the same shape (bench/skeleton.py) on the same dev server, in the same worker process,
in the same run.

Stack (bench.common.stack), as `valueloop up` runs it on one machine: the Temporal dev server with its
state in a SQLite file in WAL mode (DESIGN.md rule 8), the domain in a SQLite file holding the demo
company, our worker in a process of its own, the API (uvicorn) in this process and event loop, and N
concurrent client loops (on our side `bench.common.Lean`, a keep-alive HTTP/1.1 client that counts its own CPU); the
skeleton's worker in a process of its own.

Our flow per claim: erin POSTs a claim of 500 (one approval step, frank); frank long-polls
GET /api/tasks?business_key=…&wait=10 until the task is there and POSTs …/complete approve; erin
long-polls GET /api/expense-claims/{id}?wait=10&until=approved. The skeleton flow: start the parent and wait on
its recorded_state Update, poll the child with a query until its task is open, execute the child's
decide Update, await the parent's result. Both are driven with the same concurrency, count and poll
interval; the phases alternate (skeleton, ours, skeleton, ours, …) so that drift hits both.
CPU seconds of this process and of the dev server are counted per flow, to show where the gap is; on our
side this process's figure is split into the API's and the bench client's own (`api`, `bench_client`).

`--engine-features` adds a diagnostic third side (run_all uses it): the skeleton plus the engine work
ExpenseClaim asks for beyond its shape (search attributes, Stage upserts, the SLA timer).
`--only ours|skeleton` runs one side alone, to profile it (py-spy record --gil -- python -m …).

    python -m bench.engine_floor [--count 240] [--concurrency 16] [--rounds 4] [--engine-features]
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from bench.common import FlowError, Lean, Phase, check, console, drive, ms, progress, stack
from bench.skeleton import SkelApproval, SkelClaim, SkelDecision
from workflows.common import AMOUNT, BUSINESS_KEY, OWNER, PROCESS_TYPE, STAGE

CLAIM = {"lines": [{"category": "travel", "amount": "500", "currency": "USD", "date": "2026-11-02",
                    "description": "bench trip"}]}


# --- the two flows ------------------------------------------------------------------------------------

@dataclass
class OurFlow:
    http: Lean
    erin: dict[str, str]
    frank: dict[str, str]
    poll: float
    polls: int = 0  # poll requests that found nothing yet, over all flows

    async def __call__(self, _i: int) -> None:
        h = self.http
        claim = check(await h.post("/api/expense-claims", json=CLAIM, headers=self.erin), 201)["claim_id"]
        # Long polls (`wait`), as the skeleton waits on Temporal's own long poll (handle.result()).
        while not (rows := check(await h.get("/api/tasks", params={"business_key": claim, "wait": 10},
                                             headers=self.frank), 200)):
            self.polls += 1
        check(await h.post(f"/api/tasks/{rows[0]['id']}/complete", json={"decision": "approve", "comment": "ok"},
                           headers=self.frank), 200)
        path = f"/api/expense-claims/{claim}"
        while check(await h.get(path, params={"wait": 10, "until": "approved"}, headers=self.erin),
                    200)["status"] != "approved":
            self.polls += 1


@dataclass
class SkeletonFlow:
    client: Client
    task_queue: str
    run_id: str
    poll: float
    engine_features: bool = False
    polls: int = 0

    async def __call__(self, i: int) -> None:
        number = f"SK-{i:05d}"
        search = None
        if self.engine_features:  # what Platform._search sets on an expense claim
            search = TypedSearchAttributes([
                SearchAttributePair(PROCESS_TYPE, "expense_claim"), SearchAttributePair(BUSINESS_KEY, number),
                SearchAttributePair(OWNER, "erin"), SearchAttributePair(AMOUNT, 500.0),
                SearchAttributePair(STAGE, "submitted")])
        handle = await self.client.start_workflow(
            SkelClaim.run, args=[number, self.engine_features], id=f"skel-claim-{self.run_id}-{i}",
            task_queue=self.task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search)
        await handle.execute_update(SkelClaim.recorded_state)
        child = self.client.get_workflow_handle(f"{handle.id}/approval")
        while True:
            try:
                task_id = await child.query(SkelApproval.task)
            except RPCError as e:  # the child is not there yet, or has not run its first task
                if e.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                    raise
                task_id = None
            if task_id:
                break
            self.polls += 1
            await asyncio.sleep(self.poll)
        await child.execute_update(SkelApproval.decide, SkelDecision(task_id=task_id, actor="frank",
                                                                     decision="approve"))
        if await handle.result() != "approved":
            raise FlowError(f"skeleton {handle.id} did not end approved")


SIDES = {"skeleton": "skeleton (Temporal only)", "skeleton_engine_features": "skeleton + SAs, upserts, timer",
         "ours": "expense claims via HTTP"}


async def run(count: int = 240, concurrency: int = 16, warmup: int = 32, rounds: int = 4,
              poll: float = 0.05, only: str | None = None, engine_features: bool = False) -> dict[str, Any]:
    """Measure both sides. `only` ("ours" or "skeleton") runs one side alone, for profiling;
    `engine_features` adds a third side, the skeleton plus the engine work ExpenseClaim asks for
    beyond its shape (search attributes, Stage upserts, SLA timer), to attribute the gap."""
    names = [n for n in SIDES if (only is None or n == only)
             and (n != "skeleton_engine_features" or (engine_features and only is None))]
    phases = {n: Phase() for n in names}
    per_round = max(1, count // rounds)
    client_cpu = 0.0  # seconds the Lean client spent in the measured rounds of our side
    async with stack(concurrency * 2 + 8) as st:
        tokens = await st.login("erin", "frank")
        assert st.lean is not None
        lean = st.lean
        flows: dict[str, OurFlow | SkeletonFlow] = {
            "skeleton": SkeletonFlow(st.client, st.skeleton_queue, f"{st.run_id}-p", poll),
            "skeleton_engine_features": SkeletonFlow(st.client, st.skeleton_queue, f"{st.run_id}-f", poll,
                                                     engine_features=True),
            "ours": OurFlow(lean, tokens["erin"], tokens["frank"], poll)}
        with progress() as bars:
            warm = bars.add_task("warm-up", total=len(names) * warmup)
            for n in names:
                w = Phase()
                await drive(flows[n], 1_000_000, warmup, concurrency, w, lambda: bars.advance(warm))
                if w.errors:
                    raise FlowError(f"{len(w.errors)} warm-up flows of {n} failed; the first: {w.errors[0]}")
                flows[n].polls = 0
            bar = {n: bars.add_task(SIDES[n], total=per_round * rounds) for n in names}
            for r_ in range(rounds):
                for n in names:
                    before = lean.cpu
                    await drive(flows[n], r_ * per_round, per_round, concurrency, phases[n],
                                lambda n=n: bars.advance(bar[n]))  # type: ignore[misc]
                    if n == "ours":
                        client_cpu += lean.cpu - before
        for n in names:
            phases[n].polls = flows[n].polls
    skel, ours = phases.get("skeleton"), phases.get("ours")
    ratio = ours.rate / skel.rate if skel and ours and skel.rate else 0.0
    feat = phases.get("skeleton_engine_features")
    extra = {"ratio_vs_skeleton_with_engine_features": round(ours.rate / feat.rate, 3)} \
        if feat and ours and feat.rate else {}
    summaries = {n: p.summary() for n, p in phases.items()}
    if ours is not None:  # what the API alone spent: this process's CPU less the bench client's own
        cpu = summaries["ours"]["cpu_ms_per_flow"]
        cpu["bench_client"] = ms(client_cpu / max(ours.done, 1))
        cpu["api"] = round(cpu["bench_and_api"] - cpu["bench_client"], 2)
    return {"concurrency": concurrency, "count_each": per_round * rounds, "rounds": rounds, "warmup_each": warmup,
            "poll_ms": ms(poll), "temporal_store": "sqlite file, journal_mode=wal, synchronous=normal",
            **summaries, "ratio": round(ratio, 3), **extra,
            "valid": not any(p.errors for p in phases.values())}


def report(res: dict[str, Any]) -> None:
    console.print(f"[bold]engine floor[/bold]: {res['count_each']} flows each, {res['concurrency']} concurrent, "
                  f"{res['rounds']} alternating rounds, poll {res['poll_ms']:.0f} ms, dev server on SQLite WAL")
    for key, label in SIDES.items():
        if key not in res:
            continue
        p = res[key]
        cpu = p["cpu_ms_per_flow"]
        console.print(f"  {label:<31} {p['rate_per_s']:7.2f} /s   p50 {p['p50_ms']:7.1f} ms   "
                      f"p95 {p['p95_ms']:7.1f} ms   cpu/flow: bench+API {cpu['bench_and_api']:.1f} ms"
                      + (f" (API {cpu['api']:.1f}, client {cpu['bench_client']:.1f})" if "api" in cpu else "")
                      + ", "
                      f"temporal+worker {cpu['temporal_server_and_workers']:.1f} ms   empty polls/flow {p['empty_polls_per_flow']:.1f}"
                      + (f"   [red]{p['errors']} errors: {p['first_errors'][0]}[/red]" if p["errors"] else ""))
    if "ratio_vs_skeleton_with_engine_features" in res:
        console.print(f"  (diagnostic) claims / skeleton with engine features: "
                      f"{res['ratio_vs_skeleton_with_engine_features']:.3f}")
    console.print(f"engine-floor ratio: {res['ratio']:.3f}", markup=False)
    if not res["valid"]:
        console.print("[red]some flows failed: the ratio counts only the ones that finished[/red]")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=240, help="measured flows per side")
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent client loops")
    ap.add_argument("--warmup", type=int, default=32, help="warm-up flows per side")
    ap.add_argument("--rounds", type=int, default=4, help="alternating measurement rounds")
    ap.add_argument("--poll", type=float, default=0.05, help="poll interval, seconds")
    ap.add_argument("--only", choices=["ours", "skeleton"], help="run one side alone (for profiling)")
    ap.add_argument("--engine-features", action="store_true",
                    help="also measure the skeleton with search attributes, Stage upserts and an SLA timer")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    a = parse_args(argv)
    res = asyncio.run(run(a.count, a.concurrency, a.warmup, a.rounds, a.poll, a.only, a.engine_features))
    report(res)
    return res


if __name__ == "__main__":
    main()
