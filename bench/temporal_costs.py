"""What one workflow feature costs the Temporal server (issue 21: where the soak's gap on Temporal's side goes).

Our processes differ from the soak's skeleton on Temporal's side by what the design asks of them and the
skeleton leaves out: Stage search attribute upserts (DESIGN.md rule 6), a TemporalChangeVersion upsert with the
marker of each `workflow.patched` (the SDK's core adds it), the SLA timers of approval tasks (started, then
cancelled when the task is decided), an activity more here and there. This bench prices each on the dev server
as `valueloop up` runs it (SQLite, WAL): executions of a tiny workflow (two no-op activities) run with one more of
a feature, in alternating rounds (base, +upsert, +patch, +timer, +activity, +describe, base, …; the describe is
the client's, once the workflow has ended, as the process view asks it), and the dev server's CPU
(read from /proc) per execution is compared with the base's. The worker runs in this process, so only the
server's CPU is counted.

    python -m bench.temporal_costs [--executions 150] [--rounds 3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.table import Table
from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.common import CpuMeter, console, save_result, start_dev_server

FEATURES = ("base", "upsert", "patch", "timer", "activity", "describe")
STAGE = SearchAttributeKey.for_keyword("Stage")


@activity.defn
def noop(n: int) -> int:
    return n


@workflow.defn
class Tiny:
    """Two no-op activities, and between them one more of `feature` (none for "base")."""

    @workflow.run
    async def run(self, feature: str) -> str:
        opts: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30)}
        await workflow.execute_activity(noop, 1, **opts)
        timer = None
        if feature == "upsert":
            workflow.upsert_search_attributes([STAGE.value_set("next")])
        elif feature == "patch":
            workflow.patched("tiny-patch")
        elif feature == "timer":  # an SLA timer: started, then cancelled once what it watched is done
            timer = asyncio.ensure_future(asyncio.sleep(3600))
        elif feature == "activity":
            await workflow.execute_activity(noop, 2, **opts)
        await workflow.execute_activity(noop, 3, **opts)
        if timer is not None:
            timer.cancel()
        return feature


async def run(executions: int = 150, rounds: int = 3, concurrency: int = 16, warmup: int = 20) -> dict[str, Any]:
    meters = {f: CpuMeter() for f in FEATURES}
    done: dict[str, int] = defaultdict(int)
    last: dict[str, str] = {}  # a workflow id of each variant, whose history is counted
    with tempfile.TemporaryDirectory(prefix="valueloop-tcost-") as tmp:
        env = await start_dev_server(Path(tmp))
        queue = f"tcost-{uuid.uuid4().hex[:8]}"
        try:
            async with Worker(env.client, task_queue=queue, workflows=[Tiny], activities=[noop],
                              activity_executor=ThreadPoolExecutor(16), workflow_runner=UnsandboxedWorkflowRunner()):
                async def batch(feature: str, n: int) -> None:
                    turns = asyncio.Semaphore(concurrency)

                    async def one(i: int) -> None:
                        async with turns:
                            wid = f"tiny-{feature}-{uuid.uuid4().hex}"
                            await env.client.execute_workflow(Tiny.run, feature, id=wid, task_queue=queue)
                            if feature == "describe":  # what GET /api/processes/{id} asks of a process besides
                                await env.client.get_workflow_handle(wid).describe()
                            last[feature] = wid

                    await asyncio.gather(*(one(i) for i in range(n)))

                for feature in FEATURES:  # warm-up
                    await batch(feature, warmup)
                t0 = time.perf_counter()
                for _ in range(rounds):
                    for feature in FEATURES:
                        await asyncio.sleep(1.0)  # the last round's visibility tasks settle before measuring
                        with meters[feature].measure():
                            await batch(feature, executions)
                            await asyncio.sleep(1.0)  # and this round's, inside the measurement
                        done[feature] += executions
                events = {f: len((await env.client.get_workflow_handle(last[f]).fetch_history()).events)
                          for f in FEATURES}
        finally:
            await env.shutdown()
    per = {f: 1000 * meters[f].by_child["temporal"] / done[f] for f in FEATURES}
    return {"executions_per_feature": done["base"], "rounds": rounds, "seconds": round(time.perf_counter() - t0, 1),
            "events": events,
            "server_cpu_ms_per_execution": {f: round(v, 2) for f, v in per.items()},
            "marginal_ms": {f: round(per[f] - per["base"], 2) for f in FEATURES if f != "base"}}


def report(res: dict[str, Any]) -> None:
    table = Table(title=f"Temporal dev server CPU per execution ({res['executions_per_feature']} executions of "
                        f"each, {res['rounds']} alternating rounds)")
    for col in ("workflow", "history events", "server CPU ms / execution", "one more of it costs, ms"):
        table.add_column(col, justify="right" if col != "workflow" else "left")
    for f, v in res["server_cpu_ms_per_execution"].items():
        table.add_row("two no-op activities" if f == "base" else f"+1 {f}", str(res["events"][f]), f"{v:.2f}",
                      "" if f == "base" else f"{res['marginal_ms'][f]:+.2f}")
    console.print(table)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--executions", type=int, default=150, help="executions of each variant per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)
    res = asyncio.run(run(args.executions, args.rounds, args.concurrency))
    report(res)
    if not args.no_save:
        save_result("temporal_costs", res)
    return res


if __name__ == "__main__":
    main()
