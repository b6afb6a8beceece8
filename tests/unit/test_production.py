"""Production rules, pure: progress checks, backflush consumption on the running total, receipts that
empty work in progress, variances against standard, change requests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from domain.core.errors import Conflict
from domain.manufacturing.bom import BomLine, need
from domain.production import rules


def order(**kw: object) -> rules.ProductionState:
    base = {"number": "MO-00001", "sku": "FAN-200", "qty": D(10), "issue_method": "kitted", "status": "released",
                "due_date": date(2026, 12, 1)}
    base.update(kw)
    return rules.ProductionState.model_validate(base)


def test_progress_adds_up_and_completes_at_the_order_quantity() -> None:
    st = rules.check_progress(order(), rules.ProgressIn(completed_qty=D(4), scrap_qty=D(1)))
    assert (st.completed_qty, st.scrap_qty, st.status) == (D(4), D(1), "released")
    st = rules.check_progress(st, rules.ProgressIn(completed_qty=D(6)))
    assert (st.completed_qty, st.status) == (D(10), "completed")


@pytest.mark.parametrize("state, progress, message", [
    (order(completed_qty=D(8)), rules.ProgressIn(completed_qty=D(3)), "only 2 left to make"),
    (order(status="waiting_material", wait_reason="waiting for material: BOLT-M8 short 3"),
     rules.ProgressIn(completed_qty=D(1)), "BOLT-M8 short 3"),
    (order(status="completed", completed_qty=D(10)), rules.ProgressIn(labour_hours=D(1)), "is completed"),
])
def test_progress_beyond_the_quantity_or_outside_production_is_refused(state, progress, message) -> None:
    with pytest.raises(Conflict, match=message):
        rules.check_progress(state, progress)


@pytest.mark.parametrize("fields", [{}, {"completed_qty": D(0)}, {"completed_qty": D(-1)}, {"labour_hours": D(-2)},
                                    {"scrap_qty": D("0.00001")}, {"completed_qty": D(1), "other": 1}])
def test_a_report_needs_something_positive_and_nothing_else(fields) -> None:
    with pytest.raises(ValueError):
        rules.ProgressIn.model_validate(fields)


def test_backflush_counts_on_the_running_total_so_rounding_never_drifts() -> None:
    line = BomLine("STEEL-SHEET", D("0.3333"), D(5))
    made, taken = D(0), D(0)
    for step in [D(1)] * 9 + [D("0.5")] * 2:
        taken += rules.consumption(line, made, step)
        made += step
    assert taken == need(made, line)  # ten reports of a third-ish each: exactly what ten units need


def test_receipts_take_their_share_of_wip_and_the_last_takes_the_rest() -> None:
    wip = D("1000.0001")
    first = rules.receipt_value(wip, D(3), D(10))
    assert first == D("300.0000")
    rest = rules.receipt_value(wip - first, D(7), D(7))
    assert first + rest == wip
    assert rules.receipt_value(wip, D(0), D(10)) == 0


def test_variances_split_price_usage_and_labour() -> None:
    # Standard: 2 per unit at 10.00, 1 h per unit at 40 + 10 overhead. Made 5: 11 issued for 121.00; 6 hours.
    m = rules.MaterialUse(sku="X", per_unit=D(2), scrap_pct=D(0), issued_qty=D(11), issued_value=D(121),
                          standard_cost=D(10))
    v = rules.variances([m], D(5), D(6), D(1), D(40), D(10))
    assert v == {"material_price": D("11.0000"), "material_usage": D("10.0000"), "labour": D("40.0000"),
                 "overhead": D("10.0000")}
    # Total variance = actual − standard of what was made.
    actual = D(121) + 6 * D(40) + 6 * D(10)
    standard = 5 * (2 * D(10) + D(40) + D(10))
    assert sum(v.values()) == actual - standard


def test_change_requests_need_something_and_respect_what_is_done() -> None:
    with pytest.raises(ValueError, match="new quantity or a new due date"):
        rules.ChangeIn(reason="x")
    with pytest.raises(ValueError):
        rules.ChangeIn(qty=D(5), reason="   ")
    rules.check_change(order(status="waiting_material"), rules.ChangeIn(qty=D(12), reason="more"))
    with pytest.raises(Conflict, match="only before release"):
        rules.check_change(order(), rules.ChangeIn(qty=D(12), reason="more"))
    rules.check_change(order(), rules.ChangeIn(due_date=date(2027, 1, 5), reason="later"))
    with pytest.raises(Conflict, match="already made"):
        rules.check_change(order(issue_method="backflush", completed_qty=D(6)), rules.ChangeIn(qty=D(5), reason="less"))
    with pytest.raises(Conflict, match="cannot change"):
        rules.check_change(order(status="completed"), rules.ChangeIn(due_date=date(2027, 1, 5), reason="later"))
