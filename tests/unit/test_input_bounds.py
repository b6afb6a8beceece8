"""Issue 15, classes 4-6, as pure rules: the one request Decimal type (plain ASCII decimals only), the one form
reader (a person's locale, to the plain decimal), the bounds of a progress report, an expense claim's total
and dates, ISO 4217 currencies, and whole units of measure."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from domain.core.currencies import ISO_4217, Currency
from domain.core.errors import Conflict, Invalid
from domain.core.limits import MAX_HOURS_PER_REPORT, MAX_HOURS_PER_UNIT, check_past_fact, check_plan_date
from domain.core.money import MAX_AMOUNT
from domain.core.numbers import PlainDecimal, read_number
from domain.expenses import rules as expenses
from domain.inventory.units import DEFAULT_UOMS, check_quantity
from domain.production import rules
from domain.purchasing.rules import ReceiptLineIn
from domain.sales import rules as sales

TODAY = date(2026, 12, 6)


class Qty(BaseModel):
    qty: PlainDecimal = Field(gt=0, le=D(1000000), decimal_places=4)


# --- (a) the request type -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["١٠٠", "١٢٣", "1_000", "1,000", "１００", "1e3", "1E3", "NaN", "nan", "Infinity",
                                   "-Infinity", " 12", "12 ", "+12", "1.", ".5", "12.5.1", "0x10", "", "٣.٥",
                                   "१२", float("nan"), float("inf"), True, None, [1], {"a": 1}])
def test_the_request_type_refuses_anything_but_a_plain_decimal(value: Any) -> None:
    with pytest.raises(ValidationError) as e:
        Qty(qty=value)
    assert e.value.errors()[0]["type"] in ("plain_decimal", "decimal_type")
    if isinstance(value, str):
        assert "plain decimal number such as 1250.00" in str(e.value)


@pytest.mark.parametrize(("value", "expected"), [("12.50", D("12.50")), (12.5, D("12.5")), (12, D(12)),
                                                 ("0.0001", D("0.0001")), (0.1, D("0.1")), ("1000000", D(1000000)),
                                                 (D("1E+2"), D(100)), (1e2, D(100))])
def test_the_request_type_takes_numbers_and_plain_decimal_strings(value: Any, expected: D) -> None:
    got = Qty(qty=value).qty
    assert got == expected and isinstance(got, D)
    assert "E" not in str(got)  # never an exponent: what it writes, it reads back


def test_a_float_is_read_through_its_shortest_repr_not_its_binary_value() -> None:
    assert Qty(qty=0.3).qty == D("0.3")  # not 0.299999999999999988897769753748...


def test_the_request_type_keeps_the_field_bounds_and_writes_plain_decimals() -> None:
    for bad in ("0", "-1", "1000000.0001", "0.00001"):
        with pytest.raises(ValidationError):
            Qty(qty=bad)
    assert Qty(qty=D("1E+3")).model_dump_json() == '{"qty":"1000"}'
    assert Qty.model_validate_json(Qty(qty="12.5").model_dump_json()).qty == D("12.5")


@pytest.mark.parametrize("value", [1e308, -1.4605746762516246e+308, 1.6435103248964315e-36, 1e41, D("1E+99999"),
                                   "9" * 400, 10 ** 400])
def test_huge_and_tiny_numbers_are_a_422_not_a_crash(value: Any) -> None:
    with pytest.raises(ValidationError):
        Qty(qty=value)


def test_the_openapi_schema_names_the_pattern_of_the_string_form() -> None:
    branches = Qty.model_json_schema()["properties"]["qty"]["anyOf"]
    assert {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"} in branches


@pytest.mark.parametrize("model", [
    lambda v: sales.QuotationLineIn(sku="X", qty=v, unit_price="1"),
    lambda v: sales.OrderLineIn(sku="X", qty="1", unit_price=v),
    lambda v: ReceiptLineIn(sku="X", qty=v),
    lambda v: expenses.ExpenseLineIn(category="meals", amount=v, date=TODAY),
    lambda v: rules.ProgressIn(completed_qty=v),
    lambda v: rules.ProgressIn(labour_hours=v),
])
def test_every_request_model_uses_the_one_type(model: Any) -> None:
    for bad in ("١٠٠", "1_000", "1,000", "１００", "1e3", "NaN"):
        with pytest.raises(ValidationError, match="plain decimal"):
            model(bad)
    model("5")  # and a plain one is fine


# --- (b) the form reader ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "expected"), [
    ("1,000.50", D("1000.50")), ("１，０００", D(1000)), ("1250.50", D("1250.50")), ("  12 ", D(12)),
    ("１２．５", D("12.5")), ("12,345,678.9", D("12345678.9")), ("-3.5", D("-3.5")), ("－３．５", D("-3.5")),
    ("\u300012\u3000", D(12)), ("0", D(0)), ("", None), ("   ", None),
])
def test_the_form_reader_reads_a_persons_locale(typed: str, expected: D | None) -> None:
    assert read_number(typed, "the quantity") == expected


@pytest.mark.parametrize("typed", ["12 34", "١٢", "١٢٣", "१२", "1,5", "1.000,50", "1,00", "12,3456", "1e3", "NaN",
                                   "1_000", "abc", "+12", "12-", "1 000", "½"])
def test_the_form_reader_refuses_what_it_cannot_read_with_a_sentence(typed: str) -> None:
    with pytest.raises(Invalid) as e:
        read_number(typed, "the quantity")
    assert e.value.message == f"the quantity must be a number, not {typed.strip()!r}"


def test_what_the_form_reader_hands_on_the_request_type_takes() -> None:
    for typed in ("1,000.50", "１，０００", "１２．５"):
        assert Qty(qty=read_number(typed, "q")).qty == read_number(typed, "q")


# --- (c) bounds --------------------------------------------------------------------------------------------

def order(qty: str = "3", completed: str = "0", scrap: str = "0") -> rules.ProductionState:
    return rules.ProductionState(number="MO-1", sku="FAN-HOUSING", qty=D(qty), completed_qty=D(completed),
                                 scrap_qty=D(scrap), issue_method="backflush", status="released",
                                 due_date=date(2026, 12, 20))


def test_scrap_above_the_order_quantity_is_refused() -> None:
    with pytest.raises(Invalid, match="only 3 are left to make"):
        rules.check_progress(order(), rules.ProgressIn(scrap_qty=D(4)))
    with pytest.raises(Invalid, match="only 3 are left to make"):
        rules.check_progress(order(), rules.ProgressIn(scrap_qty=D(1000)))


def test_good_and_scrap_together_over_what_is_left_are_refused() -> None:
    with pytest.raises(Invalid, match="2 good and 1 scrapped make 3 units worked, but only 2 are left"):
        rules.check_progress(order(completed="1"), rules.ProgressIn(completed_qty=D(2), scrap_qty=D(1)))
    with pytest.raises(Invalid, match="only 1 are left"):
        rules.check_progress(order(completed="2", scrap="1"), rules.ProgressIn(scrap_qty=D(2)))


def test_scrap_does_not_use_up_the_order_so_it_still_completes() -> None:
    st = rules.check_progress(order(), rules.ProgressIn(completed_qty=D(1), scrap_qty=D(1)))
    st = rules.check_progress(st, rules.ProgressIn(completed_qty=D(1), scrap_qty=D(1)))
    st = rules.check_progress(st, rules.ProgressIn(completed_qty=D(1)))
    assert (st.completed_qty, st.scrap_qty, st.status) == (D(3), D(2), "completed")


def test_labour_hours_are_bounded_per_unit_left_and_per_report() -> None:
    with pytest.raises(Invalid, match="more than 200 hours for each of the 3 units left"):
        rules.check_progress(order(), rules.ProgressIn(labour_hours=MAX_HOURS_PER_UNIT * 3 + D("0.0001")))
    rules.check_progress(order(), rules.ProgressIn(labour_hours=MAX_HOURS_PER_UNIT * 3))
    with pytest.raises(Invalid, match="each of the 1 units left"):
        rules.check_progress(order(completed="2"), rules.ProgressIn(completed_qty=D(1), labour_hours=D(201)))
    with pytest.raises(ValidationError):  # 100,000 hours: over the per-report bound, at the edge
        rules.ProgressIn(labour_hours=D(100000))
    with pytest.raises(ValidationError):
        rules.ProgressIn(completed_qty=D(1), labour_hours=MAX_HOURS_PER_REPORT + 1)
    rules.check_progress(order("100"), rules.ProgressIn(labour_hours=MAX_HOURS_PER_REPORT))


def test_reports_taken_before_the_bounds_replay_without_them() -> None:
    st = rules.check_progress(order(completed="1"), rules.ProgressIn(completed_qty=D(2), scrap_qty=D(1)),
                              bounded=False)
    assert st.status == "completed"
    with pytest.raises(Conflict):  # the order's own quantity still holds
        rules.check_progress(order(completed="1"), rules.ProgressIn(completed_qty=D(3)), bounded=False)


def line(amount: str, day: date = TODAY, currency: str = "USD") -> expenses.ExpenseLineIn:
    return expenses.ExpenseLineIn(category="travel", amount=amount, date=day, currency=currency)


def test_an_expense_claims_total_is_bounded_by_the_same_limit_as_its_lines() -> None:
    half = str(MAX_AMOUNT / 2)
    assert expenses.total_of([line(half), line(half)])[0] == MAX_AMOUNT
    with pytest.raises(Invalid, match="over the limit of 1000000000"):
        expenses.total_of([line(half), line(half), line("0.01")])
    with pytest.raises(ValidationError):
        line(str(MAX_AMOUNT + 1))


@pytest.mark.parametrize(("day", "ok"), [
    (TODAY, True), (TODAY - timedelta(days=365 * 9), True), (TODAY + timedelta(days=1), True),
    (date(1976, 12, 6), False), (TODAY + timedelta(days=2), False), (date(2027, 12, 6), False),
    (date(2016, 12, 6), True), (date(2016, 12, 5), False),
])
def test_expense_dates_are_past_facts_within_ten_years(day: date, ok: bool) -> None:
    if ok:
        expenses.check_dates([line("10", day)], TODAY)
    else:
        with pytest.raises(Invalid, match="the expense date"):
            expenses.check_dates([line("10", day)], TODAY)


def test_plan_dates_lie_between_a_year_back_and_five_years_ahead() -> None:
    for ok in (TODAY, date(2025, 12, 6), date(2031, 12, 6)):
        check_plan_date(ok, TODAY, "the due date")
    for bad in (date(2025, 12, 5), date(2031, 12, 7), date(2126, 1, 1), date(1900, 1, 1)):
        with pytest.raises(Invalid, match=r"the due date .* is out of range"):
            check_plan_date(bad, TODAY, "the due date")
    check_past_fact(date(2024, 2, 29), date(2034, 2, 28), "the date")  # a leap day ten years back


class Doc(BaseModel):
    currency: Currency = "USD"


@pytest.mark.parametrize("code", ["XXX", "XTS", "XAU", "XAG", "XDR", "ABC", "usd", "Usd", "US", "USDD", "ＵＳＤ", "",
                                  "EURO", "HRK"])
def test_only_iso_4217_currencies_of_money_are_taken(code: str) -> None:
    with pytest.raises(ValidationError):
        Doc(currency=code)
    with pytest.raises(ValidationError):
        line("10", currency=code)


def test_the_currency_list_holds_the_usual_ones() -> None:
    for code in ("USD", "EUR", "CNY", "JPY", "GBP", "CHF", "INR", "BRL"):
        assert Doc(currency=code).currency == code
    assert not {"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XDR", "XSU", "XUA"} & ISO_4217
    with pytest.raises(ValidationError, match="upper case"):
        Doc(currency="usd")


# --- (d) whole units -----------------------------------------------------------------------------------

def test_a_whole_unit_takes_integers_only() -> None:
    check_quantity(D(5), True)
    check_quantity(D("5.0000"), True)
    check_quantity(D("0.5"), False, uom="kg")
    for bad in (D("0.5"), D("1.0001"), D("2.5")):
        with pytest.raises(Invalid, match="is not a whole number: ea is counted in whole units"):
            check_quantity(bad, True, uom="ea")


def test_the_default_units() -> None:
    assert {c for c, (_n, whole) in DEFAULT_UOMS.items() if whole} == {"ea", "pcs", "set", "box"}
    assert {c for c, (_n, whole) in DEFAULT_UOMS.items() if not whole} >= {"kg", "g", "m", "l", "h", "m2"}
