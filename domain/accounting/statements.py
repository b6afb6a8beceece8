"""Financial statements from account balances: profit and loss for a date range, the balance sheet as of a day.
Pure: the caller reads the balances (domain.accounting.ledger.balances) and the chart.

Balances are debit minus credit. Income, liabilities and equity are shown with their natural (credit) sign.
The balance sheet's equity holds the earnings not yet closed to an equity account: retained earnings (income
less expenses before the fiscal year of `as_of`) and current-year earnings (from its start to `as_of`); so
assets = liabilities + equity to the cent whenever the ledger balances, and a sheet that does not is refused
when it is built (it cannot exist)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, model_validator

ZERO = Decimal(0)
ASSET, LIABILITY, EQUITY, INCOME, EXPENSE = "asset", "liability", "equity", "income", "expense"
CREDIT_NATURE = (LIABILITY, EQUITY, INCOME)
RETAINED_EARNINGS, CURRENT_EARNINGS = "Retained earnings", "Current-year earnings"


class AccountLine(BaseModel):
    code: str | None  # None: a line the statement computes (earnings)
    name: str
    amount: Decimal


class ProfitAndLoss(BaseModel):
    from_: date | None
    to: date
    income: list[AccountLine]
    total_income: Decimal
    expenses: list[AccountLine]
    total_expenses: Decimal
    net_profit: Decimal


class BalanceSheet(BaseModel):
    as_of: date
    assets: list[AccountLine]
    total_assets: Decimal
    liabilities: list[AccountLine]
    total_liabilities: Decimal
    equity: list[AccountLine]
    total_equity: Decimal
    total_liabilities_and_equity: Decimal

    @model_validator(mode="after")
    def _balances(self) -> BalanceSheet:
        for name, lines, total in (("assets", self.assets, self.total_assets),
                                   ("liabilities", self.liabilities, self.total_liabilities),
                                   ("equity", self.equity, self.total_equity)):
            if sum((ln.amount for ln in lines), ZERO) != total:
                raise ValueError(f"the {name} lines do not add up to their total {total}")
        if self.total_liabilities + self.total_equity != self.total_liabilities_and_equity:
            raise ValueError("liabilities and equity do not add up to their total")
        if self.total_assets != self.total_liabilities_and_equity:
            raise ValueError(f"the balance sheet as of {self.as_of} does not balance: assets {self.total_assets} "
                             f"!= liabilities and equity {self.total_liabilities_and_equity}")
        return self


Chart = Iterable[tuple[str, str, str]]  # (code, name, type)


def _lines(chart: Chart, net: dict[str, Decimal], kind: str) -> list[AccountLine]:
    sign = Decimal(-1) if kind in CREDIT_NATURE else Decimal(1)
    return [AccountLine(code=code, name=name, amount=sign * net[code])
            for code, name, type_ in sorted(chart) if type_ == kind and net.get(code)]


def earnings(chart: Chart, net: dict[str, Decimal]) -> Decimal:
    """Income less expenses over the balances `net`."""
    types = {code: type_ for code, _, type_ in chart}
    return -sum((v for code, v in net.items() if types.get(code) in (INCOME, EXPENSE)), ZERO)


def profit_and_loss(chart: Chart, net: dict[str, Decimal], from_: date | None, to: date) -> ProfitAndLoss:
    """`net`: each account's balance over entries dated from `from_` to `to`."""
    chart = list(chart)
    income, expenses = _lines(chart, net, INCOME), _lines(chart, net, EXPENSE)
    total_income = sum((ln.amount for ln in income), ZERO)
    total_expenses = sum((ln.amount for ln in expenses), ZERO)
    return ProfitAndLoss(from_=from_, to=to, income=income, total_income=total_income, expenses=expenses,
                         total_expenses=total_expenses, net_profit=total_income - total_expenses)


def fiscal_year_start(as_of: date, first_month: int) -> date:
    """The first day of the fiscal year `as_of` falls in (the year starts on the 1st of `first_month`)."""
    year = as_of.year if as_of.month >= first_month else as_of.year - 1
    return date(year, first_month, 1)


def balance_sheet(chart: Chart, net: dict[str, Decimal], before_year: dict[str, Decimal], as_of: date) -> BalanceSheet:
    """`net`: each account's balance over entries dated up to `as_of`; `before_year`: the same before the first
    day of `as_of`'s fiscal year (its income and expenses are the retained earnings)."""
    chart = list(chart)
    assets, liabilities = _lines(chart, net, ASSET), _lines(chart, net, LIABILITY)
    equity = _lines(chart, net, EQUITY)
    retained = earnings(chart, before_year)
    current = earnings(chart, net) - retained
    if retained:
        equity.append(AccountLine(code=None, name=RETAINED_EARNINGS, amount=retained))
    equity.append(AccountLine(code=None, name=CURRENT_EARNINGS, amount=current))
    total_assets = sum((ln.amount for ln in assets), ZERO)
    total_liabilities = sum((ln.amount for ln in liabilities), ZERO)
    total_equity = sum((ln.amount for ln in equity), ZERO)
    return BalanceSheet(as_of=as_of, assets=assets, total_assets=total_assets, liabilities=liabilities,
                        total_liabilities=total_liabilities, equity=equity, total_equity=total_equity,
                        total_liabilities_and_equity=total_liabilities + total_equity)
