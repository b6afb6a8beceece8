"""Capable-to-promise of a 10-line quotation on the generated 10,000-item company (bench/planning_data.py: 50,000
BOM lines on 6 levels, 1,000 open orders of 1-3 lines, open purchase orders), end to end over the database:
the company is loaded into a SQLite file once (items, stock, BOMs, open purchase and sales orders), then each
request is one read transaction of domain/planning/promising.promise (it loads what the lines reach, level by
level, with their stock, open supply and open demand; capacity asked as the API asks it) and the pure promise.

Each request: 10 distinct finished goods drawn at random, 1-50 of each. Reported: p50, p95, worst and mean over
all requests (after 5 unmeasured warm-up requests), CPU time beside the wall clock, and how many items a
request reached. Baseline, measured in the same run on the same database: one regenerative MRP run over all open
orders (domain/planning/services.mrp), which is what answering "when can it ship" by planning everything costs.
Target (issue 20): p95 under 100 ms at 1×.

    python -m bench.promise [--scales 1] [--repeat 200]   (writes "promise" into bench/results.json)
"""

from __future__ import annotations

import gc
import os
import random
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from bench.common import console, pct, progress, scaling_main
from bench.planning_data import TODAY, Company, generate
from domain.core.db import Database
from domain.inventory.tables import Item, StockBalance
from domain.manufacturing.tables import BomLineRow, BomRow
from domain.parties.tables import Customer, Supplier
from domain.planning import promising
from domain.planning import (
    services as planning,  # imports the capacity part, which promising asks, as the API does
)
from domain.purchasing.tables import PurchaseOrder, PurchaseOrderLine
from domain.sales.tables import SalesOrder, SalesOrderLine

TARGET_MS = 100.0
LINES = 10
WARM_UP = 5


def load(db: Database, company: Company) -> None:
    """The generated company as rows, in bulk."""
    with db.write() as s:
        supplier, customer = Supplier(name="Bench Supplies"), Customer(name="Bench Customer", credit_limit=10**9)
        s.add_all([supplier, customer])
        s.flush()
        s.execute(insert(Item), [{"sku": it.sku, "name": it.sku, "kind": it.kind, "standard_cost": it.standard_cost,
                                  "lead_time_days": it.lead_time_days, "safety_stock": it.safety_stock,
                                  "min_order_qty": it.min_order_qty, "order_multiple": it.order_multiple,
                                  "default_supplier_id": supplier.id if it.kind == "purchased" else None}
                                 for it in company.items.values()])
        ids = {r.sku: r.id for r in s.execute(select(Item.sku, Item.id))}
        s.execute(insert(StockBalance), [{"item_id": ids[sku], "on_hand": st.on_hand, "reserved": st.reserved}
                                         for sku, st in company.stock.items()])
        s.execute(insert(BomRow), [{"item_id": ids[sku], "issue_method": "kitted"} for sku in company.boms])
        bom_ids = {r.item_id: r.id for r in s.execute(select(BomRow.item_id, BomRow.id))}
        s.execute(insert(BomLineRow), [
            {"bom_id": bom_ids[ids[sku]], "position": i + 1, "component_item_id": ids[ln.component], "qty": ln.qty,
             "scrap_pct": ln.scrap_pct}
            for sku, bom in company.boms.items() for i, ln in enumerate(bom.lines)])
        for n, r in enumerate(company.receipts, 1):
            po = PurchaseOrder(number=f"PO-B{n:06d}", supplier_id=supplier.id, requisition_number=f"PR-B{n:06d}",
                               process_id=f"bench-po-{n}", status="open", total=0, expected_date=r.due_date,
                               idempotency_key=f"bench-po-{n}")
            po.lines = [PurchaseOrderLine(item_id=ids[r.sku], sku=r.sku, qty=r.qty, received_qty=0, unit_price=0)]
            s.add(po)
        for o in company.orders:
            so = SalesOrder(number=o.number, customer_id=customer.id, status="open", requested_date=o.requested_date,
                            total=0, owner="bench", process_id=f"bench-{o.number}",
                            idempotency_key=f"bench-{o.number}")
            so.lines = [SalesOrderLine(item_id=ids[ln.sku], sku=ln.sku, qty=ln.qty, unit_price=0, net=0)
                        for ln in o.lines]
            s.add(so)


def requests(company: Company, n: int, seed: int = 11) -> list[list[tuple[str, Any]]]:
    rng = random.Random(seed)
    finished = sorted(sku for sku, it in company.items.items() if it.level == 0)
    return [[(sku, rng.randint(1, 50)) for sku in rng.sample(finished, LINES)] for _ in range(n)]


def run(scales: tuple[int, ...] = (1,), repeat: int = 200) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    with progress() as bars, tempfile.TemporaryDirectory() as tmp:
        task = bars.add_task("promise", total=len(scales) * (repeat + WARM_UP + 2))
        for scale in scales:
            bars.update(task, description=f"{scale}×: generating and loading")
            company = generate(scale)
            db = Database(f"sqlite:///{Path(tmp) / f'promise-{scale}.db'}")
            db.create_all()
            load(db, company)
            bars.advance(task)
            asks = requests(company, repeat + WARM_UP)
            described = company.describe()
            del company  # the generated company's objects would only lengthen the collector's walks here
            gc.collect()
            wall: list[float] = []
            cpu: list[float] = []
            reached: list[int] = []
            late = 0
            for i, lines in enumerate(asks):
                bars.update(task, description=f"{scale}×: request {i + 1}/{len(asks)}")
                typed = [(sku, Decimal(q)) for sku, q in lines]
                t0, c0 = time.perf_counter(), time.process_time()
                with db.read() as s:
                    found = promising.promise(s, typed, as_of=TODAY, requested=date.fromordinal(TODAY.toordinal() + 30))
                t1, c1 = time.perf_counter(), time.process_time()
                if i >= WARM_UP:
                    wall.append((t1 - t0) * 1000)
                    cpu.append((c1 - c0) * 1000)
                    late += sum(1 for p in found if p.late)
                    with db.read() as s:
                        shape, _ids = promising.structure(s)
                    reached.append(len({x for sku, _ in lines for x in shape.reachable(sku)}))
                bars.advance(task)
            bars.update(task, description=f"{scale}×: baseline, one full MRP run")
            t0 = time.perf_counter()
            with db.read() as s:
                result = planning.mrp(s, as_of=TODAY)
            baseline = time.perf_counter() - t0
            bars.advance(task)
            sizes[f"{scale}x"] = {
                "company": described, "requests": len(wall), "lines_per_request": LINES,
                "p50_ms": round(pct(wall, 50), 1), "p95_ms": round(pct(wall, 95), 1), "max_ms": round(max(wall), 1),
                "mean_ms": round(sum(wall) / len(wall), 1), "cpu_p50_ms": round(pct(cpu, 50), 1),
                "cpu_p95_ms": round(pct(cpu, 95), 1), "load_average": round(os.getloadavg()[0], 1),
                "items_reached_p50": int(pct([float(r) for r in reached], 50)), "items_reached_max": max(reached),
                "late_lines": late, "baseline_full_mrp_s": round(baseline, 3),
                "baseline_planned_orders": len(result.planned_orders)}
            db.dispose()
    first = sizes[f"{scales[0]}x"]
    return {"target_p95_ms": TARGET_MS, "repeat": repeat, "sizes": sizes,
            "meets_target": scales[0] != 1 or first["p95_ms"] < TARGET_MS}


def report(res: dict[str, Any]) -> None:
    console.print(f"[bold]capable-to-promise[/bold]: a {LINES}-line quotation, over the database, "
                  f"{res['repeat']} requests")
    for key, s in res["sizes"].items():
        console.print(f"  {key:>3}  p50 {s['p50_ms']:6.1f} ms  p95 {s['p95_ms']:6.1f} ms  worst {s['max_ms']:6.1f} ms  "
                      f"(CPU p50 {s['cpu_p50_ms']} ms, p95 {s['cpu_p95_ms']} ms; load average {s['load_average']}; {s['items_reached_p50']} items reached, at most "
                      f"{s['items_reached_max']})   {s['company']}")
        console.print(f"       baseline: one full MRP run over the same database {s['baseline_full_mrp_s']} s "
                      f"({s['baseline_planned_orders']:,} planned orders)")
    console.print(f"  target p95 under {res['target_p95_ms']} ms at 1×: {'ok' if res['meets_target'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = sys.argv[1:] if argv is None else argv
    defaults = [*([] if "--scales" in args else ["--scales", "1"]), *([] if "--repeat" in args else ["--repeat", "200"])]
    return scaling_main("promise", __doc__, run, report, [*defaults, *args])


if __name__ == "__main__":
    main()
