"""Kitting analysis over all open orders of a generated company (bench/planning_data.py): at 1× (10,000
items, 50,000 BOM lines, 6 levels, 1,000 open orders), 2× and 4×, best of 3 runs each. Times the pure run
(domain/planning/kitting.py: kitting) from the plain inputs to every order's answer with its lines; the
company is generated and converted beforehand. Target (issue 5): under 1 s at 1×, growing about linearly.

    python -m bench.kitting [--scales 1 2 4] [--repeat 3]   (writes "kitting" into bench/results.json)
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import console, progress, scaling_main
from bench.planning_data import generate
from domain.planning.kitting import KitOrder, OrderLine, StockLevel, kitting

TARGET_S = 1.0


def inputs(scale: int) -> tuple[list[KitOrder], dict[str, str], dict[str, Any], dict[str, StockLevel], str]:
    company = generate(scale)
    kinds = {sku: item.kind for sku, item in company.items.items()}
    stock = {sku: StockLevel(s.on_hand, s.reserved) for sku, s in company.stock.items()}
    orders = [KitOrder(o.number, tuple(OrderLine(ln.sku, ln.qty) for ln in o.lines),
                       (o.requested_date, o.priority, o.created_at)) for o in company.orders]
    return orders, kinds, company.boms, stock, company.describe()


def run(scales: tuple[int, ...] = (1, 2, 4), repeat: int = 3) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    with progress() as bars:
        task = bars.add_task("kitting", total=len(scales) * (repeat + 1))
        for scale in scales:
            bars.update(task, description=f"{scale}×: generating")
            orders, kinds, boms, stock, described = inputs(scale)
            bars.advance(task)
            times = []
            for i in range(repeat):
                bars.update(task, description=f"{scale}×: kitting, run {i + 1}/{repeat}")
                t0 = time.perf_counter()
                kits = kitting(orders, kinds, boms, stock)
                times.append(time.perf_counter() - t0)
                bars.advance(task)
            sizes[f"{scale}x"] = {
                "company": described, "seconds": round(min(times), 3), "runs_s": [round(t, 3) for t in times],
                "orders": len(kits), "complete": sum(k.complete for k in kits),
                "result_lines": sum(len(k.lines) for k in kits)}
    base = sizes[f"{scales[0]}x"]["seconds"]
    for scale in scales:
        s = sizes[f"{scale}x"]
        s["growth"] = round(s["seconds"] / base, 2)  # against the smallest size; linear: scale / scales[0]
    first = sizes[f"{scales[0]}x"]
    return {"target_s": TARGET_S, "repeat": repeat, "sizes": sizes,
            "meets_target": scales[0] != 1 or first["seconds"] < TARGET_S}


def report(res: dict[str, Any]) -> None:
    console.print(f"[bold]kitting[/bold]: all open orders in priority order, best of {res['repeat']}")
    for key, s in res["sizes"].items():
        console.print(f"  {key:>3}  {s['seconds']:6.3f} s  growth {s['growth']:5.2f}   {s['company']}; "
                      f"{s['complete']:,} orders complete, {s['result_lines']:,} result lines")
    console.print(f"  target under {res['target_s']} s at 1×: {'ok' if res['meets_target'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return scaling_main("kitting", __doc__, run, report, argv)


if __name__ == "__main__":
    main()
