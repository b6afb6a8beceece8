"""AR aging over many open customer invoices (issue 17): the report as GET /api/reports/ar-aging computes it
(domain/cash/reports.aging: one GROUP BY party over the open invoices, a CASE per bucket on the due date, read
from the covering index ix_invoices_aging; then the parties' names), over
100,000 open invoices beside the same at 1,000 (the ratio), each with a fifth as many paid invoices beside
them that the report must skip. Target: p95 under 500 ms at 100,000, on SQLite and on PostgreSQL
(DATABASE_URL=postgresql://…: a schema of its own, dropped after).

The invoices are inserted in bulk (executemany of the ORM table's insert); a run is one report in its own read
transaction, timed from the query to the shaped rows; every run is reported (median, p95, worst), after one
warm-up run.

    python -m bench.bench_aging [--sizes 1000 100000] [--runs 30]   (writes "aging" into bench/results.json)
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.bench_aging
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from bench.common import RESULTS, console, pct, save_result
from domain.cash import reports
from domain.cash.rules import BUCKETS, InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice
from domain.core.db import Database
from domain.parties.tables import Customer

TARGET_MS = 500.0
AS_OF = date(2026, 11, 30)
BATCH = 5_000


@contextmanager
def database(url: str) -> Iterator[Database]:
    """A fresh database with every table: a SQLite file in a temporary directory, or a PostgreSQL schema."""
    if url.startswith("postgres"):
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin_url = ("postgresql://" + url.split("://", 1)[1]).replace("postgresql://", "postgresql+psycopg://", 1)
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        db = Database(url, schema=schema)
        try:
            db.create_all()
            yield db
        finally:
            db.dispose()
            with admin.connect() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{Path(tmp) / 'aging.db'}")
            db.create_all()
            yield db
            db.dispose()


def fill(db: Database, open_invoices: int, seed: int = 17) -> dict[str, Any]:
    """`open_invoices` open customer invoices over one customer per hundred (the customers too), due from 200 days
    before AS_OF to 60 days after it, and a fifth as many paid ones; inserted in batches."""
    rnd = random.Random(seed)
    parties = max(10, open_invoices // 100)
    paid = open_invoices // 5
    t0 = time.perf_counter()
    n = 0
    with db.write() as s:
        s.execute(insert(Customer), [{"id": p, "name": f"Customer {p:05d}", "name_key": f"customer {p:05d}",
                                      "credit_limit": Decimal(0), "currency": "USD", "payment_terms_days": 30}
                                     for p in range(1, parties + 1)])
        batch: list[dict[str, Any]] = []
        for i in range(open_invoices + paid):
            party = rnd.randrange(parties) + 1
            issued = AS_OF - timedelta(days=rnd.randrange(0, 230))
            due = issued + timedelta(days=30)
            total = Decimal(rnd.randrange(1_000, 500_000)) / 100
            is_open = i < open_invoices
            left = (total if rnd.random() < 0.8 else (total / 2).quantize(Decimal("0.01"))) if is_open else Decimal(0)
            batch.append({
                "number": f"INV-{i + 1:07d}", "kind": InvoiceKind.CUSTOMER, "credit_note": False, "party_id": party,
                "party_name": f"Customer {party:05d}", "status": InvoiceStatus.OPEN if is_open else InvoiceStatus.PAID,
                "issued_on": issued, "due_on": due, "currency": "USD", "rate": Decimal(1), "subtotal": total,
                "tax": Decimal(0), "total": total, "total_base": total, "outstanding": left, "outstanding_base": left,
                "process_id": f"bench-invoice-{i}", "idempotency_key": f"bench:{i}", "dunning_level": 0,
                "owner": "alice", "created_by": "bench", "reason": ""})
            if len(batch) == BATCH:
                s.execute(insert(Invoice), batch)
                n += len(batch)
                batch = []
        if batch:
            s.execute(insert(Invoice), batch)
            n += len(batch)
    if db.url.startswith("postgres"):
        with db.write() as s:
            s.execute(text("ANALYZE invoices"))
    return {"open": open_invoices, "paid": paid, "customers": parties, "inserted": n,
            "insert_s": round(time.perf_counter() - t0, 2)}


def time_aging(db: Database, runs: int) -> dict[str, Any]:
    def once() -> tuple[float, dict[str, Any]]:
        t0 = time.perf_counter()
        with db.read() as s:
            report = reports.aging(s, InvoiceKind.CUSTOMER, AS_OF)
        return (time.perf_counter() - t0) * 1000, report

    _, report = once()  # warm-up: the first query plans and fills the page cache
    times = [once()[0] for _ in range(runs)]
    return {"runs": runs, "median_ms": round(statistics.median(times), 1), "p95_ms": round(pct(times, 95), 1),
            "best_ms": round(min(times), 1), "worst_ms": round(max(times), 1), "rows": len(report["rows"]),
            "total": str(report["totals"]["total"]),
            "buckets": {b: str(report["totals"][b]) for b in BUCKETS}}


def run(url: str, sizes: tuple[int, ...], runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {"database": "postgresql" if url.startswith("postgres") else "sqlite",
                           "target_p95_ms": TARGET_MS, "as_of": AS_OF.isoformat(), "sizes": {}}
    for size in sizes:
        with database(url) as db:
            filled = fill(db, size)
            console.print(f"  {size:>7,} open invoices: inserted {filled['inserted']:,} rows in {filled['insert_s']} s")
            out["sizes"][str(size)] = {**filled, **time_aging(db, runs)}
    small, big = out["sizes"][str(sizes[0])], out["sizes"][str(sizes[-1])]
    out["ratio_p95"] = round(big["p95_ms"] / small["p95_ms"], 1) if small["p95_ms"] else None
    out["meets_target"] = big["p95_ms"] < TARGET_MS
    return out


def report(res: dict[str, Any]) -> None:
    console.print(f"[bold]AR aging[/bold] on {res['database']} as of {res['as_of']}")
    for size, s in res["sizes"].items():
        console.print(f"  {int(size):>7,} open ({s['customers']:,} customers, {s['paid']:,} paid beside): "
                      f"median {s['median_ms']} ms, p95 {s['p95_ms']} ms, worst {s['worst_ms']} ms "
                      f"over {s['runs']} runs; {s['rows']:,} rows, total {s['total']}")
    console.print(f"  ratio of p95s {res['ratio_p95']}; target p95 under {res['target_p95_ms']:.0f} ms at the "
                  f"largest size: {'ok' if res['meets_target'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    ap.add_argument("--runs", type=int, default=30)
    a = ap.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    res = run(url, tuple(a.sizes), a.runs)
    report(res)
    key = f"aging_{res['database']}"
    save_result(key, res)
    console.print(f"written to {RESULTS} ({key})")
    return res


if __name__ == "__main__":
    main()
