"""Finance reports (AR and AP aging, customer statement, profit and loss, balance sheet, cash position), each as
JSON and as CSV (the same path with .csv); the statement and customer invoices also as PDF; and the exchange
rates table (finance enters rates, one by one or as a CSV file)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api import documents, pdf
from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, require
from api.encoding import ok
from api.routes.boms import CSV_TYPES, CsvResponse, csv_file, csv_text
from api.routes.common import Limit, Offset
from domain.accounting import rates
from domain.accounting.rules import RateIn
from domain.cash import reports
from domain.cash.rules import BUCKETS, InvoiceKind
from domain.core.currencies import Currency
from domain.core.errors import Invalid
from domain.core.money import MAX_ID
from domain.core.numbers import PlainInt
from domain.core.types import utcnow
from domain.org import company
from domain.permissions import Action

router = APIRouter(prefix="/api", tags=["finance reports"])

Reader = Annotated[Principal, Depends(require(Action.FINANCE_REPORT_READ))]
RateEditor = Annotated[Principal, Depends(require(Action.EXCHANGE_RATE_EDIT))]
AsOf = Annotated[date | None, Query(description="the day the report is seen on (default today, UTC)")]
From = Annotated[date | None, Query(alias="from", description="first day (default: the first of `to`'s month)")]
To = Annotated[date | None, Query(description="last day (default today, UTC)")]
CustomerId = Annotated[PlainInt, Query(ge=1, le=MAX_ID)]


def today() -> date:
    return utcnow().date()


# --- aging --------------------------------------------------------------------------------------------

async def _aging(platform: PlatformDep, kind: InvoiceKind, as_of: date | None) -> dict[str, Any]:
    day = as_of or today()
    return await platform.read(lambda s: reports.aging(s, kind, day))


@router.get("/reports/ar-aging")
async def ar_aging(user: Reader, platform: PlatformDep, as_of: AsOf = None) -> Any:
    """What customers owe on open invoices (less open credit notes), in the company currency, by days past due
    on `as_of`: `{as_of, buckets, rows: [{party_id, party_name, <bucket>: amount, total}], totals}`."""
    return ok(await _aging(platform, InvoiceKind.CUSTOMER, as_of))


@router.get("/reports/ar-aging.csv", response_class=CsvResponse)
async def ar_aging_csv(user: Reader, platform: PlatformDep, as_of: AsOf = None) -> Response:
    report = await _aging(platform, InvoiceKind.CUSTOMER, as_of)
    return csv_file(reports.aging_csv(report), f"ar-aging-{report['as_of'].isoformat()}.csv")


@router.get("/reports/ap-aging")
async def ap_aging(user: Reader, platform: PlatformDep, as_of: AsOf = None) -> Any:
    """What we owe suppliers on open bills, as AR aging shows customers."""
    return ok(await _aging(platform, InvoiceKind.SUPPLIER, as_of))


@router.get("/reports/ap-aging.csv", response_class=CsvResponse)
async def ap_aging_csv(user: Reader, platform: PlatformDep, as_of: AsOf = None) -> Response:
    report = await _aging(platform, InvoiceKind.SUPPLIER, as_of)
    return csv_file(reports.aging_csv(report), f"ap-aging-{report['as_of'].isoformat()}.csv")


# --- customer statement -----------------------------------------------------------------------------------

async def _statement(platform: PlatformDep, customer_id: int, from_: date | None, to: date | None) -> dict[str, Any]:
    end = to or today()
    start = from_ or end.replace(day=1)
    return await platform.read(lambda s: reports.statement(s, customer_id, start, end))


@router.get("/reports/customer-statement")
async def customer_statement(user: Reader, platform: PlatformDep, customer_id: CustomerId, from_: From = None,
                             to: To = None) -> Any:
    """The customer's balance before `from`, each invoice, credit note and payment to `to` with the running
    balance, the closing balance and its open invoices aged on `to` (company currency)."""
    return ok(await _statement(platform, customer_id, from_, to))


@router.get("/reports/customer-statement.csv", response_class=CsvResponse)
async def customer_statement_csv(user: Reader, platform: PlatformDep, customer_id: CustomerId, from_: From = None,
                                 to: To = None) -> Response:
    st = await _statement(platform, customer_id, from_, to)
    return csv_file(reports.statement_csv(st), f"statement-{customer_id}-{st['to'].isoformat()}.csv")


@router.get("/reports/customer-statement.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the statement as PDF"}})
async def customer_statement_pdf(user: Reader, platform: PlatformDep, customer_id: CustomerId, from_: From = None,
                                 to: To = None) -> Response:
    st = await _statement(platform, customer_id, from_, to)
    name = await platform.read(lambda s: company.settings(s).name)
    return await pdf.response("statement.html", f"statement-{customer_id}-{st['to'].isoformat()}.pdf", st=st,
                              buckets=BUCKETS, company_name=name or "Valueloop")


# --- profit and loss, balance sheet, cash position --------------------------------------------------------

async def _pnl(platform: PlatformDep, from_: date | None, to: date | None) -> dict[str, Any]:
    end = to or today()
    return await platform.read(lambda s: reports.profit_and_loss(s, from_, end))


@router.get("/reports/profit-and-loss")
async def profit_and_loss(user: Reader, platform: PlatformDep, from_: Annotated[date | None, Query(
        alias="from", description="first day (default: from the first entry)")] = None, to: To = None) -> Any:
    """Income and expense accounts over entries dated from `from` to `to`, and the net profit."""
    return ok(await _pnl(platform, from_, to))


@router.get("/reports/profit-and-loss.csv", response_class=CsvResponse)
async def profit_and_loss_csv(user: Reader, platform: PlatformDep, from_: Annotated[date | None, Query(
        alias="from")] = None, to: To = None) -> Response:
    report = await _pnl(platform, from_, to)
    return csv_file(reports.statement_rows_csv(report, ("income", "expenses")),
                    f"profit-and-loss-{report['to'].isoformat()}.csv")


@router.get("/reports/balance-sheet")
async def balance_sheet(user: Reader, platform: PlatformDep, as_of: AsOf = None) -> Any:
    """Assets, liabilities and equity (with retained and current-year earnings) as of a day; assets equal
    liabilities plus equity to the cent."""
    day = as_of or today()
    return ok(await platform.read(lambda s: reports.balance_sheet(s, day)))


@router.get("/reports/balance-sheet.csv", response_class=CsvResponse)
async def balance_sheet_csv(user: Reader, platform: PlatformDep, as_of: AsOf = None) -> Response:
    day = as_of or today()
    report = await platform.read(lambda s: reports.balance_sheet(s, day))
    return csv_file(reports.statement_rows_csv(report, ("assets", "liabilities", "equity")),
                    f"balance-sheet-{day.isoformat()}.csv")


@router.get("/reports/cash-position")
async def cash_position(user: Reader, platform: PlatformDep, as_of: AsOf = None) -> Any:
    """The bank balance, and receivables and payables overdue and due within 7 and 30 days."""
    day = as_of or today()
    return ok(await platform.read(lambda s: reports.cash_position(s, day)))


@router.get("/reports/cash-position.csv", response_class=CsvResponse)
async def cash_position_csv(user: Reader, platform: PlatformDep, as_of: AsOf = None) -> Response:
    day = as_of or today()
    report = await platform.read(lambda s: reports.cash_position(s, day))
    return csv_file(reports.cash_position_csv(report), f"cash-position-{day.isoformat()}.csv")


# --- invoice PDF --------------------------------------------------------------------------------------

@router.get("/invoices/{number}/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the invoice as PDF"}})
async def invoice_pdf(number: Annotated[str, Path(max_length=30)], user: CurrentUser,
                      platform: PlatformDep) -> Response:
    """The printed invoice (or credit note, or supplier bill): finance any, its owner their own (404 for
    another's)."""
    inv = await platform.read(lambda s: reports.invoice_document(s, number, username=user.username,
                                                                 see_all=user.may(Action.INVOICE_SEE_ALL)))
    return await pdf.response("invoice.html", f"{number}.pdf", inv=inv)


# --- purchase order, delivery note and quotation PDFs (issue 18) ---------------------------------------------

PDF_ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}
DocNumber = Annotated[str, Path(max_length=30)]


@router.get("/purchase-orders/{number}/pdf", response_class=Response, responses=PDF_ANSWER)
async def purchase_order_pdf(number: DocNumber, user: CurrentUser, platform: PlatformDep) -> Response:
    """The printed purchase order, for whoever may open it (404 otherwise)."""
    po = await platform.read(lambda s: documents.purchase_order(s, (user.username, user.roles), number))
    return await pdf.response("purchase_order.html", f"{number}.pdf", po=po)


@router.get("/delivery-notes/{number}/pdf", response_class=Response, responses=PDF_ANSWER)
async def delivery_note_pdf(number: DocNumber, user: CurrentUser, platform: PlatformDep) -> Response:
    """The printed delivery note, for whoever may open its sales order (404 otherwise)."""
    note = await platform.read(lambda s: documents.delivery_note(s, (user.username, user.roles), number))
    return await pdf.response("delivery_note.html", f"{number}.pdf", note=note)


@router.get("/quotations/{number}/pdf", response_class=Response, responses=PDF_ANSWER)
async def quotation_pdf(number: DocNumber, user: CurrentUser, platform: PlatformDep) -> Response:
    """The printed quotation, for whoever may open it (404 otherwise)."""
    q = await platform.read(lambda s: documents.quotation(s, (user.username, user.roles), number))
    return await pdf.response("quotation.html", f"{number}.pdf", q=q)


# --- exchange rates -----------------------------------------------------------------------------------

@router.get("/exchange-rates")
async def list_rates(user: Reader, platform: PlatformDep, currency: Currency | None = None, limit: Limit = 500,
                     offset: Offset = 0) -> Any:
    return ok(await platform.read(lambda s: rates.rates(s, currency, limit, offset)))


@router.get("/exchange-rates.csv", response_class=CsvResponse)
async def export_rates(user: Reader, platform: PlatformDep) -> Response:
    return csv_file(await platform.read(rates.export_csv), "exchange-rates.csv")


@router.post("/exchange-rates", status_code=201)
async def add_rate(body: RateIn, user: RateEditor, platform: PlatformDep) -> Any:
    """Company-currency units for one unit of `currency` from `valid_from`; the company currency → 422, a rate
    for the same currency and day again → 409."""
    return ok(await platform.write(lambda s: rates.view(rates.add(s, body, user.username))), 201)


async def rates_file(request: Request) -> str:
    """The file: a text/csv body, or the `file` field of a multipart form."""
    ctype = request.headers.get("content-type", "text/csv").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        return await csv_text(request)
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise Invalid("send the CSV file in the form field `file`")
    if (upload.content_type or "text/csv").split(";")[0].strip().lower() not in (*CSV_TYPES, "application/octet-stream"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"send a CSV file, not {upload.content_type}")
    try:
        return (await upload.read()).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise Invalid(f"the file is not UTF-8 text (byte {e.start} cannot be read)") from None


@router.post("/exchange-rates/import", status_code=201)
async def import_rates(user: RateEditor, platform: PlatformDep, text: Annotated[str, Depends(rates_file)]) -> Any:
    """Rows `currency,valid_from,rate`: every row checked first, then all stored in one transaction, or none
    (the refusal names the line; the header is line 1)."""
    def store(s: Session) -> dict[str, int]:
        return rates.import_csv(s, text, user.username)
    return ok(await platform.write(store), 201)
