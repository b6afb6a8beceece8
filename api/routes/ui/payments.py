"""Payment pages: the list, recording a payment in or out with its allocation preview (the party's open invoices,
an amount per invoice or none for oldest first; "Preview" shows where it would go without storing anything,
"Record" starts its process), and one payment with its allocations and postings. Who may record and who reads
is the JSON API's rule (payment.record; invoice.see_all)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.i18n import _
from api.routes.ui.notifications import document_panels
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    money_text,
    not_possible,
    page_router,
    redirect,
    render,
)
from api.starters import payment
from domain import permissions
from domain.cash import payments
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.numbers import read_number
from domain.parties.tables import Customer, Supplier
from domain.permissions import Action

router = page_router()
LIST_SIZE = 100


def _check(v: Viewer, action: Action, what: str) -> None:
    if not permissions.may(v.user.roles, action):
        raise Forbidden(f"only finance {what}")


@router.get("/payments")
async def payments_page(v: ViewerDep, direction: str = "", party_id: str = "") -> Response:
    try:
        _check(v, Action.INVOICE_SEE_ALL, "and the cfo see payments")
    except DomainError as e:
        return await not_possible(v, e)
    direction = direction if direction in ("in", "out") else ""
    party = int(party_id) if party_id.isdigit() and len(party_id) < 10 else None
    rows = await v.platform.read(lambda s: payments.listing(s, direction=direction or None, party_id=party,
                                                            limit=LIST_SIZE))
    return await render(v, "payments.html", section="finance", rows=rows, direction=direction)


def _parties(s: Session) -> dict[str, list[dict[str, Any]]]:
    return {"in": [{"id": c.id, "name": c.name, "currency": c.currency}
                   for c in s.execute(select(Customer).order_by(Customer.name)).scalars()],
            "out": [{"id": p.id, "name": p.name, "currency": p.currency}
                    for p in s.execute(select(Supplier).order_by(Supplier.name)).scalars()]}


async def _form(v: Viewer, direction: str, party_id: int | None, *, status: int = 200,
                typed: dict[str, Any] | None = None, preview: dict[str, Any] | None = None,
                error: str = "") -> Response:
    def load(s: Session) -> dict[str, Any]:
        parties = _parties(s)
        chosen = next((p for p in parties.get(direction, []) if p["id"] == party_id), None)
        return {"parties": parties, "party": chosen,
                "open": payments.open_for_party(s, direction, chosen["id"]) if chosen else []}

    ctx = await v.platform.read(load)
    return await render(v, "payment_new.html", status, section="finance", direction=direction, typed=typed or {},
                        preview=preview, error=error, today=date.today().isoformat(), **ctx)


@router.get("/payments/new")
async def new_payment(v: ViewerDep, party: str = "") -> Response:
    """`party`: "in:<customer id>" or "out:<supplier id>", chosen in the first step."""
    try:
        _check(v, Action.PAYMENT_RECORD, "records payments")
    except DomainError as e:
        return await not_possible(v, e)
    direction, _sep, pid = party.partition(":")
    ok = direction in ("in", "out") and pid.isdigit() and len(pid) < 10
    return await _form(v, direction if ok else "in", int(pid) if ok else None)


def _read_form(typed: dict[str, str]) -> dict[str, Any]:
    """The payment typed in the form (numbers as a person types them), as the starter takes it; Invalid with a
    sentence for what cannot be read."""
    direction = typed.get("direction", "")
    party = typed.get("party_id", "")
    if direction not in ("in", "out") or not party.isdigit() or len(party) > 9:
        raise Invalid("choose who paid (or whom we pay) first")
    amount = read_number(typed.get("amount", ""), "the amount")
    if amount is None:
        raise Invalid("give the amount paid")
    try:
        paid_on = date.fromisoformat(typed.get("paid_on", ""))
    except ValueError:
        raise Invalid("give the payment's date as YYYY-MM-DD") from None
    currency = typed.get("currency", "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise Invalid("give the currency as its three-letter code, e.g. USD")
    reference = typed.get("reference", "").strip()
    if not reference:
        raise Invalid("give the payment's reference (the bank's or the payer's)")
    allocations: list[tuple[int | str, Decimal]] = []
    for key in sorted(k for k in typed if k.startswith("alloc_")):
        value = read_number(typed[key], f"the amount for {key[6:]}")
        if value is not None:
            if value <= 0:
                raise Invalid(f"the amount for {key[6:]} must be above zero (leave it empty to allocate nothing)")
            allocations.append((key[6:], value))
    return {"direction": direction, "party_id": int(party), "amount": amount, "currency": currency,
            "paid_on": paid_on, "reference": reference[:100], "allocations": allocations or None}


@router.post("/payments/new")
async def record_payment(request: Request, v: PosterDep) -> Response:
    form = await request.form()
    typed = {k: str(form.get(k, ""))[:200] for k in form if k not in ("csrf", "form_token")}
    direction = typed.get("direction", "in")
    party_id = int(typed["party_id"]) if typed.get("party_id", "").isdigit() and len(typed["party_id"]) < 10 else None
    try:
        _check(v, Action.PAYMENT_RECORD, "records payments")
        body = _read_form(typed)
        if form.get("action") == "preview":
            plan = await payment.preview(v.platform, body)
            return await _form(v, direction, party_id, typed=typed, preview={
                "allocations": plan.allocations, "unallocated": plan.unallocated, "currency": body["currency"],
                "oldest_first": body["allocations"] is None})
        result = await payment.record(v.platform, v.user.username, body)
    except ValidationError as e:
        return await _form(v, direction, party_id, status=422, typed=typed, error="; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()[:3]))
    except DomainError as e:
        return await _form(v, direction, party_id, status=error_status(e), typed=typed,
                           error=_("The payment was not recorded: %(reason)s", reason=e.message))
    told = ", ".join(_("%(amount)s to %(number)s", amount=money_text(a.amount), number=a.number)
                     for a in result.allocations[:5])
    facts = {"number": result.payment_id, "told": told, "left": money_text(result.unallocated),
             "currency": body["currency"]}
    if result.existing:
        msg = _("%(ref)s was recorded before, as %(number)s.", ref=body["reference"], number=result.payment_id)
    elif told and result.unallocated:
        msg = _("Payment %(number)s recorded: %(told)s; %(left)s %(currency)s kept as credit.", **facts)
    elif told:
        msg = _("Payment %(number)s recorded: %(told)s.", **facts)
    elif result.unallocated:
        msg = _("Payment %(number)s recorded; %(left)s %(currency)s kept as credit.", **facts)
    else:
        msg = _("Payment %(number)s recorded.", **facts)
    return redirect(f"/payments/{result.payment_id}", msg=msg)


@router.get("/payments/{number}")
async def payment_page(number: str, v: ViewerDep) -> Response:
    try:
        _check(v, Action.INVOICE_SEE_ALL, "and the cfo see payments")
        data = await v.platform.read(payments.view, number[:30])
    except DomainError as e:
        return await not_possible(v, e)
    return await render(v, "payment.html", section="finance", p=data,
                        panels=await document_panels(v, data["payment_id"], f"/payments/{data['payment_id']}"))
