"""Invoice pages: the list (customer invoices, credit notes and supplier bills; by kind, status and party, paged)
and one invoice (its header in both currencies, lines, payments, reminders, journal entries, and finance's
write-off form). Who sees what is the JSON API's rule (domain.cash.invoicing.visible_to): finance, the cfo and
admin every invoice, others those they own; a refusal shows the page again with the reason and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Query
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import as_actor
from api.i18n import _
from api.routes.common import Offset
from api.routes.ui.notifications import document_panels
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
from api.starters import customer_invoice
from domain.cash import invoicing
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice
from domain.core.errors import DomainError, Invalid
from domain.permissions import Action

router = page_router()
PAGE_SIZE = 50
STATUSES = ["open", "overdue", "paid", "written_off", "pending_approval", "rejected"]


def _today() -> Any:
    return datetime.now(UTC).date()


@router.get("/invoices")
async def invoices_page(v: ViewerDep, kind: Annotated[str, Query(max_length=10)] = "",
                        status: Annotated[str, Query(max_length=20)] = "",
                        party: Annotated[str, Query(max_length=12)] = "", offset: Offset = 0) -> Response:
    filters = {"kind": kind, "status": status, "party": party}

    def load(s: Session) -> dict[str, Any]:
        q = select(Invoice.kind, Invoice.party_id, Invoice.party_name).distinct()
        if (visible := invoicing.visible_to(v.user.username, v.user.roles)) is not None:
            q = q.where(visible)
        parties = sorted({(k, pid, name) for k, pid, name in s.execute(q.limit(500))}, key=lambda p: (p[0], p[2]))
        party_id = int(party) if party.isdigit() else None
        rows = invoicing.invoices(s, v.user.username, v.user.roles, _today(), kind=kind or None,
                                  status=status or None, party_id=party_id, limit=PAGE_SIZE + 1, offset=offset)
        return {"rows": rows, "parties": [{"kind": k, "id": pid, "name": n} for k, pid, n in parties]}

    try:
        if party and not party.isdigit():
            raise Invalid(f"the party must be chosen from the list, not {party!r}")
        data = await v.platform.read(load)
    except DomainError as e:
        return await render(v, "invoices.html", error_status(e), section="finance", rows=[], parties=[],
                            filters=filters, statuses=STATUSES, error=e.message, offset=0, newer="", older="")
    rows = data["rows"]
    more = len(rows) > PAGE_SIZE
    newer = f"/invoices?{urlencode({**filters, 'offset': max(offset - PAGE_SIZE, 0)})}" if offset else ""
    older = f"/invoices?{urlencode({**filters, 'offset': offset + PAGE_SIZE})}" if more else ""
    return await render(v, "invoices.html", section="finance", rows=rows[:PAGE_SIZE], parties=data["parties"],
                        filters=filters, statuses=STATUSES, offset=offset, newer=newer, older=older)


async def render_invoice(v: Viewer, number: str, *, status: int = 200, **ctx: Any) -> Response:
    def load(s: Session) -> dict[str, Any]:
        inv = invoicing.visible_invoice(s, number, v.user.username, v.user.roles)
        return {"inv": invoicing.view(s, inv, _today())}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    inv = data["inv"]
    may_write_off = (v.user.may(Action.INVOICE_WRITE_OFF) and inv["kind"] == InvoiceKind.CUSTOMER
                     and not inv["credit_note"] and inv["stored_status"] == InvoiceStatus.OPEN)
    return await render(v, "invoice.html", status, section="finance", may_write_off=may_write_off,
                        links_payments=v.user.may(Action.INVOICE_SEE_ALL),
                        panels=await document_panels(v, inv["number"], f"/invoices/{inv['number']}"), **data, **ctx)


@router.get("/invoices/{number}")
async def invoice_page(number: str, v: ViewerDep) -> Response:
    return await render_invoice(v, number[:30])


@router.post("/invoices/{number}/write-off")
async def write_off(number: str, v: PosterDep, reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        await v.platform.glance(lambda s: invoicing.visible_invoice(s, number, v.user.username, v.user.roles))
    except DomainError as e:
        return await not_possible(v, e)
    try:
        await customer_invoice.write_off(v.platform, as_actor(v.user), number, reason.strip())
    except DomainError as e:
        return await render_invoice(v, number, status=error_status(e), reason=reason,
                                    error=_("The write-off was not asked for; nothing changed. %(reason)s", reason=e.message))
    return redirect(f"/invoices/{number}", msg=_("The write-off of %(number)s is asked for: the cfo decides it "
                                                 "(a task in their inbox).", number=number))
