"""The finance pages: the Finance landing page (links to every finance page: invoices, supplier bills, payments,
the reports, exchange rates, periods), AR and AP aging, customer statements, profit and loss, the balance
sheet, the cash position, and the exchange rates table with its add form and CSV upload. Each report page
links its CSV (and the statement its PDF) at the JSON API's .csv/.pdf paths, which take the session cookie."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.i18n import _
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    not_possible,
    page_router,
    redirect,
    render,
)
from domain.accounting import rates
from domain.accounting.rules import RateIn
from domain.cash import reports
from domain.cash import services as cash
from domain.cash.rules import BUCKETS, InvoiceKind
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.numbers import read_number
from domain.core.types import utcnow
from domain.org import company
from domain.parties.tables import Customer
from domain.permissions import Action

router = page_router()
FINANCE_ACTIONS = (Action.FINANCE_REPORT_READ, Action.PAYMENT_RECORD, Action.SUPPLIER_INVOICE_ENTER)
MAX_UPLOAD = 5_000_000


def _day(raw: str, label: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{label} is not a date (YYYY-MM-DD): \u201c{raw[:20]}\u201d") from None


def _reader(v: Viewer) -> None:
    if not v.user.may(Action.FINANCE_REPORT_READ):
        raise Forbidden("the finance reports are for finance, the cfo and admin")


async def _report(v: Viewer, template: str, fn: Any, **ctx: Any) -> Response:
    """A report page: 403 (as a page) for whoever may not read reports; the report as the template shows it."""
    try:
        _reader(v)
        data, currency = await v.platform.read(lambda s: (fn(s), company.base_currency(s)))
    except DomainError as e:
        return await not_possible(v, e)
    return await render(v, template, section="finance", report=data, currency=currency, buckets=BUCKETS, **ctx)


@router.get("/finance")
async def finance(v: ViewerDep) -> Response:
    if not any(v.user.may(a) for a in FINANCE_ACTIONS):
        return await not_possible(v, Forbidden("the finance pages are for finance, the cfo, buyers and admin"))
    position: dict[str, Any] | None = None
    if v.user.may(Action.FINANCE_REPORT_READ):  # the figures the reports open with, for whoever may read them
        position = await v.platform.read(lambda s: reports.cash_position(s, utcnow().date()))
    return await render(v, "finance.html", section="finance", position=position)


def _aging_page(kind: InvoiceKind, path: str) -> Any:
    async def page(v: ViewerDep, as_of: str = "") -> Response:
        try:
            day = _day(as_of, "As of") or utcnow().date()
        except DomainError as e:
            return await not_possible(v, e)
        title = _("AR aging") if kind == InvoiceKind.CUSTOMER else _("AP aging")
        return await _report(v, "finance_aging.html", lambda s: reports.aging(s, kind, day), title=title,
                             party="Customer" if kind == InvoiceKind.CUSTOMER else "Supplier",
                             csv=f"/api/reports/{path}.csv?{urlencode({'as_of': day.isoformat()})}", path=path)
    return page


router.get("/finance/ar-aging")(_aging_page(InvoiceKind.CUSTOMER, "ar-aging"))
router.get("/finance/ap-aging")(_aging_page(InvoiceKind.SUPPLIER, "ap-aging"))


@router.get("/finance/statements")
async def statements_page(v: ViewerDep, request: Request, customer_id: str = "", to: str = "") -> Response:
    start_raw = request.query_params.get("from", "")  # `from` is a Python keyword: read by hand
    try:
        _reader(v)
        end = _day(to, "To") or utcnow().date()
        typed_start = _day(start_raw, "From")
        cid = int(customer_id) if customer_id.strip() else None
        if cid is not None and not 1 <= cid <= 2**31 - 1:
            raise Invalid("choose a customer from the list")

        def load(s: Session) -> dict[str, Any]:
            customers = [{"id": i, "name": n} for i, n in s.execute(
                select(Customer.id, Customer.name).order_by(Customer.name).limit(2000)).all()]
            # No start typed: from the first of the month of the customer's oldest open invoice (every invoice
            # still owed is on the statement), at the latest the first of `end`'s month.
            start = typed_start or end.replace(day=1)
            if typed_start is None and cid is not None:
                issued = [i.issued_on for i in cash.open_invoices(s, InvoiceKind.CUSTOMER, cid) if i.issued_on <= end]
                start = min([start, *(d.replace(day=1) for d in issued)])
            st = reports.statement(s, cid, start, end) if cid is not None else None
            return {"customers": customers, "st": st, "start": start}

        data = await v.platform.read(load)
        start = data.pop("start")
    except ValueError:
        return await not_possible(v, Invalid("choose a customer from the list"))
    except DomainError as e:
        return await not_possible(v, e)
    query = urlencode({"customer_id": cid or "", "from": start.isoformat(), "to": end.isoformat()})
    return await render(v, "finance_statement.html", section="finance", buckets=BUCKETS, customer_id=cid,
                        start=start, end=end, csv=f"/api/reports/customer-statement.csv?{query}",
                        pdf=f"/api/reports/customer-statement.pdf?{query}", **data)


@router.get("/finance/profit-and-loss")
async def profit_and_loss_page(v: ViewerDep, request: Request, to: str = "") -> Response:
    try:
        end = _day(to, "To") or utcnow().date()
        start = _day(request.query_params.get("from", ""), "From") or date(end.year, 1, 1)
    except DomainError as e:
        return await not_possible(v, e)
    query = urlencode({"from": start.isoformat(), "to": end.isoformat()})
    return await _report(v, "finance_pnl.html", lambda s: reports.profit_and_loss(s, start, end),
                         csv=f"/api/reports/profit-and-loss.csv?{query}")


@router.get("/finance/balance-sheet")
async def balance_sheet_page(v: ViewerDep, as_of: str = "") -> Response:
    try:
        day = _day(as_of, "As of") or utcnow().date()
    except DomainError as e:
        return await not_possible(v, e)
    return await _report(v, "finance_balance_sheet.html", lambda s: reports.balance_sheet(s, day),
                         csv=f"/api/reports/balance-sheet.csv?{urlencode({'as_of': day.isoformat()})}")


@router.get("/finance/cash-position")
async def cash_position_page(v: ViewerDep, as_of: str = "") -> Response:
    try:
        day = _day(as_of, "As of") or utcnow().date()
    except DomainError as e:
        return await not_possible(v, e)
    return await _report(v, "finance_cash.html", lambda s: reports.cash_position(s, day),
                         csv=f"/api/reports/cash-position.csv?{urlencode({'as_of': day.isoformat()})}")


# --- exchange rates -----------------------------------------------------------------------------------

async def _rates_page(v: Viewer, status: int = 200, form: dict[str, str] | None = None, **ctx: Any) -> Response:
    try:
        _reader(v)
        data, base = await v.platform.read(lambda s: (rates.rates(s), company.base_currency(s)))
    except DomainError as e:
        return await not_possible(v, e)
    return await render(v, "finance_rates.html", status, section="finance", rates=data, base=base,
                        may_edit=v.user.may(Action.EXCHANGE_RATE_EDIT),
                        form=form or {"currency": "", "valid_from": utcnow().date().isoformat(), "rate": ""}, **ctx)


@router.get("/finance/rates")
async def rates_page(v: ViewerDep) -> Response:
    return await _rates_page(v)


@router.post("/finance/rates")
async def add_rate(v: PosterDep, currency: Annotated[str, Form(max_length=10)] = "",
                   valid_from: Annotated[str, Form(max_length=20)] = "",
                   rate: Annotated[str, Form(max_length=40)] = "") -> Response:
    form = {"currency": currency, "valid_from": valid_from, "rate": rate}
    try:
        if not v.user.may(Action.EXCHANGE_RATE_EDIT):
            raise Forbidden("only finance and admin enter exchange rates")
        try:
            new = RateIn.model_validate({"currency": currency.strip().upper(), "valid_from": valid_from.strip(),
                                         "rate": read_number(rate, "The rate")})
        except ValidationError as e:
            err = e.errors()[0]
            raise Invalid(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
        row = await v.platform.write(lambda s: rates.view(rates.add(s, new, v.user.username)))
    except DomainError as e:
        return await _rates_page(v, error_status(e), form=form, error=_("The rate was not entered: %(reason)s", reason=e.message))
    return redirect("/finance/rates", msg=_("Entered: 1 %(currency)s = %(rate)s from %(day)s.", currency=row["currency"],
                                            rate=format(row["rate"].normalize(), "f"),
                                            day=row["valid_from"].isoformat()))


@router.post("/finance/rates/import")
async def import_rates(v: PosterDep, request: Request) -> Response:
    try:
        if not v.user.may(Action.EXCHANGE_RATE_EDIT):
            raise Forbidden("only finance and admin enter exchange rates")
        upload = (await request.form()).get("file")
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise Invalid("choose a CSV file to upload")
        raw = await upload.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise Invalid(f"the file is over {MAX_UPLOAD:,} bytes; split it")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise Invalid(f"the file is not UTF-8 text (byte {e.start} cannot be read)") from None
        done = await v.platform.write(lambda s: rates.import_csv(s, text, v.user.username))
    except DomainError as e:
        return await _rates_page(v, error_status(e), error=_("Nothing was imported: %(reason)s", reason=e.message))
    return redirect("/finance/rates", msg=_("Imported %(n)s rates.", n=done["created"]))
