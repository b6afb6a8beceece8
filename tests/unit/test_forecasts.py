"""Sales forecasts (issue 20, make to stock): the consumption rule (pure), the services over the demo company
(entered, changed, removed, a month grid, a CSV file; bad input refused naming it, nothing stored), and MRP
planning what orders have not used up."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select, update

from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.inventory.tables import Item
from domain.parties.tables import Customer
from domain.planning import forecasts
from domain.planning import services as planning
from domain.planning.forecast_rules import (
    ForecastLine,
    OrderedQty,
    add_months,
    check_month,
    check_qty,
    net_demand,
    parse_month,
)
from domain.planning.forecast_tables import Forecast
from domain.planning.mrp import Demand
from domain.sales import rules as sales
from domain.sales import services as sales_svc

AS_OF = date(2026, 11, 23)
NOV, DEC, JAN = date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)


# --- the rule ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "month"), [("2027-01", JAN), ("2027-1", JAN), (" 2027-01-01 ", JAN),
                                             (JAN, JAN), ("2026-12", DEC)])
def test_a_month_is_read_as_its_first_day(text: str | date, month: date) -> None:
    assert parse_month(text) == month


@pytest.mark.parametrize(("text", "says"), [
    ("2027-13", "there is no month 13"), ("2027-00", "there is no month 0"),
    ("2027-01-15", "a month \\(2027-01\\) or its first day"), (date(2027, 1, 15), "a month \\(2027-01\\) or its first day"),
    ("Jan 2027", "written as 2027-01"), ("", "written as 2027-01"), ("0999-01", "not a month a plan can be for")])
def test_what_is_not_a_month_is_refused_naming_it(text: str | date, says: str) -> None:
    with pytest.raises(Invalid, match=says):
        parse_month(text)


def test_a_forecast_is_for_this_month_or_later_within_five_years() -> None:
    check_month(NOV, AS_OF)  # this month
    check_month(date(2031, 11, 1), AS_OF)
    with pytest.raises(Invalid, match="2026-10 is past: a forecast is for this month \\(2026-11\\) or a later one"):
        check_month(date(2026, 10, 1), AS_OF)
    with pytest.raises(Invalid, match="2031-12 is too far ahead"):
        check_month(date(2031, 12, 1), AS_OF)


@pytest.mark.parametrize(("qty", "says"), [(D(0), "above zero"), (D(-5), "above zero"), (D("NaN"), "a number"),
                                           (D("1.00001"), "four decimal places"), (D("100000001"), "at most")])
def test_a_quantity_must_be_above_zero_and_plain(qty: D, says: str) -> None:
    with pytest.raises(Invalid, match=says):
        check_qty(qty)
    assert check_qty(D("12.5")) == D("12.5")


def test_orders_of_the_month_use_the_forecast_up_and_mrp_plans_the_rest() -> None:
    fc = [ForecastLine("FAN", DEC, D(50)), ForecastLine("FAN", JAN, D(40)), ForecastLine("MOTOR", DEC, D(10))]
    orders = [OrderedQty("FAN", date(2026, 12, 1), D(15)), OrderedQty("FAN", date(2026, 12, 31), D(5)),
              OrderedQty("FAN", date(2027, 2, 1), D(100)),  # February's: uses nothing of January
              OrderedQty("MOTOR", date(2026, 12, 10), D(12))]  # more than its forecast: nothing left, not less
    assert net_demand(fc, orders, AS_OF) == [Demand("FAN", D(30), DEC, "FC 2026-12"),
                                             Demand("FAN", D(40), JAN, "FC 2027-01")]


def test_this_months_rest_is_due_today_and_past_months_are_ignored() -> None:
    fc = [ForecastLine("FAN", date(2026, 10, 1), D(99)), ForecastLine("FAN", NOV, D(20)),
          ForecastLine("BOLT", NOV, D("2.5"))]
    assert net_demand(fc, [OrderedQty("FAN", date(2026, 11, 2), D(8))], AS_OF) == [
        Demand("BOLT", D("2.5"), AS_OF, "FC 2026-11"), Demand("FAN", D(12), AS_OF, "FC 2026-11")]
    assert net_demand([], [OrderedQty("FAN", AS_OF, D(1))], AS_OF) == []


def test_months_add_across_years() -> None:
    assert add_months(NOV, 2) == JAN and add_months(JAN, -1) == DEC and add_months(JAN, 24) == date(2029, 1, 1)


# --- over the database -------------------------------------------------------------------------------------

def today() -> date:
    return datetime.now(UTC).date()


def month(n: int) -> date:
    """n months from this one."""
    return add_months(today().replace(day=1), n)


def order(db: Database, number: str, sku: str, qty: str, requested: date | None, status: str = "open") -> None:
    with db.write() as s:
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        ref = sales.OrderRef(number=number, owner="alice", customer_id=globex, requested_date=requested,
                             lines=[sales.OrderLineIn(sku=sku, qty=D(qty), unit_price=D(450))])
        row = sales_svc.record_direct_order(s, ref, f"p-{number}")
        row.status = status


def count(db: Database) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(Forecast)).scalar_one()


def test_a_forecast_is_entered_changed_and_removed(db: Database) -> None:
    with db.write() as s:
        row = forecasts.create(s, sku="FAN-200", month=month(1), qty=D(50), actor="carol", today=today())
        fid = row.id
    order(db, "SO-1", "FAN-200", "12", month(1).replace(day=20))
    order(db, "SO-2", "FAN-200", "7", month(2))  # another month
    with db.write() as s:
        v = forecasts.view(s, fid, today())
        assert (v["sku"], v["month"], v["qty"], v["ordered"], v["remaining"]) == (
            "FAN-200", month(1).isoformat()[:7], D(50), D(12), D(38))
        assert v["created_by"] == v["updated_by"] == "carol"
        forecasts.update(s, fid, qty=D(10), actor="admin", today=today())
        v = forecasts.view(s, fid, today())
        assert (v["qty"], v["remaining"], v["updated_by"]) == (D(10), D(0), "admin")  # orders above: nothing left
        with pytest.raises(Conflict, match=r"FAN-200 has a forecast for .* already"):
            forecasts.create(s, sku="FAN-200", month=month(1), qty=D(5), actor="carol", today=today())
    with db.write() as s:
        forecasts.remove(s, fid, today())
    assert count(db) == 0
    with db.write() as s, pytest.raises(NotFound, match=f"no forecast {fid}"):
        forecasts.remove(s, fid, today())


@pytest.mark.parametrize(("sku", "when", "qty", "says"), [
    ("NOPE-1", 1, "5", "there is no item 'NOPE-1'"),
    ("FAN-200", -1, "5", "is past"),
    ("FAN-200", 1, "0", "above zero"),
    ("FAN-200", 1, "-3", "above zero"),
    ("FAN-200", 1, "0.00001", "four decimal places"),
    ("FAN-200", 61, "5", "too far ahead"),
])
def test_bad_forecasts_are_refused_and_nothing_is_stored(db: Database, sku: str, when: int, qty: str,
                                                         says: str) -> None:
    with db.write() as s, pytest.raises(Invalid, match=says):
        forecasts.create(s, sku=sku, month=month(when), qty=D(qty), actor="carol", today=today())
    assert count(db) == 0


def test_a_deactivated_item_is_not_forecast(db: Database) -> None:
    with db.write() as s:
        s.execute(update(Item).where(Item.sku == "FAN-200").values(active=False))
    with db.write() as s, pytest.raises(Invalid, match="FAN-200 is deactivated"):
        forecasts.create(s, sku="FAN-200", month=month(1), qty=D(5), actor="carol", today=today())


def test_the_grid_creates_changes_and_removes_all_or_nothing(db: Database) -> None:
    with db.write() as s:
        got = forecasts.save_grid(s, {("FAN-200", month(1)): D(50), ("FAN-200", month(2)): D(30),
                                      ("MOTOR-200W", month(1)): D(10)}, actor="carol", today=today())
    assert got == {"created": 3, "updated": 0, "deleted": 0}
    with db.write() as s:
        got = forecasts.save_grid(s, {("FAN-200", month(1)): D(55), ("FAN-200", month(2)): None,
                                      ("MOTOR-200W", month(1)): D(10), ("MOTOR-200W", month(3)): D(0)},
                                  actor="carol", today=today())
    assert got == {"created": 0, "updated": 1, "deleted": 1}
    # One bad cell among good ones: refused naming the item and month, and nothing changes.
    with db.write() as s, pytest.raises(Invalid, match=r"BLADE-SET, \d{4}-\d\d: the quantity must be above zero"):
        forecasts.save_grid(s, {("FAN-200", month(1)): D(70), ("BLADE-SET", month(2)): D(-1)}, actor="carol",
                            today=today())
    with db.read() as s:
        rows = {(v["sku"], v["month"]): v["qty"] for v in forecasts.views(s, today())}
    assert rows == {("FAN-200", month(1).isoformat()[:7]): D(55), ("MOTOR-200W", month(1).isoformat()[:7]): D(10)}


def csv(*rows: str) -> str:
    return "sku,month,qty\n" + "\n".join(rows) + "\n"


def test_a_csv_file_sets_forecasts_and_zero_removes_one(db: Database) -> None:
    m1, m2 = month(1).isoformat()[:7], month(2).isoformat()[:7]
    with db.write() as s:
        got = forecasts.import_csv(s, csv(f"FAN-200,{m1},50", f"FAN-200,{m2},30", f"MOTOR-200W,{m1}-01,10"),
                                   actor="carol", today=today())
    assert got == {"rows": 3, "created": 3, "updated": 0, "deleted": 0}
    with db.write() as s:
        got = forecasts.import_csv(s, csv(f"FAN-200,{m1},45", f"FAN-200,{m2},0"), actor="carol", today=today())
        exported = forecasts.export_csv(s)
    assert got == {"rows": 2, "created": 0, "updated": 1, "deleted": 1}
    assert exported == f"sku,month,qty\nFAN-200,{m1},45\nMOTOR-200W,{m1},10\n"


@pytest.mark.parametrize(("row", "says"), [
    ("NOPE,{m},5", "line 3: there is no item 'NOPE'"),
    ("FAN-200,{past},5", "line 3: the month .* is past"),
    ("FAN-200,{m},-2", "line 3: qty"),
    ("FAN-200,{m},lots", "line 3: qty"),
    ("FAN-200,13/2027,5", "line 3: the month must be a month written as 2027-01"),
    ("MOTOR-200W,{m},5", "line 3: MOTOR-200W for .* is on line 2 already"),
])
def test_a_bad_csv_row_is_refused_by_its_line_and_nothing_is_stored(db: Database, row: str, says: str) -> None:
    m, past = month(1).isoformat()[:7], month(-1).isoformat()[:7]
    text = csv(f"MOTOR-200W,{m},10", row.format(m=m, past=past))
    with db.write() as s, pytest.raises(Invalid, match=says):
        forecasts.import_csv(s, text, actor="carol", today=today())
    assert count(db) == 0
    with db.write() as s:  # the import page's check: every bad row with its line, nothing stored
        preview = forecasts.preview(s, text, actor="carol", today=today())
    assert preview.total == 2 and [line for line, _msg in preview.errors] == [3]
    assert count(db) == 0


def test_a_csv_file_with_a_wrong_header_is_refused(db: Database) -> None:
    with db.write() as s, pytest.raises(Invalid, match="unknown column 'quantity'"):
        forecasts.import_csv(s, "sku,month,quantity\nFAN-200,2027-01,5\n", actor="carol", today=today())
    with db.write() as s, pytest.raises(Invalid, match="the column qty is needed"):
        forecasts.import_csv(s, "sku,month\nFAN-200,2027-01\n", actor="carol", today=today())


def test_which_orders_use_a_forecast_up(db: Database) -> None:
    with db.write() as s:
        forecasts.save_grid(s, {("FAN-200", month(0)): D(100), ("FAN-200", month(1)): D(100)}, actor="carol",
                            today=today())
    in_month = month(1).replace(day=10)
    order(db, "SO-1", "FAN-200", "10", in_month)  # open: counts
    order(db, "SO-2", "FAN-200", "20", in_month, "in_fulfilment")  # counts
    order(db, "SO-3", "FAN-200", "5", in_month, "completed")  # delivered: counts
    order(db, "SO-4", "FAN-200", "40", in_month, "cancelled")  # no
    order(db, "SO-5", "FAN-200", "40", in_month, "pending_credit")  # not yet demand: no
    order(db, "SO-6", "FAN-200", "40", in_month, "rejected")  # no
    order(db, "SO-7", "FAN-200", "3", None)  # no date: due today + 5 days of cumulative lead time (this month
    with db.read() as s:                     # or, at a month's end, the next)
        due = today() + __import__("datetime").timedelta(days=planning.cumulative_lead_times(s)["FAN-200"])
        views = {v["month"]: v for v in forecasts.views(s, today())}
        demand = forecasts.forecast_demand(s, today())
    m0, m1 = month(0).isoformat()[:7], month(1).isoformat()[:7]
    no_date = {m0: D(3) if due < month(1) else D(0), m1: D(3) if month(1) <= due < month(2) else D(0)}
    assert views[m1]["ordered"] == D(35) + no_date[m1] and views[m0]["ordered"] == no_date[m0]
    assert {d.pegged_to: (d.qty, d.due_date) for d in demand} == {
        f"FC {m0}": (D(100) - no_date[m0], today()), f"FC {m1}": (D(65) - no_date[m1], month(1))}


def test_mrp_plans_what_the_forecast_has_left_pegged_to_it(db: Database) -> None:
    m1 = month(1).isoformat()[:7]
    with db.write() as s:
        forecasts.create(s, sku="FAN-200", month=month(1), qty=D(50), actor="carol", today=today())
    order(db, "SO-1", "FAN-200", "10", month(1).replace(day=15))
    with db.write() as s:
        run = planning.run_open_orders(s, as_of=today(), actor="carol")
        view = planning.run_view(run)
    fc = [p for p in view["planned_orders"] if f"FC {m1}" in p["pegged_to"]]
    # 50 forecast − 10 ordered = 40 more fans, due on the month's first day (after the order's own, by its date).
    fans = [p for p in fc if p["sku"] == "FAN-200"]
    assert fans and all(p["kind"] == "production" for p in fans)
    assert D(sum(D(p["qty"]) for p in view["planned_orders"] if p["sku"] == "FAN-200")) >= D(45)  # 40 + the order's 10 less 5 on hand
    assert min(p["due_date"] for p in fans) == month(1).isoformat()
    # Components are planned for the forecast too, pegged to it.
    assert {p["sku"] for p in fc} >= {"FAN-200", "FAN-HOUSING", "BLADE-SET", "MOTOR-200W"}
    # A what-if run with its own demand does not add forecasts.
    with db.write() as s:
        what_if = planning.run_what_if(s, as_of=today(), demand=[{"sku": "BOLT-M8", "qty": D(1), "due_date": today()}],
                                       receipts=None, actor="carol")
        assert not any(p["pegged_to"] and p["pegged_to"][0].startswith("FC ")
                       for p in planning.run_view(what_if)["planned_orders"])
