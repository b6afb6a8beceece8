"""Lead to order through the API: how long each step of issue 4's path takes (p50 / p95 over N runs), and
the path's engine-floor ratio against a skeleton of the same shape (bench/skeleton.py) on the same dev
server, in the same run.

Stack: bench.common.stack, as bench/engine_floor.py uses it (the dev server on SQLite WAL, the demo
company, our worker and the skeleton's each in a process of their own, the API served by uvicorn in
this process). One token per user (alice, bob, grace), taken once.

One run of ours, through HTTP (each numbered step timed on its own):
 1. alice POST /api/leads (a demo customer's name, so qualifying links it) → 201
 2. alice POST /api/leads/{id}/qualify qualified → the opportunity
 3. alice POST /api/opportunities/{opp}/quotations, 10 × FAN-200 at 500, 5 % off → 201 sent
 4. the same at 25 % off, enough of them to take the customer over credit → 201 pending_approval
 5. bob long-polls GET /api/tasks?business_key={quotation}&kind=approval&wait=10 until the discount task
    is there ("task visible", from 4's answer); POST /api/tasks/{id}/complete approve
 6. alice long-polls GET /api/quotations/{q}?wait=10&until=sent; POST /api/quotations/{q}/accept →
    pending_credit_approval
 7. grace: the credit task, as bob in 5
 8. alice long-polls GET /api/quotations/{q}?…&until=accepted until it names its sales order, then
    GET /api/sales-orders/{id}?…&until=in_fulfilment.
"Whole path" is 1 to 8. After it (timed apart, not in the path), alice long-polls GET /api/processes/{lead's}
until it is completed (the opportunity won, its other quotation withdrawn) and checks that the first
quotation is rejected: no run leaves work behind for the next (but the orders, whose fulfilment waits).
Every run is over credit: the orders of earlier runs are open and count against the customer's credit.

The skeleton's run does the same through the Temporal client: start the parent and wait on its
recorded_state Update, the Updates qualify, quote (twice, each followed by the child's recorded_state),
the approval child's `opened` Update (answers once the task is open), its decide Update, the quotation's
`reached` Update (answers once it is sent), its accept Update, the second approval likewise, `reached`
accepted (names the order), the fulfilment child's `reserved`; after the path, the parent's result. Those
waiting Updates are the engine's own waits where our flow polls (the floor); one sent before its child
workflow exists is retried every 20 ms (the first pause of our long polls). Ours waits for a quotation's and
an order's status (6, 8) and the lead's process's end with the API's long polls (`wait=10&until=<status>`), as
the skeleton's waiting Updates answer once the state is there (until issue 21 ours polled them, at 50 ms and
then at 20 ms). Where our client sees a row
an activity wrote (a task, the order in fulfilment), the skeleton sees the activity's completion: one
workflow task later, so on those steps the skeleton can be the slower side.
Both sides are driven with the same concurrency and count, in alternating rounds (skeleton, ours, …).

engine-floor ratio = skeleton p50 / ours p50 of the whole path (as bench/engine_floor.py's rate ratio:
1.0 would be the engine floor itself).

One run at a time by default: a run of ours costs ~1.3 s of CPU (dev server and workers ~1 s), so on two
cores four at a time finish hardly sooner and each step's time is then mostly queueing.

    python -m bench.lead_to_order [--runs 200] [--concurrency 1] [--rounds 4] [--warmup 8] [--poll 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from rich.table import Table
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from api.routes.common import POLL_FIRST
from bench.common import FlowError, Lean, Phase, check, console, drive, ms, pct, progress, save_result, stack
from bench.skeleton import (
    SkelApproval,
    SkelDecision,
    SkelFulfilment,
    SkelLeadToOrder,
    SkelQuotation,
    SkelQuote,
)

T = TypeVar("T")
RESULTS = Path(__file__).with_name("results.json")

STEPS: list[tuple[str, str]] = [
    ("lead", "1 create the lead"),
    ("qualify", "2 qualify → opportunity"),
    ("quote_sent", "3 quotation at 5 % → sent"),
    ("quote_pending", "4 quotation at 25 %, over credit → pending approval"),
    ("discount_task", "5 discount task visible (bob)"),
    ("discount_approved", "5 bob approves"),
    ("sent", "6 quotation shows sent"),
    ("accept", "6 accept → pending credit approval"),
    ("credit_task", "7 credit task visible (grace)"),
    ("credit_approved", "7 grace approves"),
    ("in_fulfilment", "8 order in fulfilment"),
]
PATH, AFTER = "path", "won"
LABELS = dict(STEPS) | {PATH: "whole path (1–8)", AFTER: "after the path: the lead's process completed"}

# Activities on ours, counted from the workflows' code on this path (the skeleton runs one no-op each):
# LeadToOrder record_lead, settle_lead, close_open_tasks (follow-ups), opportunity_won = 4;
# quotation 1 record_quotation, then (withdrawn) close_open_tasks, set_quotation_status = 3;
# quotation 2 record_quotation, set_quotation_status (sent), record_acceptance, close_open_tasks
# (reminders), create_sales_order = 5; two Approvals open_task + change_task = 4; OrderFulfilment
# reserve_sales_order = 1. 17 in all, 14 of them before the order is in fulfilment.
ACTIVITIES = {"total": 17, "before_in_fulfilment": 14}

# Demo customers (credit limit) and a quantity whose 25 %-off total (qty × 375) is over it.
CUSTOMERS = [("Globex Corporation", 200), ("Initech", 200), ("Umbrella Retail", 300)]  # 50,000 20,000 100,000
LEAD = {"contact": "Pat Buyer", "email": "pat@example.com", "source": "trade_show", "estimated_value": "75000"}
FIVE = {"sku": "FAN-200", "qty": "10", "unit_price": "500", "discount_pct": "5"}
TWENTY_FIVE = {"sku": "FAN-200", "unit_price": "500", "discount_pct": "25"}
ENDED = {"rejected", "expired", "cancelled", "lost"}  # a wait that sees one of these will never be satisfied


class Laps:
    """Times the steps of one run."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.steps: dict[str, float] = {}

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step], self.last = now - self.last, now

    def path_done(self) -> None:
        self.steps[PATH] = self.last - self.start


@dataclass
class Side:
    steps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    polls: int = 0  # polls that found nothing yet

    def keep(self, laps: Laps) -> None:
        """A run that finished: its step times count."""
        for k, v in laps.steps.items():
            self.steps[k].append(v)

    def reset(self) -> None:
        self.steps.clear()
        self.polls = 0


def expect(ok: bool, what: str, got: Any) -> None:
    if not ok:
        raise FlowError(f"expected {what}, got {json.dumps(got, default=str)[:300]}")


# --- ours: through HTTP -------------------------------------------------------------------------------

@dataclass
class OurPath(Side):
    http: httpx.AsyncClient | Lean = field(kw_only=True)
    users: dict[str, dict[str, str]] = field(kw_only=True)
    poll: float = field(kw_only=True)  # between polls of GET /api/quotations/… and /api/sales-orders/…

    async def get(self, user: str, url: str, **params: Any) -> Any:
        return check(await self.http.get(url, params=params, headers=self.users[user]), 200)

    async def post(self, user: str, url: str, body: Any, expected: int = 200) -> Any:
        return check(await self.http.post(url, json=body, headers=self.users[user]), expected)

    async def until(self, fetch: Callable[[], Awaitable[T]], ready: Callable[[T], Any], what: str) -> T:
        """Poll every `poll` seconds until `ready`; a view that has ended otherwise fails the run."""
        while True:
            value = await fetch()
            if ready(value):
                return value
            if isinstance(value, dict) and ENDED & {value.get("status"), value.get("stage")}:
                raise FlowError(f"waiting for {what}, got {json.dumps(value, default=str)[:300]}")
            self.polls += 1
            await asyncio.sleep(self.poll)

    async def task(self, user: str, key: str) -> str:
        while not (rows := await self.get(user, "/api/tasks", business_key=key, kind="approval", wait=10)):
            self.polls += 1
        return str(rows[0]["id"])

    async def __call__(self, i: int) -> None:
        company, qty = CUSTOMERS[i % len(CUSTOMERS)]
        lap = Laps()
        r = await self.post("alice", "/api/leads", {**LEAD, "company": company}, 201)
        lead, lead_process = r["lead_id"], r["process_id"]
        lap("lead")
        r = await self.post("alice", f"/api/leads/{lead}/qualify", {"decision": "qualified"})
        expect(bool(r.get("opportunity_id")), "an opportunity", r)
        opp = r["opportunity_id"]
        lap("qualify")
        first = await self.post("alice", f"/api/opportunities/{opp}/quotations", {"lines": [FIVE]}, 201)
        expect(first["status"] == "sent", "the 5 % quotation sent", first)
        lap("quote_sent")
        r = await self.post("alice", f"/api/opportunities/{opp}/quotations",
                            {"lines": [{**TWENTY_FIVE, "qty": str(qty)}]}, 201)
        expect(r["status"] == "pending_approval", "the 25 % quotation pending approval", r)
        quotation = r["quotation_id"]
        lap("quote_pending")
        task = await self.task("bob", quotation)
        lap("discount_task")
        await self.post("bob", f"/api/tasks/{task}/complete", {"decision": "approve"})
        lap("discount_approved")

        def view(until: str) -> Awaitable[Any]:  # a long poll until the quotation has that status
            return self.get("alice", f"/api/quotations/{quotation}", wait=10, until=until)

        await self.until(lambda: view("sent"), lambda q: q["status"] == "sent", f"quotation {quotation} sent")
        lap("sent")
        r = await self.post("alice", f"/api/quotations/{quotation}/accept", None)
        expect(r["status"] == "pending_credit_approval", "the acceptance pending credit approval", r)
        lap("accept")
        task = await self.task("grace", quotation)
        lap("credit_task")
        await self.post("grace", f"/api/tasks/{task}/complete", {"decision": "approve"})
        lap("credit_approved")
        q = await self.until(lambda: view("accepted"), lambda q: q["sales_order_id"],
                             f"quotation {quotation}'s sales order")
        order = q["sales_order_id"]
        await self.until(lambda: self.get("alice", f"/api/sales-orders/{order}", wait=10, until="in_fulfilment"),
                         lambda o: o["status"] == "in_fulfilment", f"sales order {order} in fulfilment")
        lap("in_fulfilment")
        lap.path_done()
        await self.until(lambda: self.get("alice", f"/api/processes/{lead_process}", wait=10, until="completed"),
                         lambda p: p["status"] == "completed", f"process {lead_process} completed")
        q1 = await self.get("alice", f"/api/quotations/{first['quotation_id']}")
        expect(q1["status"] == "rejected", f"quotation {q1['id']} withdrawn once the opportunity was won", q1)
        lap(AFTER)
        self.keep(lap)


# --- the skeleton: through the Temporal client ----------------------------------------------------------

async def update_when_there(client: Client, workflow_id: str, update: Any, *args: Any) -> tuple[Any, int]:
    """A waiting Update (the engine answers when the state is reached), retried while the workflow is not there
    yet, at the pace our long polls start with: its answer, and how many times it was retried."""
    handle = client.get_workflow_handle(workflow_id)
    retries = 0
    while True:
        try:
            return await handle.execute_update(update, *args), retries
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
        retries += 1
        await asyncio.sleep(POLL_FIRST)


@dataclass
class SkeletonPath(Side):
    client: Client = field(kw_only=True)
    task_queue: str = field(kw_only=True)
    run_id: str = field(kw_only=True)

    async def wait(self, workflow_id: str, update: Any, *args: Any) -> Any:
        answer, retries = await update_when_there(self.client, workflow_id, update, *args)
        self.polls += retries
        return answer

    async def __call__(self, i: int) -> None:
        number = f"{self.run_id}-{i}"
        lap = Laps()
        parent = await self.client.start_workflow(
            SkelLeadToOrder.run, number, id=f"skel-lead-{number}", task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
        await parent.execute_update(SkelLeadToOrder.recorded_state)
        lap("lead")
        await parent.execute_update(SkelLeadToOrder.qualify)
        lap("qualify")
        first_id = await parent.execute_update(SkelLeadToOrder.quote, SkelQuote(f"{number}-1", False, False))
        status = await self.client.get_workflow_handle(first_id).execute_update(SkelQuotation.recorded_state)
        expect(status == "sent", "the 5 % quotation sent", status)
        lap("quote_sent")
        child_id = await parent.execute_update(SkelLeadToOrder.quote, SkelQuote(f"{number}-2", True, True))
        quotation = self.client.get_workflow_handle(child_id)
        status = await quotation.execute_update(SkelQuotation.recorded_state)
        expect(status == "pending_approval", "the 25 % quotation pending approval", status)
        lap("quote_pending")
        approval = f"{child_id}/discount-approval"
        task = await self.wait(approval, SkelApproval.opened)
        lap("discount_task")
        await self.client.get_workflow_handle(approval).execute_update(
            SkelApproval.decide, SkelDecision(task_id=task, actor="bob", decision="approve"))
        lap("discount_approved")
        status, _ = await quotation.execute_update(SkelQuotation.reached, "sent")
        expect(status == "sent", "the quotation sent", status)
        lap("sent")
        status = await quotation.execute_update(SkelQuotation.accept)
        expect(status == "pending_credit_approval", "the acceptance pending credit approval", status)
        lap("accept")
        approval = f"{child_id}/credit-approval"
        task = await self.wait(approval, SkelApproval.opened)
        lap("credit_task")
        await self.client.get_workflow_handle(approval).execute_update(
            SkelApproval.decide, SkelDecision(task_id=task, actor="grace", decision="approve"))
        lap("credit_approved")
        status, order = await quotation.execute_update(SkelQuotation.reached, "accepted")
        expect(status == "accepted" and bool(order), "the quotation accepted, with its order", status)
        status = await self.wait(f"{child_id}/order-{order}", SkelFulfilment.reserved)
        expect(status == "in_fulfilment", "the order in fulfilment", status)
        lap("in_fulfilment")
        lap.path_done()
        won = await parent.result()
        expect(won == "won", "the opportunity won", won)
        first = await self.client.get_workflow_handle(first_id).result()
        expect(first == "rejected", "the 5 % quotation withdrawn", first)
        lap(AFTER)
        self.keep(lap)


# --- running and reporting ----------------------------------------------------------------------------

def _stats(values: list[float]) -> dict[str, float]:
    return {"p50_ms": ms(pct(values, 50)), "p95_ms": ms(pct(values, 95))}


def _side(side: Side, phase: Phase) -> dict[str, Any]:
    summary = phase.summary()
    for k in ("p50_ms", "p95_ms", "max_ms"):  # the run as drive() timed it, the after-path check included
        summary[f"run_{k}"] = summary.pop(k)
    return {"steps": {k: _stats(side.steps[k]) for k, _ in STEPS}, PATH: _stats(side.steps[PATH]),
            AFTER: _stats(side.steps[AFTER]), **summary, "empty_polls_per_flow": round(side.polls / max(phase.done, 1), 2)}


async def run(runs: int = 200, concurrency: int = 1, warmup: int = 8, rounds: int = 4,
              poll: float = POLL_FIRST) -> dict[str, Any]:
    load_before, t0 = os.getloadavg(), time.perf_counter()
    names = ("skeleton", "ours")
    phases = {n: Phase() for n in names}
    per_round = max(1, runs // rounds)
    async with stack(concurrency * 3 + 8) as st:
        users = await st.login("alice", "bob", "grace")
        sides: dict[str, OurPath | SkeletonPath] = {
            "skeleton": SkeletonPath(client=st.client, task_queue=st.skeleton_queue, run_id=st.run_id),
            "ours": OurPath(http=st.lean or st.http, users=users, poll=poll)}
        with progress() as bars:
            warm = bars.add_task("warm-up", total=len(names) * warmup)
            for n in names:
                w = Phase()
                await drive(sides[n], 1_000_000, warmup, concurrency, w, lambda: bars.advance(warm))
                if w.errors:
                    raise FlowError(f"{len(w.errors)} warm-up runs of {n} failed; the first: {w.errors[0]}")
                sides[n].reset()
            bar = {n: bars.add_task(f"lead to order: {n}", total=per_round * rounds) for n in names}
            for r_ in range(rounds):
                for n in names:
                    await drive(sides[n], r_ * per_round, per_round, concurrency, phases[n],
                                lambda n=n: bars.advance(bar[n]))  # type: ignore[misc]
    res = {n: _side(sides[n], phases[n]) for n in names}
    skel, ours = res["skeleton"][PATH]["p50_ms"], res["ours"][PATH]["p50_ms"]
    skel_rate, our_rate = phases["skeleton"].rate, phases["ours"].rate
    return {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "runs_each": per_round * rounds, "concurrency": concurrency, "rounds": rounds, "warmup_each": warmup,
            "poll_ms": ms(poll), "customers": [c for c, _ in CUSTOMERS], "activities": ACTIVITIES,
            "temporal_store": "sqlite file, journal_mode=wal, synchronous=normal", **res,
            "ratio": round(skel / ours, 3) if ours else 0.0,
            "ratio_p95": round(res["skeleton"][PATH]["p95_ms"] / res["ours"][PATH]["p95_ms"], 3)
            if res["ours"][PATH]["p95_ms"] else 0.0,
            "rate_ratio": round(our_rate / skel_rate, 3) if skel_rate else 0.0,
            "valid": not any(p.errors for p in phases.values()),
            "seconds": round(time.perf_counter() - t0, 1),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


def report(res: dict[str, Any]) -> None:
    table = Table(title=f"lead to order: {res['runs_each']} runs a side, {res['concurrency']} at a time, "
                        f"{res['rounds']} alternating rounds, poll {res['poll_ms']:.0f} ms")
    table.add_column("step")
    for col in ("ours p50", "ours p95", "skeleton p50", "skeleton p95"):
        table.add_column(col + " (ms)", justify="right")
    ours, skel = res["ours"], res["skeleton"]
    for key, label in [*STEPS, (PATH, LABELS[PATH]), (AFTER, LABELS[AFTER])]:
        o, s = ours["steps"].get(key) or ours[key], skel["steps"].get(key) or skel[key]
        style = "bold" if key == PATH else None
        table.add_row(label, f"{o['p50_ms']:.0f}", f"{o['p95_ms']:.0f}", f"{s['p50_ms']:.0f}", f"{s['p95_ms']:.0f}",
                      style=style, end_section=key in ("in_fulfilment", PATH))
    console.print(table)
    for name, side in (("ours", ours), ("skeleton", skel)):
        cpu = side["cpu_ms_per_flow"]
        console.print(f"  {name:<9} {side['rate_per_s']:.2f} runs/s, cpu/run: bench+API {cpu['bench_and_api']:.0f} ms, "
                      f"temporal+workers {cpu['temporal_server_and_workers']:.0f} ms, "
                      f"empty polls/run {side['empty_polls_per_flow']:.1f}"
                      + (f"   [red]{side['errors']} failed: {side['first_errors'][0]}[/red]" if side["errors"] else ""))
    console.print(f"engine-floor ratio (skeleton p50 / ours p50, whole path): {res['ratio']:.3f}   "
                  f"(p95: {res['ratio_p95']:.3f}; rate ours / skeleton: {res['rate_ratio']:.3f})   "
                  f"{res['seconds']} s, load average {res['loadavg_before'][0]} → {res['loadavg_after'][0]}",
                  markup=False)
    if not res["valid"]:
        console.print("[red]some runs failed: the figures count only the ones that finished[/red]")


def save(res: dict[str, Any]) -> None:
    """Into bench/results.json under "lead_to_order", keeping what the other benchmarks wrote there."""
    save_result("lead_to_order", res)
    console.print(f"written to {RESULTS} (lead_to_order)")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200, help="measured runs per side")
    ap.add_argument("--concurrency", type=int, default=1, help="runs at a time")
    ap.add_argument("--warmup", type=int, default=8, help="warm-up runs per side")
    ap.add_argument("--rounds", type=int, default=4, help="alternating measurement rounds")
    ap.add_argument("--poll", type=float, default=POLL_FIRST,
                    help="poll interval, seconds (the skeleton's retry pace, the API's first long-poll pause)")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results.json")
    a = ap.parse_args(argv)
    res = asyncio.run(run(a.runs, a.concurrency, a.warmup, a.rounds, a.poll))
    report(res)
    if not a.no_save:
        save(res)
    return res


if __name__ == "__main__":
    main()
