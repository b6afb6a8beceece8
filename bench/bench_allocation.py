"""Allocating one payment oldest first against the open invoices of one customer (issue 17): the record_payment
transaction (domain/cash/services.py: the plan, the touched invoices locked and settled, the payment, its
allocations and its journal entry, the commit) at 10,000 open invoices beside the same at 1,000 (the ratio). The
target: under 200 ms at 10,000. ERPNext needed 19.2 s just to fetch 10,000 unreconciled invoices (frappe/erpnext
PR #36650 capped its tool at 50 rows instead).

Each size gets a fresh database (a SQLite file; a fresh PostgreSQL schema too when DATABASE_URL names
PostgreSQL) holding the demo company and one customer's open invoices (random amounts of 100–2,000, issued over
the last two years, posted as one receivable entry so the sub-ledger reconciles). Then `--payments` payments, each
of a random amount reaching 1–5 invoices (and sometimes more than all it reaches: credit), recorded one after the
other, each timed from the start of its transaction to its commit; the median and worst beside the best. The
sub-ledgers are reconciled at the end (a fast wrong answer is no answer). Timings are of the same code at both
sizes: the ratio is the baseline.

    python -m bench.bench_allocation [--sizes 1000 10000] [--payments 40]   (writes "allocation" into
    bench/results.json)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.common import RESULTS, console, ms, progress, save_result
from bench.inbox import fresh_database

TARGET_MS = 200.0
TODAY = date(2026, 11, 30)


def seed(db: Any, open_invoices: int, rng: random.Random) -> tuple[int, Decimal]:
    """The demo company and `open_invoices` open invoices of its first customer; returns (customer id, total)."""
    from domain import demo
    from domain.accounting import ledger
    from domain.accounting import rules as accounting
    from domain.cash.rules import InvoiceKind, InvoiceStatus
    from domain.cash.tables import Invoice
    from domain.parties.tables import Customer

    db.create_all()
    with db.write() as s:
        demo.load(s)
    with db.write() as s:
        customer = s.execute(select(Customer).order_by(Customer.id)).scalars().first()
        assert customer is not None
        customer_id = customer.id
        rows, total = [], Decimal(0)
        for n in range(open_invoices):
            amount = Decimal(rng.randrange(10_000, 200_000)) / 100
            issued = TODAY - timedelta(days=rng.randrange(0, 730))
            total += amount
            rows.append({"number": f"BINV-{n + 1:06d}", "kind": InvoiceKind.CUSTOMER, "credit_note": False,
                         "party_id": customer.id, "party_name": customer.name, "status": InvoiceStatus.OPEN,
                         "issued_on": issued, "due_on": issued + timedelta(days=30), "currency": "USD",
                         "rate": Decimal(1), "subtotal": amount, "tax": Decimal(0), "total": amount,
                         "total_base": amount, "outstanding": amount, "outstanding_base": amount,
                         "process_id": f"invoice-BINV-{n + 1:06d}", "idempotency_key": f"bench:{n}"})
        for i in range(0, len(rows), 2000):
            s.execute(insert(Invoice), rows[i:i + 2000])
        ledger.post(s, accounting.entry("Bench invoices", {accounting.RECEIVABLES: total},
                                        {accounting.REVENUE: total}), "bench", "BINV", "bench:invoices", on=TODAY)
    if db.url.startswith("postgres"):  # as autovacuum would after a load this size: the planner sees the rows
        with db.write() as s:
            s.execute(text("ANALYZE invoices"))
    return customer_id, total


def measure(db: Any, customer_id: int, payments: int, rng: random.Random) -> dict[str, Any]:
    """Record `payments` payments oldest first, each in its own transaction; their timings and what they did."""
    from domain.cash import services as cash
    from domain.cash.rules import Direction, PaymentIn

    times, touched, credit = [], [], 0
    for n in range(payments):
        reach = rng.randint(1, 5)
        amount = Decimal(rng.randrange(100 * reach, 2_000 * reach)) + Decimal(rng.randrange(0, 100)) / 100
        p = PaymentIn(direction=Direction.IN, party_id=customer_id, amount=amount, currency="USD", paid_on=TODAY,
                      reference=f"BENCH-{n}")
        t0 = time.perf_counter()
        with db.write() as s:
            res = cash.record_payment(s, p, by="grace", process_id=f"bench-payment-{n}")
        times.append(time.perf_counter() - t0)
        touched.append(len(res.allocations))
        credit += bool(res.unallocated)
    with db.read() as s:
        t0 = time.perf_counter()
        plan = cash.plan_payment(s, PaymentIn(direction=Direction.IN, party_id=customer_id, amount=Decimal(5000),
                                              currency="USD", paid_on=TODAY, reference="PREVIEW"))
        preview = time.perf_counter() - t0
        rec = cash.reconcile(s)
    return {"payments": payments, "median_ms": ms(statistics.median(times)), "worst_ms": ms(max(times)),
            "best_ms": ms(min(times)), "runs_ms": [ms(t) for t in times],
            "invoices_touched_median": statistics.median(touched), "invoices_touched_max": max(touched),
            "payments_leaving_credit": credit, "preview_ms": ms(preview),
            "preview_invoices": len(plan.allocations), "reconciled": rec.balanced}


def bench_backend(backend: str, sizes: tuple[int, ...], payments: int, tmp: Path, bars: Any, task: Any
                  ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in sizes:
        rng = random.Random(17 + size)
        with fresh_database(backend, tmp, f"allocation_{size}") as db:
            bars.update(task, description=f"{backend} {size:,}: seeding")
            t0 = time.perf_counter()
            customer_id, _ = seed(db, size, rng)
            seeded = time.perf_counter() - t0
            bars.update(task, description=f"{backend} {size:,}: paying")
            out[str(size)] = {"open_invoices": size, "seed_s": round(seeded, 2), **measure(db, customer_id,
                                                                                           payments, rng)}
            bars.advance(task)
    small, big = out[str(sizes[0])], out[str(sizes[-1])]
    out["median_ratio"] = round(big["median_ms"] / small["median_ms"], 2)
    out["meets_target"] = big["median_ms"] < TARGET_MS
    return out


def run(sizes: tuple[int, ...] = (1000, 10000), payments: int = 40) -> dict[str, Any]:
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else [])
    res: dict[str, Any] = {"target_ms": TARGET_MS, "sizes": list(sizes), "payments": payments}
    with tempfile.TemporaryDirectory() as tmp, progress() as bars:
        task = bars.add_task("allocation", total=len(backends) * len(sizes))
        for backend in backends:
            res[backend] = bench_backend(backend, sizes, payments, Path(tmp), bars, task)
    return res


def report(res: dict[str, Any]) -> None:
    console.print(f"[bold]allocation[/bold]: one payment oldest first, the record_payment transaction to its commit, "
                  f"{res['payments']} random payments per size")
    for backend in ("sqlite", "postgresql"):
        if backend not in res:
            continue
        r = res[backend]
        for size in res["sizes"]:
            s = r[str(size)]
            console.print(f"  {backend:<10} {size:>6,} open invoices: median {s['median_ms']:7.2f} ms, worst "
                          f"{s['worst_ms']:7.2f} ms, best {s['best_ms']:7.2f} ms; invoices touched median "
                          f"{s['invoices_touched_median']}, max {s['invoices_touched_max']}; preview "
                          f"{s['preview_ms']:.2f} ms; reconciled {'yes' if s['reconciled'] else 'NO'}")
        console.print(f"  {backend:<10} median ratio {res['sizes'][-1]:,} / {res['sizes'][0]:,}: "
                      f"{r['median_ratio']:.2f}; target under {res['target_ms']:.0f} ms: "
                      f"{'ok' if r['meets_target'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--payments", type=int, default=40)
    a = ap.parse_args(argv)
    res = run(tuple(a.sizes), a.payments)
    report(res)
    save_result("allocation", res)
    console.print(f"written to {RESULTS} (allocation)")
    return res


if __name__ == "__main__":
    main()
