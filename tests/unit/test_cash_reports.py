"""The finance reports (domain/cash/reports.py, domain/accounting/statements.py) and the exchange rates table
(domain/accounting/rates.py): the aging buckets as SQL draws them, the statement's running balance, profit and
loss, the balance sheet balancing with the year's earnings, the cash position; and expense claims in another
currency posting in the company currency."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from domain.accounting import ledger, rates, statements
from domain.accounting import rules as accounting
from domain.accounting.tables import ExchangeRate, JournalEntry
from domain.cash import reports, rules
from domain.cash import services as cash
from domain.cash.rules import BUCKETS, Direction, InvoiceKind, StatementLine
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid
from domain.expenses import rules as expenses
from domain.expenses import services as expense_svc
from domain.parties.tables import Customer, Supplier

D = Decimal
AS_OF = date(2026, 11, 30)


# --- pure -------------------------------------------------------------------------------------------------

def test_the_sql_bounds_of_each_bucket_are_the_buckets_of_the_rule():
    bounds = rules.aging_bounds(AS_OF)
    assert [b for b, _, _ in bounds] == list(BUCKETS)
    for days in range(-40, 400):
        due = AS_OF - timedelta(days=days)
        inside = [b for b, lo, hi in bounds if (lo is None or due >= lo) and (hi is None or due <= hi)]
        assert inside == [rules.bucket(due, AS_OF)], days


def test_a_statement_runs_its_balance_in_date_order_invoices_before_what_settles_them():
    lines, closing = rules.statement_lines(D("100"), [
        StatementLine(on=date(2026, 11, 5), kind="payment", number="RCPT-1", amount=D("-150")),
        StatementLine(on=date(2026, 11, 5), kind="invoice", number="INV-2", amount=D("200")),
        StatementLine(on=date(2026, 11, 1), kind="credit_note", number="CN-1", amount=D("-30")),
    ])
    assert [(ln.number, ln.balance) for ln in lines] == [("CN-1", D("70")), ("INV-2", D("270")),
                                                        ("RCPT-1", D("120"))]
    assert closing == D("120")


CHART = [("1000", "Bank", "asset"), ("1100", "Receivables", "asset"), ("2000", "Payables", "liability"),
         ("3000", "Equity", "equity"), ("4000", "Revenue", "income"), ("5000", "COGS", "expense")]


def test_profit_and_loss_shows_income_and_expenses_with_their_natural_signs():
    pnl = statements.profit_and_loss(CHART, {"4000": D("-1000"), "5000": D("600"), "1000": D("400")},
                                     date(2026, 11, 1), AS_OF)
    assert [(ln.code, ln.amount) for ln in pnl.income] == [("4000", D("1000"))]
    assert [(ln.code, ln.amount) for ln in pnl.expenses] == [("5000", D("600"))]
    assert pnl.net_profit == D("400")


def test_the_balance_sheet_balances_with_retained_and_current_year_earnings():
    # Before the year: revenue 500 on credit (receivable); this year: revenue 1000 paid in cash, cost 600 on
    # credit (payable), owners put in 50.
    before = {"1100": D("500"), "4000": D("-500")}
    now = {"1000": D("1050"), "1100": D("500"), "2000": D("-600"), "3000": D("-50"), "4000": D("-1500"),
           "5000": D("600")}
    sheet = statements.balance_sheet(CHART, now, before, AS_OF)
    assert sheet.total_assets == D("1550") == sheet.total_liabilities_and_equity
    assert sheet.total_liabilities == D("600")
    equity = {ln.name: ln.amount for ln in sheet.equity}
    assert equity == {"Equity": D("50"), statements.RETAINED_EARNINGS: D("500"), statements.CURRENT_EARNINGS: D("400")}
    with pytest.raises(ValidationError, match="does not balance"):  # an unbalanced ledger makes no sheet
        statements.balance_sheet(CHART, {**now, "1000": D("1050.01")}, before, AS_OF)


def test_the_fiscal_year_starts_on_the_companys_month():
    assert statements.fiscal_year_start(date(2026, 11, 30), 1) == date(2026, 1, 1)
    assert statements.fiscal_year_start(date(2026, 3, 31), 4) == date(2025, 4, 1)
    assert statements.fiscal_year_start(date(2026, 4, 1), 4) == date(2026, 4, 1)


# --- on the demo company ---------------------------------------------------------------------------------

def first(db: Database, model: type[Customer] | type[Supplier]) -> int:
    with db.read() as s:
        return s.execute(select(model.id).order_by(model.id)).scalars().first()  # type: ignore[return-value]


def invoice(db: Database, pid: int, amount: str, issued: date, key: str, kind: InvoiceKind = InvoiceKind.CUSTOMER,
            terms: int = 30, currency: str = "USD", credit_note: bool = False) -> str:
    with db.write() as s:
        return cash.issue(s, kind=kind, party_id=pid, issued_on=issued, currency=currency, key=key,
                          process_id=f"p-{key}", tax=D(0), terms=terms, credit_note=credit_note,
                          lines=[cash.LineIn(sku="FAN-200", qty=D(1), unit_price=D(amount), net=D(amount))]).number


def pay(db: Database, pid: int, amount: str, reference: str, on: date, currency: str = "USD") -> None:
    with db.write() as s:
        cash.record_payment(s, cash.PaymentIn(direction=Direction.IN, party_id=pid, amount=D(amount),
                                              currency=currency, paid_on=on, reference=reference), by="grace")


def test_aging_sums_each_partys_open_invoices_by_bucket_in_the_company_currency(db: Database):
    cid, sid = first(db, Customer), first(db, Supplier)
    with db.write() as s:
        s.add(ExchangeRate(currency="SEK", valid_from=date(2026, 1, 1), rate=D("0.11")))
    invoice(db, cid, "100", AS_OF - timedelta(days=10), "a")  # due in 20 days: current
    invoice(db, cid, "200", AS_OF - timedelta(days=45), "b")  # 15 days past due
    invoice(db, cid, "300", AS_OF - timedelta(days=130), "c")  # 100 days past due
    invoice(db, cid, "10000", AS_OF - timedelta(days=70), "d", currency="SEK")  # 40 days past due: 1,100 USD
    invoice(db, cid, "50", AS_OF - timedelta(days=45), "cn", credit_note=True)  # set against the oldest at once
    invoice(db, cid, "999", AS_OF + timedelta(days=1), "later")  # issued after as_of: not in it
    invoice(db, sid, "400", AS_OF - timedelta(days=100), "bill", kind=InvoiceKind.SUPPLIER, terms=10)  # 90 past
    with db.read() as s:
        ar = reports.aging(s, InvoiceKind.CUSTOMER, AS_OF)
        ap = reports.aging(s, InvoiceKind.SUPPLIER, AS_OF)
        open_now = s.execute(select(cash.Invoice).where(cash.Invoice.party_id == cid, cash.Invoice.kind == "customer",
                                                        cash.Invoice.status == "open")).scalars().all()
    row = next(r for r in ar["rows"] if r["party_id"] == cid)
    expected = {b: D(0) for b in BUCKETS}
    for inv in open_now:
        if inv.issued_on <= AS_OF:
            expected[rules.bucket(inv.due_on, AS_OF)] += inv.outstanding_base
    assert {b: row[b] for b in BUCKETS} == expected
    assert row["total"] == sum(expected.values())
    assert expected["31-60"] == D("1100.00") and expected["90+"] == D("250.00")
    assert set(ar) == {"as_of", "buckets", "rows", "totals"} and ar["buckets"] == list(BUCKETS)
    assert ar["totals"]["total"] == sum((r["total"] for r in ar["rows"]), D(0))
    bill = next(r for r in ap["rows"] if r["party_id"] == sid)
    assert bill["61-90"] == D("400.00") and bill["total"] == D("400.00")
    csv = reports.aging_csv(ar)
    assert csv.splitlines()[0] == "party_id,party_name,current,1-30,31-60,61-90,90+,total"
    assert csv.splitlines()[-1].startswith(",Total,")


def test_the_statement_runs_from_the_opening_balance_to_what_the_customer_owes(db: Database):
    cid = first(db, Customer)
    invoice(db, cid, "600", date(2026, 9, 15), "a")
    invoice(db, cid, "400", date(2026, 10, 20), "b")
    pay(db, cid, "500", "TT-1", date(2026, 10, 25))
    invoice(db, cid, "250", date(2026, 11, 3), "c")
    pay(db, cid, "1000", "TT-2", date(2026, 11, 20))  # 750 settles the rest, 250 is credit
    with db.read() as s:
        st = reports.statement(s, cid, date(2026, 10, 1), AS_OF)
        owed = cash.open_receivables(s, cid)
        credit = cash.unallocated_credit(s, Direction.IN, cid)
    assert st["opening_balance"] == D("600.00")
    assert [(ln["kind"], ln["amount"], ln["balance"]) for ln in st["lines"]] == [
        ("invoice", D("400.00"), D("1000.00")), ("payment", D("-500.00"), D("500.00")),
        ("invoice", D("250.00"), D("750.00")), ("payment", D("-1000.00"), D("-250.00"))]
    assert st["closing_balance"] == D("-250.00") == owed - credit
    assert st["aging"]["total"] == D(0)
    csv = reports.statement_csv(st).splitlines()
    assert csv[0] == "on,kind,number,reference,due_on,amount,balance"
    assert csv[1].endswith("opening_balance,,,,,600") and csv[-1].endswith("closing_balance,,,,,-250")
    with db.read() as s, pytest.raises(Invalid, match="after its end"):
        reports.statement(s, cid, AS_OF, date(2026, 10, 1))


def test_profit_and_loss_and_the_balance_sheet_agree_with_the_trial_balance(db: Database):
    cid = first(db, Customer)
    invoice(db, cid, "1000", date(2026, 11, 2), "a")
    pay(db, cid, "400", "TT-1", date(2026, 11, 10))
    with db.read() as s:
        pnl = reports.profit_and_loss(s, date(2026, 11, 1), AS_OF)
        year = reports.profit_and_loss(s, date(2026, 1, 1), AS_OF)
        sheet = reports.balance_sheet(s, AS_OF)
        bal = ledger.balances(s, to=AS_OF)
        tb = ledger.trial_balance(s, as_of=AS_OF)
    assert {ln["code"]: ln["amount"] for ln in pnl["income"]}[accounting.REVENUE] >= D("1000.00")
    assert pnl["net_profit"] == pnl["total_income"] - pnl["total_expenses"]
    assert sheet["total_assets"] == sheet["total_liabilities"] + sheet["total_equity"]
    assert sheet["total_assets"] == sum((v for c, v in bal.items() if c[0] == "1"), D(0))
    assert tb["debit_total"] == tb["credit_total"]
    current = next(ln["amount"] for ln in sheet["equity"] if ln["name"] == statements.CURRENT_EARNINGS)
    assert current == year["net_profit"]
    assert {"from", "to", "currency", "net_profit"} <= set(pnl)
    assert reports.statement_rows_csv(sheet, ("assets", "liabilities", "equity")).startswith("section,code,name,amount")


def test_the_cash_position_counts_the_bank_and_what_falls_due(db: Database):
    cid, sid = first(db, Customer), first(db, Supplier)
    with db.read() as s:
        before = reports.cash_position(s, AS_OF)
    invoice(db, cid, "100", AS_OF - timedelta(days=25), "soon")  # due in 5 days
    invoice(db, cid, "200", AS_OF - timedelta(days=10), "later")  # due in 20 days
    invoice(db, cid, "300", AS_OF - timedelta(days=40), "late")  # 10 days overdue
    invoice(db, sid, "80", AS_OF - timedelta(days=5), "bill", kind=InvoiceKind.SUPPLIER, terms=10)
    pay(db, cid, "300", "TT-1", AS_OF - timedelta(days=1))  # settles the overdue one
    with db.read() as s:
        cp = reports.cash_position(s, AS_OF)
    assert cp["bank"] - before["bank"] == D("300.00")
    assert cp["receivables"]["next_7_days"] - before["receivables"]["next_7_days"] == D("100.00")
    assert cp["receivables"]["next_30_days"] - before["receivables"]["next_30_days"] == D("300.00")
    assert cp["receivables"]["overdue"] == before["receivables"]["overdue"]
    assert cp["payables"]["next_7_days"] - before["payables"]["next_7_days"] == D("80.00")
    assert cp["net_30_days"] == (cp["bank"] + cp["receivables"]["overdue"] + cp["receivables"]["next_30_days"]
                                 - cp["payables"]["overdue"] - cp["payables"]["next_30_days"])


# --- exchange rates ---------------------------------------------------------------------------------------

def test_a_rate_is_entered_once_per_currency_and_day_and_never_for_the_company_currency(db: Database):
    with db.write() as s:
        rates.add(s, accounting.RateIn(currency="CHF", valid_from=date(2026, 11, 1), rate=D("1.08")), by="grace")
    with db.write() as s, pytest.raises(Conflict, match="CHF on 2026-11-01 exists"):
        rates.add(s, accounting.RateIn(currency="CHF", valid_from=date(2026, 11, 1), rate=D("1.09")), by="grace")
    with db.write() as s, pytest.raises(Invalid, match="USD is the company currency"):
        rates.add(s, accounting.RateIn(currency="USD", valid_from=date(2026, 11, 1), rate=D("1")), by="grace")
    for bad in ("0", "-1"):
        with pytest.raises(ValidationError):
            accounting.RateIn(currency="CHF", valid_from=date(2026, 11, 2), rate=D(bad))
    with db.read() as s:
        assert [(r["currency"], r["rate"]) for r in rates.rates(s, "CHF")] == [("CHF", D("1.0800000000"))]
        assert ledger.rate(s, "CHF", date(2026, 11, 20)) == D("1.08")


def test_a_rates_file_is_stored_whole_or_refused_naming_its_line(db: Database):
    good = "currency,valid_from,rate\nCHF,2026-10-01,1.10\nSEK,2026-10-01,1.27\nCHF,2026-11-01,1.08\n"
    with db.write() as s:
        assert rates.import_csv(s, good, by="grace") == {"rows": 3, "created": 3}
    for text, message in [
        ("currency,valid_from,rate\nJPY,2026-10-01,0.0066\nCHF,2026-10-01,0\n", "line 3: rate"),
        ("currency,valid_from,rate\nJPY,2026-10-01,0.0066\nCHF,2026-11-01,1.2\n", "line 3: a rate for CHF on 2026-11-01 exists"),
        ("currency,valid_from,rate\nJPY,2026-10-01,0.0066\nJPY,2026-10-01,0.0067\n", "line 3: JPY on 2026-10-01 is on line 2"),
        ("currency,valid_from,rate\nJPY,2026-10-01,0.0066\nUSD,2026-10-01,1\n", "line 3: USD is the company currency"),
        ("currency,valid_from,rate\nJPY,2026-10-01,0.0066\nJPY,31/10/2026,0.0066\n", "line 3: valid_from"),
        ("currency,rate\nJPY,1\n", "line 1: the column valid_from is needed"),
    ]:
        with db.write() as s, pytest.raises((Invalid, Conflict), match=message):
            rates.import_csv(s, text, by="grace")
    with db.read() as s:
        assert {r["currency"] for r in rates.rates(s)} >= {"CHF", "SEK"}
        assert rates.rates(s, "JPY") == []  # nothing of the refused files
        assert "CHF,2026-10-01,1.1" in rates.export_csv(s).splitlines()


# --- expense claims in another currency ----------------------------------------------------------------

def test_a_claim_in_another_currency_posts_and_is_paid_in_the_company_currency_at_the_claim_dates_rate(db: Database):
    today = datetime.now(UTC).date()
    with db.write() as s:
        s.add(ExchangeRate(currency="CHF", valid_from=today - timedelta(days=3), rate=D("1.1")))
    lines = [expenses.ExpenseLineIn(category="travel", amount=D("100.01"), currency="CHF", date=today),
             expenses.ExpenseLineIn(category="meals", amount=D("20.00"), currency="CHF", date=today)]
    total, currency = expenses.total_of(lines)
    draft = expenses.ClaimDraft(number="EC-90001", requester="erin", currency=currency, total=total, lines=lines)
    draft_entry = expenses.accrual_entry(draft, D("1.1"))
    assert {p.account: p.debit or p.credit for p in draft_entry.postings} == {
        "6100": D("110.01"), "6200": D("22.00"), accounting.EMPLOYEE_PAYABLE: D("132.01")}
    with db.write() as s:
        expense_svc.record(s, draft, "p-ec")
        expense_svc.set_status(s, "EC-90001", expenses.ClaimStatus.APPROVED, post_key="ec:approve")
    with db.write() as s:  # a rate entered since for an earlier day does not change what is paid
        s.add(ExchangeRate(currency="CHF", valid_from=today - timedelta(days=1), rate=D("1.3")))
    with db.write() as s:
        expense_svc.set_status(s, "EC-90001", expenses.ClaimStatus.PAID, post_key="ec:pay")
    with db.read() as s:
        entries = {e.voucher_type: e for e in s.execute(select(JournalEntry).where(
            JournalEntry.voucher_no == "EC-90001")).scalars()}
        paid = {ln.account_code: ln.credit for ln in entries["expense_payment"].lines}
        assert paid[accounting.BANK] == D("132.01")
        assert ledger.balances(s).get(accounting.EMPLOYEE_PAYABLE, D(0)) == 0
