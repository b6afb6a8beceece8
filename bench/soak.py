"""Soak (issue 7): N processes of mixed types driven to their end through the HTTP API by concurrent
clients; throughput, p50/p95 per type, the engine-floor ratio against skeleton workflows of the same shapes
(bench/skeleton.py) on the same dev server in the same run; and at the end a check that nothing was lost or
is stuck (exit status 1 if anything is).

Stack: bench.common.stack, as bench/engine_floor.py uses it (the Temporal dev server on SQLite WAL, the demo
company in a SQLite file, our worker and the skeleton's each in a process of their own, the API served by
uvicorn in this process). One token per demo user, taken once. Before the run admin adds FAN-200 to stock
(enough for every lead-to-order run), so that each sales order can be reserved in full and delivered.

The mix, in a cycle of 20 (flow i is of type MIX[i % 20], interleaved); each flow ends when its process is closed:
- claim_paid (8 in 20): erin claims 500; frank long-polls his inbox (GET /api/tasks?business_key=…&wait=10) and
  approves; erin long-polls the claim until approved; grace pays it (POST …/pay); the process is completed.
- claim_rejected (3): as above, frank rejects with a comment; erin long-polls until rejected.
- purchase_small (3): dave requisitions 10 × MOTOR-200W at 200 (2,000: frank approves); dave polls the
  requisition until ordered; ivan receives all of it (POST /api/purchase-orders/{po}/receipts); dave polls
  until received.
- purchase_large (3): the same at 40 × 200 (8,000: frank, then heidi).
- lead_to_order (3): bench/lead_to_order.py's OurPath (lead, qualify, two quotations, the discount approved by
  bob, accepted, the credit approved by grace, the order in fulfilment, the lead's process completed), then
  alice delivers the order (POST /api/sales-orders/{id}/deliver) and its process is completed. The delivery
  issues the customer's invoice, whose collection process (CustomerInvoice) runs on until it is paid: see
  "settling" below.
A process's end and a document's status are long polls (GET /api/processes/{id}?wait=10&until=completed,
GET /api/purchase-requisitions/{n}?wait=10&until=ordered, and the quotation's and sales order's in lead to
order). The one poll left, a delivery refused (409) while the order is still reserving, is repeated every
POLL_FIRST (20 ms, the first pause of the API's own long polls). A receipt is
sent once, as soon as the requisition shows its order: the workflow takes it even if it has not yet had the
answer of the activity that placed the order (a 409 there was a bug this bench found).

The skeleton side drives the same mix through the Temporal client on the same dev server: SkelPaidClaim,
SkelClaim (rejected), SkelPurchase (one or two steps) and SkeletonPath of bench/lead_to_order.py (then the
fulfilment child's `deliver` Update, as ours delivers the order), each to the workflow's result; the waits are the engine's
own (waiting Updates). Same concurrency and count; the phases alternate (skeleton, ours, skeleton, ours…).

engine-floor ratio = ours throughput / skeleton throughput (and p50 skeleton / ours per type).

Before the warm-up the demo history's open invoices get their collection processes, as `valueloop up --demo`
starts them (api/starters/invoice_collection.py). After the timed rounds (so the timed part and its ratio
compare the same work on both sides, as before invoices had processes), settling: grace pays every open
customer invoice, one payment per customer and currency (POST /api/payments without allocations: the oldest
first), with the concurrency of the run; each payment's flow ends when the processes of the invoices it paid
are completed (they learn of it by signal). Reported apart ("settle": payments, invoices, p50/p95 of a payment
recorded and of its invoices' processes closed).

At the end, over the database and Temporal: process rows by status (none running), workflows still running
in Temporal (ExecutionStatus="Running": none), open tasks (none), every document of the run in its end
state (every customer invoice paid), journal entries / stock movements / approval decisions not duplicated
(the run's entries per voucher: one per claim, claim payment, receipt, delivery's cost of goods sold,
customer invoice and payment), the trial balance even, the sub-ledgers equal to their control accounts.

    python -m bench.soak [--processes 1000] [--concurrency 16] [--rounds 4] [--warmup 20] [--no-save]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from rich.table import Table
from sqlalchemy import func, select, text
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api.routes.common import POLL_FIRST
from api.starters import invoice_collection
from bench.common import (
    RESULTS,
    FlowError,
    Lean,
    Phase,
    Stack,
    check,
    console,
    drive,
    ms,
    pct,
    progress,
    save_result,
    stack,
)
from bench.lead_to_order import OurPath, SkeletonPath, expect, update_when_there
from bench.skeleton import SkelApproval, SkelClaim, SkelDecision, SkelFulfilment, SkelPaidClaim, SkelPurchase

TYPES = ("claim_paid", "claim_rejected", "purchase_small", "purchase_large", "lead_to_order")
# 8 claims paid, 3 rejected, 3 small and 3 large purchases, 3 lead-to-order runs in 20, interleaved so that
# any 5 in a row hold every type.
_CYCLE = ("claim_paid", "purchase_small", "claim_rejected", "lead_to_order", "purchase_large")
MIX: list[str] = [*_CYCLE, "claim_paid", "claim_paid", *_CYCLE, "claim_paid", *_CYCLE, "claim_paid", "claim_paid"]
CLAIM = {"lines": [{"category": "travel", "amount": "500", "currency": "USD", "date": "2026-11-02",
                    "description": "soak trip"}]}
PURCHASE = {"purchase_small": (10, ["manager"]), "purchase_large": (40, ["manager", "cfo"])}  # MOTOR-200W at 200
USERS = ("erin", "frank", "grace", "heidi", "dave", "ivan", "alice", "bob", "admin")
FAN_PER_RUN = 300  # the most a lead-to-order run orders (bench.lead_to_order.CUSTOMERS)


def kind(i: int) -> str:
    return MIX[i % len(MIX)]


@dataclass
class Side:
    """Per-type latencies and counts of one side (drive() keeps the totals in its Phase)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    polls: int = 0

    async def one(self, i: int) -> None:
        raise NotImplementedError

    async def __call__(self, i: int) -> None:
        t0 = time.perf_counter()
        await self.one(i)
        self.latencies[kind(i)].append(time.perf_counter() - t0)

    def reset(self) -> None:
        self.latencies.clear()
        self.polls = 0


# --- ours: through HTTP -------------------------------------------------------------------------------

@dataclass
class _Path(OurPath):
    """bench/lead_to_order.py's path, noting the sales order it ends with (one per run)."""

    order: str | None = None

    async def get(self, user: str, url: str, **params: Any) -> Any:
        out = await super().get(user, url, **params)
        if isinstance(out, dict) and out.get("sales_order_id") and url.startswith("/api/quotations/"):
            self.order = out["sales_order_id"]
        return out


@dataclass
class Ours(Side):
    http: httpx.AsyncClient | Lean = field(kw_only=True)
    users: dict[str, dict[str, str]] = field(kw_only=True)

    async def req(self, user: str, method: str, url: str, expected: int = 200, **kw: Any) -> Any:
        return check(await self.http.request(method, url, headers=self.users[user], **kw), expected)

    async def poll(self, fetch: Callable[[], Awaitable[Any]], ready: Callable[[Any], bool], what: str) -> Any:
        """Fetch until `ready`; an end that is not the one waited for fails the flow."""
        while True:
            value = await fetch()
            if ready(value):
                return value
            if isinstance(value, dict) and value.get("status") in ("rejected", "cancelled", "failed"):
                raise FlowError(f"waiting for {what}, got {str(value)[:300]}")
            self.polls += 1
            await asyncio.sleep(POLL_FIRST)

    async def task(self, user: str, key: str) -> str:
        """The open approval task for `key` in `user`'s inbox, by long poll."""
        while not (rows := await self.req(user, "GET", "/api/tasks",
                                          params={"business_key": key, "kind": "approval", "wait": 10})):
            self.polls += 1
        return str(rows[0]["id"])

    async def closed(self, process_id: str) -> None:
        """The process's row says completed (what the skeleton's handle.result() is to it): a long poll."""
        await self.poll(lambda: self.req("admin", "GET", f"/api/processes/{process_id}",
                                         params={"wait": 10, "until": "completed"}),
                        lambda p: p["status"] == "completed", f"process {process_id} completed")

    async def one(self, i: int) -> None:
        k = kind(i)
        if k.startswith("claim"):
            await self.claim(approve=k == "claim_paid")
        elif k.startswith("purchase"):
            await self.purchase(*PURCHASE[k])
        else:
            await self.lead_to_order(i)

    async def claim(self, approve: bool) -> None:
        r = await self.req("erin", "POST", "/api/expense-claims", 201, json=CLAIM)
        claim, pid = r["claim_id"], r["process_id"]
        task = await self.task("frank", claim)
        decision = {"decision": "approve", "comment": "ok"} if approve else \
            {"decision": "reject", "comment": "no receipt attached"}
        await self.req("frank", "POST", f"/api/tasks/{task}/complete", json=decision)
        until = "approved" if approve else "rejected"
        while (await self.req("erin", "GET", f"/api/expense-claims/{claim}",
                              params={"wait": 10, "until": until}))["status"] != until:
            self.polls += 1
        if approve:
            r = await self.req("grace", "POST", f"/api/expense-claims/{claim}/pay")
            expect(r["status"] == "paid", f"claim {claim} paid", r)
        await self.closed(pid)

    async def purchase(self, qty: int, approvers: list[str]) -> None:
        r = await self.req("dave", "POST", "/api/purchase-requisitions", 201, json={
            "lines": [{"sku": "MOTOR-200W", "qty": qty, "est_unit_price": "200"}], "justification": "soak"})
        req, pid = r["requisition_id"], r["process_id"]
        for who in ("frank", "heidi")[:len(approvers)]:
            task = await self.task(who, req)
            await self.req(who, "POST", f"/api/tasks/{task}/complete", json={"decision": "approve"})

        def view(until: str) -> Awaitable[Any]:  # a long poll until the requisition has that status
            return self.req("dave", "GET", f"/api/purchase-requisitions/{req}", params={"wait": 10, "until": until})

        v = await self.poll(lambda: view("ordered"), lambda v: v["status"] == "ordered" and v["purchase_order_id"],
                            f"requisition {req} ordered")
        po = v["purchase_order_id"]
        resp = await self.http.post(f"/api/purchase-orders/{po}/receipts", headers=self.users["ivan"],
                                    json={"lines": [{"sku": "MOTOR-200W", "qty": qty}]})
        r = check(resp, 201)
        expect(r["status"] == "received", f"purchase order {po} received", r)
        await self.poll(lambda: view("received"), lambda v: v["status"] == "received", f"requisition {req} received")
        await self.closed(pid)

    async def lead_to_order(self, i: int) -> None:
        path = _Path(http=self.http, users=self.users, poll=POLL_FIRST)
        await path(i)  # to the order in fulfilment, the lead's process completed, the other quotation withdrawn
        self.polls += path.polls
        order = path.order
        expect(order is not None, "the path's sales order", order)
        while True:  # refused (409) while the order is still reserving
            r = await self.http.post(f"/api/sales-orders/{order}/deliver", headers=self.users["alice"])
            if r.status_code != 409:
                break
            self.polls += 1
            await asyncio.sleep(POLL_FIRST)
        expect(check(r, 200)["status"] == "completed", f"sales order {order} delivered", r.json())
        o = await self.req("alice", "GET", f"/api/sales-orders/{order}")
        pid = o.get("process_id") or (await self.req("admin", "GET", "/api/processes",
                                                      params={"business_key": order}))[0]["process_id"]
        await self.closed(pid)


# --- the skeleton: through the Temporal client ----------------------------------------------------------

@dataclass
class Skeleton(Side):
    client: Client = field(kw_only=True)
    task_queue: str = field(kw_only=True)
    run_id: str = field(kw_only=True)

    async def wait(self, workflow_id: str, update: Any, *args: Any) -> Any:
        answer, retries = await update_when_there(self.client, workflow_id, update, *args)
        self.polls += retries
        return answer

    async def decide(self, approval: str, decisions: list[str]) -> None:
        """Each step of an Approval child: its task once open (a new one after each decision), decided."""
        last = None
        for decision in decisions:
            while (task := await self.wait(approval, SkelApproval.opened)) == last:
                self.polls += 1  # the next step's task is not open yet
                await asyncio.sleep(POLL_FIRST)
            await self.client.get_workflow_handle(approval).execute_update(
                SkelApproval.decide, SkelDecision(task_id=task, actor="soak", decision=decision))
            last = task

    async def one(self, i: int) -> None:
        k, number = kind(i), f"{self.run_id}-{i}"
        common: dict[str, Any] = {"task_queue": self.task_queue,
                                  "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING}
        if k == "claim_paid":
            h = await self.client.start_workflow(SkelPaidClaim.run, number, id=f"soak-claim-{number}", **common)
            await h.execute_update(SkelPaidClaim.recorded_state)
            await self.decide(f"{h.id}/approval", ["approve"])
            status = await h.execute_update(SkelPaidClaim.reached, "approved")
            expect(status == "approved", "the claim approved", status)
            await h.execute_update(SkelPaidClaim.pay, "grace")
            expect(await h.result() == "paid", "the claim paid", "")
        elif k == "claim_rejected":
            c = await self.client.start_workflow(SkelClaim.run, args=[number, False], id=f"soak-claim-{number}",
                                                 **common)
            await c.execute_update(SkelClaim.recorded_state)
            await self.decide(f"{c.id}/approval", ["reject"])
            expect(await c.result() == "rejected", "the claim rejected", "")
        elif k.startswith("purchase"):
            qty, steps = PURCHASE[k]
            p = await self.client.start_workflow(SkelPurchase.run, args=[number, qty, steps],
                                                 id=f"soak-purchase-{number}", **common)
            await p.execute_update(SkelPurchase.recorded_state)
            await self.decide(f"{p.id}/approval", ["approve"] * len(steps))
            status = await p.execute_update(SkelPurchase.reached, "ordered")
            expect(status == "ordered", "the requisition ordered", status)
            await p.execute_update(SkelPurchase.receive, qty)
            expect(await p.result() == "received", "the requisition received", "")
        else:
            path = SkeletonPath(client=self.client, task_queue=self.task_queue, run_id=self.run_id)
            await path(i)  # number = f"{run_id}-{i}": the fulfilment child's id follows from it
            self.polls += path.polls
            fulfilment = self.client.get_workflow_handle(
                f"skel-lead-{number}/quotation-{number}-2/order-SO-{number}-2")
            status = await fulfilment.execute_update(SkelFulfilment.deliver)  # as ours delivers the order
            expect(status == "completed", "the order delivered", status)
            expect(await fulfilment.result() == "completed", "the fulfilment closed", "")


# --- settling: what was invoiced is paid, and the invoices' processes end --------------------------------

@dataclass
class Settle:
    """Settling's flows: flow i is grace's payment of what `owed[i]` (a customer and a currency) is owed, the
    oldest invoices first; it ends when the processes of the invoices it paid are completed."""

    http: httpx.AsyncClient | Lean
    users: dict[str, dict[str, str]]
    reference: str
    owed: list[tuple[tuple[int, str], Decimal]] = field(default_factory=list)
    processes: dict[str, str] = field(default_factory=dict)  # invoice number → its process id
    recorded: list[float] = field(default_factory=list)  # a payment's 201 (its allocation committed)
    invoices: int = 0

    async def load(self) -> None:
        """Every open customer invoice, by party and currency (the API's list, 500 a page)."""
        owed: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        offset = 0
        while page := check(await self.http.get("/api/invoices", headers=self.users["grace"], params={
                "kind": "customer", "status": "open", "limit": 500, "offset": offset}), 200):
            for inv in page:
                owed[(inv["party_id"], inv["currency"])] += Decimal(inv["outstanding"])
                self.processes[inv["number"]] = inv["process_id"]
            offset += len(page)
        self.owed = [(k, v) for k, v in sorted(owed.items()) if v > 0]

    async def __call__(self, i: int) -> None:
        (party, currency), amount = self.owed[i]
        t0 = time.perf_counter()
        r = check(await self.http.post("/api/payments", headers=self.users["grace"], json={
            "direction": "in", "party_id": party, "amount": str(amount), "currency": currency,
            "paid_on": datetime.now(UTC).date().isoformat(), "reference": f"{self.reference}-{party}-{currency}"}),
            201)
        self.recorded.append(time.perf_counter() - t0)
        expect(Decimal(r["unallocated"]) == 0 and sum(Decimal(a["amount"]) for a in r["allocations"]) == amount,
               f"{amount} {currency} of customer {party} allocated in full", r)
        side = Ours(http=self.http, users=self.users)
        for a in r["allocations"]:
            await side.closed(self.processes[a["number"]])
        self.invoices += len(r["allocations"])


async def settle(st: Stack, users: dict[str, dict[str, str]], concurrency: int) -> dict[str, Any]:
    """Grace pays every open customer invoice, one payment per customer and currency; each flow ends when the
    processes of the invoices it paid are completed."""
    s = Settle(http=st.lean or st.http, users=users, reference=f"soak-{st.run_id}")
    await s.load()
    phase = Phase()
    try:
        await drive(s, 0, len(s.owed), max(1, min(concurrency, len(s.owed))), phase, lambda: None)
    except FlowError as e:  # the end check still says what was left behind
        console.print(f"[red]settling: {e}[/red]")
    out = phase.summary()
    out.update({"payments": len(s.owed), "invoices_paid": s.invoices,
                "recorded_p50_ms": ms(pct(s.recorded, 50)), "recorded_p95_ms": ms(pct(s.recorded, 95))})
    return out


# --- the end check: nothing lost, nothing stuck, no effect twice ---------------------------------------

async def running_in_temporal(client: Client, settle: float = 15.0) -> list[str]:
    """Workflows still running on the dev server (visibility lags a little: re-asked for `settle` s)."""
    deadline = time.monotonic() + settle
    while True:
        ids = [w.id async for w in client.list_workflows('ExecutionStatus="Running"')]
        if not ids or time.monotonic() > deadline:
            return ids
        await asyncio.sleep(0.5)


def table_rows(db: Any) -> dict[str, int]:
    """Rows in every table of the domain's schema."""
    from domain.core.db import Base

    with db.read() as s:
        return {t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables}


def _groups(s: Any, sql: str) -> dict[str, int]:
    return {str(k): int(n) for k, n in s.execute(text(sql)).all()}


JOURNAL_PER_VOUCHER = ("SELECT voucher_type || ' x' || n, count(*) FROM (SELECT voucher_type, voucher_no, count(*) n "
                       "FROM journal_entries GROUP BY voucher_type, voucher_no) g GROUP BY voucher_type, n")


def journal_per_voucher(db: Any) -> Counter[str]:
    """Vouchers by type and by how many journal entries each has ("delivery x1": n vouchers of one entry)."""
    with db.read() as s:
        return Counter(_groups(s, JOURNAL_PER_VOUCHER))


async def end_check(st: Stack, expected: Counter[str], payments: int, journal_before: Counter[str]
                    ) -> dict[str, Any]:
    """Over the database and Temporal, once every flow has finished and settling has paid every open customer
    invoice (`expected`: our flows per type, warm-up included; `payments`: settling's; `journal_before`: the
    demo company's vouchers, journal_per_voucher before the run)."""
    from domain.cash import services as cash
    from domain.processes.tables import Process

    running = await running_in_temporal(st.client)
    rows = table_rows(st.db)
    with st.db.read() as s:
        by_status = dict(s.execute(select(Process.status, func.count()).group_by(Process.status)).all())
        by_type = {f"{t} {st_}": n for t, st_, n in s.execute(
            select(Process.type, Process.status, func.count()).group_by(Process.type, Process.status)).all()}
        open_tasks = s.execute(text("SELECT count(*) FROM tasks WHERE status = 'open'")).scalar_one()
        claims = _groups(s, "SELECT status, count(*) FROM expense_claims GROUP BY status")
        reqs = _groups(s, "SELECT status, count(*) FROM purchase_requisitions GROUP BY status")
        orders = _groups(s, "SELECT status, count(*) FROM sales_orders GROUP BY status")
        invoices = _groups(s, "SELECT status, count(*) FROM invoices WHERE kind = 'customer' GROUP BY status")
        run_invoices = _groups(s, "SELECT status, count(*) FROM invoices WHERE kind = 'customer' AND "
                                  "sales_order_number IS NOT NULL GROUP BY status")
        dup_journal = s.execute(text(
            "SELECT count(*) FROM (SELECT voucher_type, voucher_no, memo FROM journal_entries "
            "GROUP BY voucher_type, voucher_no, memo HAVING count(*) > 1) d")).scalar_one()
        dup_decisions = s.execute(text(
            "SELECT count(*) FROM (SELECT task_id FROM approval_decisions GROUP BY task_id HAVING count(*) > 1) d"
        )).scalar_one()
        per_voucher = Counter(_groups(s, JOURNAL_PER_VOUCHER))
        debit, credit = s.execute(text("SELECT coalesce(sum(debit), 0), coalesce(sum(credit), 0) "
                                       "FROM journal_lines")).one()
        reconciliation = cash.reconcile(s)
    problems = []
    off = [f"{r['name']} ({r['account']}) off by {r['difference']}" for r in reconciliation.rows if r["difference"]]
    if off:
        problems.append("sub-ledgers do not reconcile: " + "; ".join(off))
    if by_status.get("running"):
        problems.append(f"{by_status['running']} process rows still running")
    if set(by_status) - {"completed"}:
        problems.append(f"process rows not completed: {by_status}")
    if running:
        problems.append(f"{len(running)} workflows still running in Temporal, e.g. {running[:3]}")
    if open_tasks:
        problems.append(f"{open_tasks} open tasks")
    want = {"paid": expected["claim_paid"], "rejected": expected["claim_rejected"]}
    if claims != {k: v for k, v in want.items() if v}:
        problems.append(f"expense claims {claims}, expected {want}")
    n_reqs = expected["purchase_small"] + expected["purchase_large"]
    if reqs != ({"received": n_reqs} if n_reqs else {}):
        problems.append(f"requisitions {reqs}, expected {n_reqs} received")
    if orders != ({"completed": expected["lead_to_order"]} if expected["lead_to_order"] else {}):
        problems.append(f"sales orders {orders}, expected {expected['lead_to_order']} completed")
    n_paid, n_l2o = expected["claim_paid"], expected["lead_to_order"]
    # One invoice per order (delivered whole), and every customer invoice paid, the demo history's too.
    if run_invoices != ({"paid": n_l2o} if n_l2o else {}):
        problems.append(f"the run's customer invoices {run_invoices}, expected {n_l2o} paid")
    if set(invoices) - {"paid"}:
        problems.append(f"customer invoices not paid: {invoices}")
    # The run's entries (the demo company's vouchers taken away): a delivery posts its cost of goods sold, its
    # invoice the receivable against revenue and tax (voucher: the invoice number), each payment its receipt.
    kinds = ("expense_claim", "expense_payment", "goods_receipt", "delivery", "customer_invoice", "payment")
    want_journal = {f"{t} x{per}": n for t, per, n in (
        ("expense_claim", 1, n_paid), ("expense_payment", 1, n_paid), ("goods_receipt", 1, n_reqs),
        ("delivery", 1, n_l2o), ("customer_invoice", 1, n_l2o), ("payment", 1, payments)) if n}
    added = per_voucher.copy()
    added.subtract(journal_before)
    got_journal = {k: v for k, v in added.items() if v and k.split(" x")[0] in kinds}
    if got_journal != want_journal:
        problems.append(f"journal entries per voucher added by the run {got_journal}, expected {want_journal}")
    if dup_journal:
        problems.append(f"{dup_journal} journal entries posted twice (same voucher and memo)")
    if dup_decisions:
        problems.append(f"{dup_decisions} tasks decided twice")
    if abs(float(debit) - float(credit)) >= 0.005:
        problems.append(f"trial balance uneven: debit {debit}, credit {credit}")
    return {"ok": not problems, "problems": problems, "process_rows_by_status": by_status,
            "process_rows_by_type": by_type, "temporal_running": len(running), "open_tasks": open_tasks,
            "expense_claims": claims, "purchase_requisitions": reqs, "sales_orders": orders,
            "customer_invoices": invoices, "journal_entries_per_voucher": dict(per_voucher),
            "journal_entries_per_voucher_added": got_journal, "duplicated_journal_entries": dup_journal,
            "duplicated_decisions": dup_decisions, "trial_balance": [str(debit), str(credit)], "rows": rows,
            "reconciliation": [{k: str(v) for k, v in r.items()} for r in reconciliation.rows]}


# --- running and reporting ----------------------------------------------------------------------------

def _side(side: Side, phase: Phase) -> dict[str, Any]:
    out = phase.summary()
    out["empty_polls_per_flow"] = round(side.polls / max(phase.done, 1), 2)
    out["types"] = {k: {"flows": len(v), "rate_per_s": round(len(v) / phase.elapsed, 2) if phase.elapsed else 0.0,
                        "p50_ms": ms(pct(v, 50)), "p95_ms": ms(pct(v, 95))}
                    for k in TYPES if (v := side.latencies.get(k))}
    return out


async def run(processes: int = 1000, concurrency: int = 16, rounds: int = 4, warmup: int = 20) -> dict[str, Any]:
    load_before, t0 = os.getloadavg(), time.perf_counter()
    names = ("skeleton", "ours")
    phases = {n: Phase() for n in names}
    per_round = max(1, processes // rounds)
    total = per_round * rounds
    expected: Counter[str] = Counter(kind(i) for i in [*range(1_000_000, 1_000_000 + warmup), *range(total)])
    async with stack(concurrency * 2 + 8) as st:
        users = await st.login(*USERS)
        fans = FAN_PER_RUN * (expected["lead_to_order"] + 1)
        check(await st.http.post("/api/stock/adjustments", headers=users["admin"],
                                 json={"sku": "FAN-200", "qty": fans, "unit_cost": "320", "reason": "soak"}), 201)
        history = await invoice_collection.start_missing(st.platform)  # as `valueloop up --demo` does
        rows_before = table_rows(st.db)  # the demo company
        journal_before = journal_per_voucher(st.db)
        sides: dict[str, Side] = {
            "skeleton": Skeleton(client=st.client, task_queue=st.skeleton_queue, run_id=f"soak-{st.run_id}"),
            "ours": Ours(http=st.lean or st.http, users=users)}
        client_cpu = 0.0  # seconds the Lean client spent in the measured rounds of our side
        with progress() as bars:
            warm = bars.add_task("warm-up", total=len(names) * warmup)
            for n in names:
                w = Phase()
                await drive(sides[n], 1_000_000, warmup, concurrency, w, lambda: bars.advance(warm))
                if w.errors:
                    raise FlowError(f"{len(w.errors)} warm-up flows of {n} failed; the first: {w.errors[0]}")
                sides[n].reset()
            bar = {n: bars.add_task(f"soak: {n}", total=total) for n in names}
            for r_ in range(rounds):
                for n in names:
                    before = st.lean.cpu if st.lean else 0.0
                    try:
                        await drive(sides[n], r_ * per_round, per_round, concurrency, phases[n],
                                    lambda n=n: bars.advance(bar[n]))  # type: ignore[misc]
                    except FlowError as e:  # too many failed: the end check still says what was left behind
                        console.print(f"[red]{n}: {e}[/red]")
                        break
                    finally:
                        if n == "ours" and st.lean:
                            client_cpu += st.lean.cpu - before
        with console.status("settling: paying every open customer invoice…"):
            settled = await settle(st, users, concurrency)
        with console.status("checking the database and Temporal…"):
            await asyncio.sleep(1)  # the last closing activities' projections
            checked = await end_check(st, expected, settled["payments"], journal_before)
    res = {n: _side(sides[n], phases[n]) for n in names}
    skel, ours = phases["skeleton"], phases["ours"]
    cpu = res["ours"]["cpu_ms_per_flow"]  # what the API alone spent: this process's CPU less the bench client's own
    cpu["bench_client"] = ms(client_cpu / max(ours.done, 1))
    cpu["api"] = round(cpu["bench_and_api"] - cpu["bench_client"], 2)
    flows = max(sum(expected.values()), 1)
    added = {t: n - rows_before.get(t, 0) for t, n in checked["rows"].items() if n != rows_before.get(t, 0)}
    return {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "processes_each": total, "concurrency": concurrency, "rounds": rounds, "warmup_each": warmup,
            "mix": dict(Counter(kind(i) for i in range(total))),
            "temporal_store": "sqlite file, journal_mode=wal, synchronous=normal", "domain_store": "sqlite file",
            **res,
            "ratio": round(ours.rate / skel.rate, 3) if skel.rate else 0.0,
            "settle": settled, "demo_history_processes": len(history),
            "p50_ratio": {k: round(res["skeleton"]["types"][k]["p50_ms"] / res["ours"]["types"][k]["p50_ms"], 3)
                          for k in TYPES if k in res["ours"]["types"] and k in res["skeleton"]["types"]},
            "process_rows_per_flow": round(added.get("processes", 0) / flows, 2),
            "db_rows_per_flow": round(sum(added.values()) / flows, 1),
            "db_rows_added_per_flow": {t: round(n / flows, 2) for t, n in sorted(added.items(), key=lambda x: -x[1])},
            "check": checked,
            "valid": checked["ok"] and not any(p.errors for p in phases.values())
            and all(p.done == total for p in phases.values()) and not settled["errors"]
            and settled["flows"] == settled["payments"],
            "seconds": round(time.perf_counter() - t0, 1), "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


def report(res: dict[str, Any]) -> None:
    table = Table(title=f"soak: {res['processes_each']} processes a side ({res['mix']}), {res['concurrency']} "
                        f"clients, {res['rounds']} alternating rounds")
    for col in ("type", "ours /s", "ours p50 ms", "ours p95 ms", "skeleton /s", "skeleton p50 ms",
                "skeleton p95 ms", "p50 skel/ours"):
        table.add_column(col, justify="left" if col == "type" else "right")
    ours, skel = res["ours"], res["skeleton"]
    for k in TYPES:
        o, s = ours["types"].get(k), skel["types"].get(k)
        if o and s:
            table.add_row(k, f"{o['rate_per_s']:.2f}", f"{o['p50_ms']:.0f}", f"{o['p95_ms']:.0f}",
                          f"{s['rate_per_s']:.2f}", f"{s['p50_ms']:.0f}", f"{s['p95_ms']:.0f}",
                          f"{res['p50_ratio'][k]:.3f}")
    table.add_row("all", f"{ours['rate_per_s']:.2f}", f"{ours['p50_ms']:.0f}", f"{ours['p95_ms']:.0f}",
                  f"{skel['rate_per_s']:.2f}", f"{skel['p50_ms']:.0f}", f"{skel['p95_ms']:.0f}",
                  f"{skel['p50_ms'] / ours['p50_ms']:.3f}" if ours["p50_ms"] else "-", style="bold")
    console.print(table)
    for name, side in (("ours", ours), ("skeleton", skel)):
        cpu = side["cpu_ms_per_flow"]
        console.print(f"  {name:<9} {side['flows']} in {side['seconds']:.1f} s = {side['rate_per_s']:.2f}/s; "
                      f"cpu/process: bench+API {cpu['bench_and_api']:.0f} ms"
                      + (f" (API {cpu['api']:.0f}, client {cpu['bench_client']:.1f})" if "api" in cpu else "")
                      + ", temporal+workers "
                      f"{cpu['temporal_server_and_workers']:.0f} ms"
                      + (f" (temporal {cpu['of_which_temporal']:.0f}, workers {cpu['of_which_worker']:.0f})"
                         if "of_which_worker" in cpu else "")
                      + f"; empty polls/process "
                      f"{side['empty_polls_per_flow']:.1f}"
                      + (f"   [red]{side['errors']} failed: {side['first_errors'][0]}[/red]" if side["errors"] else ""))
    st = res["settle"]
    console.print(f"  settling (after the timed rounds, not in the ratio): {st['payments']} payments paid "
                  f"{st['invoices_paid']} invoices (the demo history's {res['demo_history_processes']} among them) "
                  f"in {st['seconds']:.1f} s; a payment recorded p50 {st['recorded_p50_ms']:.0f} ms, p95 "
                  f"{st['recorded_p95_ms']:.0f} ms; its invoices' processes closed p50 {st['p50_ms']:.0f} ms, p95 "
                  f"{st['p95_ms']:.0f} ms"
                  + (f"   [red]{st['errors']} failed: {st['first_errors'][0]}[/red]" if st["errors"] else ""))
    c = res["check"]
    console.print(f"engine-floor ratio (ours / skeleton throughput): {res['ratio']:.3f}   "
                  f"{res['seconds']} s, load average {res['loadavg_before'][0]} → {res['loadavg_after'][0]}",
                  markup=False)
    console.print(f"end check: process rows {c['process_rows_by_status']}, running in Temporal "
                  f"{c['temporal_running']}, open tasks {c['open_tasks']}, claims {c['expense_claims']}, "
                  f"requisitions {c['purchase_requisitions']}, sales orders {c['sales_orders']}, customer invoices "
                  f"{c['customer_invoices']}, duplicated "
                  f"journal entries {c['duplicated_journal_entries']}, decisions {c['duplicated_decisions']}; "
                  f"{res['process_rows_per_flow']} process rows and {res['db_rows_per_flow']} database rows in all per flow "
                  f"(warm-up included)",
                  markup=False)
    if c["problems"]:
        for p in c["problems"]:
            console.print(f"[red]LOST OR STUCK: {p}[/red]")
    elif res["valid"]:
        console.print("[green]nothing lost, nothing stuck[/green]")
    if not res["valid"] and not c["problems"]:
        console.print("[red]some flows failed: the figures count only the ones that finished[/red]")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--processes", type=int, default=1000, help="processes driven to their end, per side")
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent client loops")
    ap.add_argument("--rounds", type=int, default=4, help="alternating measurement rounds")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up processes per side (checked at the end too)")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results.json")
    a = ap.parse_args(argv)
    res = asyncio.run(run(a.processes, a.concurrency, a.rounds, a.warmup))
    report(res)
    if not a.no_save:
        save_result("soak", res)
        console.print(f"written to {RESULTS} (soak)")
    return 0 if res["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
